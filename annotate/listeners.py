"""What the annotate app does when something happens (annotate.events); connected by
``connect()`` from ``AnnotateConfig.ready()``.

- Labels arrived: ask for a fresh analytics snapshot (debounced, one cache write; see
  annotate.services.analytics). After commit, and never failing the submit: events are
  sent robustly.
- Labels arrived: check whether the campaign just got all its labels
  (annotate.services.campaign_done sends campaign_done, once per completion).
- Every event: outgoing webhooks write their deliveries (annotate.webhooks.listeners).
- Consent or admission saved or deleted: the campaign gate forgets what it remembered
  for that annotator (annotate.services.gates).
"""

from __future__ import annotations

from typing import Any

from annotate import events
from annotate.services import campaign_done, gates
from annotate.services.analytics import analytics_snapshot_request
from annotate.webhooks import listeners as webhook_listeners


def labels_received(campaign_id: int, **kwargs: Any) -> None:
    analytics_snapshot_request(campaign_id=campaign_id)


def connect() -> None:
    events.labels_received.connect(labels_received, dispatch_uid="annotate_analytics_snapshot")
    events.labels_received.connect(
        campaign_done.on_labels_received, dispatch_uid="annotate_campaign_done"
    )
    webhook_listeners.connect()
    gates.connect()
