"""Issue 14: stale leases are expired by beat, and by a lease only when its queue looks
empty; the task pages' templates are compiled once (cached loader)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.utils import timezone

from annotate.models import Assignment, AssignmentStatus, Item
from annotate.services import assignment_next
from annotate.tasks import assignments_expire
from config.celery import app
from tests.factories import AnnotatorFactory, CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _stale(campaign, annotator=None) -> Assignment:
    lease = assignment_next(annotator=annotator or AnnotatorFactory(), campaign=campaign)
    assert lease is not None
    Assignment.objects.filter(pk=lease.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    return lease


def test_beat_schedules_the_expiry_task_and_the_worker_knows_it():
    entry = settings.CELERY_BEAT_SCHEDULE["assignments-expire"]
    assert entry["task"] == "annotate.tasks.assignments_expire"
    assert 0 < float(entry["schedule"]) <= 300
    assert entry["task"] in app.tasks


def test_the_beat_task_expires_stale_leases_and_frees_their_slots():
    campaign = CampaignFactory(overlap=1)
    ItemFactory.create_batch(3, campaign=campaign)
    leases = [_stale(campaign) for _ in range(2)]
    fresh = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    assert assignments_expire.apply().get() == {"expired": 2}
    assert assignments_expire.apply().get() == {"expired": 0}  # safe to run twice
    for lease in leases:
        lease.refresh_from_db()
        assert lease.status == AssignmentStatus.EXPIRED
        assert Item.objects.get(pk=lease.item_id).slots_taken == 0
    fresh.refresh_from_db()
    assert fresh.status == AssignmentStatus.ACTIVE


def test_a_lease_does_not_sweep_while_its_queue_has_work():
    campaign = CampaignFactory(overlap=1)
    ItemFactory.create_batch(2, campaign=campaign)
    stale = _stale(campaign)
    taken = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    assert taken is not None and taken.item_id != stale.item_id
    stale.refresh_from_db()
    assert stale.status == AssignmentStatus.ACTIVE  # left to the beat task


def test_a_lease_that_finds_the_queue_empty_expires_stale_leases_and_looks_again():
    campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=campaign)
    other_campaign = CampaignFactory(overlap=1)
    ItemFactory(campaign=other_campaign)
    stale = _stale(campaign)
    elsewhere = _stale(other_campaign)
    taken = assignment_next(annotator=AnnotatorFactory(), campaign=campaign)
    assert taken is not None and taken.item_id == stale.item_id
    stale.refresh_from_db()
    assert stale.status == AssignmentStatus.EXPIRED
    assert Item.objects.get(pk=stale.item_id).slots_taken == 1
    elsewhere.refresh_from_db()
    assert elsewhere.status == AssignmentStatus.ACTIVE  # only this campaign's queue


def test_templates_are_compiled_once_by_the_cached_loader():
    engine = engines["django"].engine
    assert isinstance(engine.template_loaders[0], CachedLoader)
    loaders = engine.loaders[0][1]
    assert "django.template.loaders.app_directories.Loader" in loaders
    first = engine.get_template("annotate/tasks/_task.html")
    assert engine.get_template("annotate/tasks/_task.html") is first
