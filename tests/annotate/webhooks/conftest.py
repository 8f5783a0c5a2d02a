from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def local_allowed(settings):
    """The tests' receivers listen on 127.0.0.1: allow exactly that, as an operator would."""
    settings.CHORUS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.CHORUS_WEBHOOK_RETRY_BASE_S = 5
    settings.CHORUS_WEBHOOK_MAX_ATTEMPTS = 3
    settings.CHORUS_WEBHOOK_TIMEOUT_S = 2
    return settings
