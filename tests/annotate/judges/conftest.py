from __future__ import annotations

import pytest

# The API tests' small world (two campaigns, researchers, annotators), reused here.
from tests.annotate.api.conftest import world  # noqa: F401

SIM_BACKENDS = {
    "sim": "tests.annotate.judges.sim_backend.SimJudgeBackend",
    "fake": "modelserve.generation.backends.fake.FakeBackend",
}


@pytest.fixture(autouse=True)
def sim_backend(settings):  # type: ignore[no-untyped-def]
    settings.CHORUS_GENERATION_BACKENDS = SIM_BACKENDS
