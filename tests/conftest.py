"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Compile the translation catalogs (.mo are build outputs, not in git) before any
    test asks Django for a translation; ``make install`` does the same, this covers a
    plain ``pytest`` on a fresh clone. Only stale catalogs are rebuilt."""
    from annotate.i18n.catalogs import compile_all

    compile_all(ROOT / "locale")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only third-party data beside the checkout.

    CI always has it, so a missing folder there is a failure, never a silent skip.
    """
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing; CI must run with ../shared beside the repo")
        pytest.skip(f"{SHARED_DATA} not present (only CI is required to have it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests save Playwright screenshots (``make test`` keeps them in
    test-artifacts/ via CHORUS_TEST_ARTIFACTS)."""
    path = Path(os.environ.get("CHORUS_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def campaign(db):
    from tests.factories import CampaignFactory

    return CampaignFactory()


@pytest.fixture
def annotator(db):
    from tests.factories import AnnotatorFactory

    return AnnotatorFactory()
