"""Domain events: what happened in Chorus, for whoever listens.

The core flow (annotate) announces what happened; listeners (modelserve's generation and
learning packages, outgoing webhooks, analytics) connect in their ``AppConfig.ready()``.
So a sender never imports its listeners, and a new listener changes no sender.

Every event is sent once its transaction has committed (``send_on_commit``): a listener
never sees a row that a rollback could still take back, and a listener that fails never
fails the write that caused it (``send_robust``: the error is logged).

Keyword arguments, all plain data (ids and strings), so a listener can hand them to a
Celery task as they are:

========================  ==============================================================
event                     kwargs
========================  ==============================================================
``labels_received``       ``campaign_id: int``, ``annotation_ids: list[int]``, optional
                          ``completed_item_ids: list[int]`` (items these labels filled)
``export_ready``          ``export_id: int``, ``campaign_id: int``
``refit_finished``        ``run_id: int``, ``campaign_id: int``, ``kind: str``
                          ("reward"/"dpo"), ``status: str`` (succeeded/gated/failed)
``version_promoted``      ``campaign_id: int``, ``kind: str``, ``version_id: int``
``quota_cell_full``       ``campaign_id: int``, ``cell: str``
``campaign_done``         ``campaign_id: int``
========================  ==============================================================

Where each is sent: labels_received by annotation_submit; export_ready by export_run;
refit_finished and version_promoted by modelserve's refit services and promotion;
quota_cell_full by campaign_admit when an admission takes a cell's last place;
campaign_done by annotate.services.campaign_done (a labels_received listener) when every
open item has all its labels, once per completion.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

labels_received = Signal()
export_ready = Signal()
refit_finished = Signal()
version_promoted = Signal()
quota_cell_full = Signal()
campaign_done = Signal()


def send_now(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` to every listener; a listener's error is logged, never raised."""
    for receiver, result in signal.send_robust(sender=None, **kwargs):
        if isinstance(result, Exception):
            logger.error("event listener %r failed", receiver, exc_info=result)


def send_on_commit(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` after the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(signal, **kwargs))
