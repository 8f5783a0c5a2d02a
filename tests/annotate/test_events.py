"""Domain events: sent once the write commits, with plain-data kwargs; a failing
listener never fails the write."""

import pytest

from annotate import events
from annotate.services import annotation_submit, assignment_next
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    got: list[dict] = []

    def listener(sender, **kwargs):
        got.append(kwargs)

    events.labels_received.connect(listener, dispatch_uid="test-heard")
    yield got
    events.labels_received.disconnect(dispatch_uid="test-heard")


def test_a_submit_announces_its_label_after_commit_only_once(
    heard, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    ItemFactory(campaign=campaign)
    annotator = AnnotatorFactory()
    assignment = assignment_next(annotator=annotator, campaign=campaign)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        annotation, created = annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, payload={"choice": "A"}
        )
    assert created and heard == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert heard == [
        {
            "signal": events.labels_received,
            "campaign_id": campaign.pk,
            "annotation_ids": [annotation.pk],
            # The item's only slot: this label completed it (the campaign-done check runs).
            "completed_item_ids": [annotation.item_id],
        }
    ]
    with django_capture_on_commit_callbacks(execute=True):
        annotation_submit(assignment_id=assignment.pk, annotator=annotator, payload={"choice": "A"})
    assert len(heard) == 1  # the idempotent repeat stores and announces nothing


def test_a_failing_listener_is_logged_and_the_others_still_hear(caplog):
    got = []

    def broken(sender, **kwargs):
        raise RuntimeError("listener down")

    events.campaign_done.connect(broken, dispatch_uid="test-broken")
    events.campaign_done.connect(
        lambda sender, **kw: got.append(kw["campaign_id"]), weak=False, dispatch_uid="test-ok"
    )
    try:
        events.send_now(events.campaign_done, campaign_id=7)
    finally:
        events.campaign_done.disconnect(dispatch_uid="test-broken")
        events.campaign_done.disconnect(dispatch_uid="test-ok")
    assert got == [7]
    assert "listener down" in caplog.text
