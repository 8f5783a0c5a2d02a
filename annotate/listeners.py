"""What the annotate app does when something happens (annotate.events); connected by
``connect()`` from ``AnnotateConfig.ready()``.

- Labels arrived: ask for a fresh analytics snapshot (debounced, one cache write; see
  annotate.services.analytics). After commit, and never failing the submit: events are
  sent robustly.
"""

from __future__ import annotations

from typing import Any

from annotate import events
from annotate.services.analytics import analytics_snapshot_request


def labels_received(campaign_id: int, **kwargs: Any) -> None:
    analytics_snapshot_request(campaign_id=campaign_id)


def connect() -> None:
    events.labels_received.connect(labels_received, dispatch_uid="annotate_analytics_snapshot")
