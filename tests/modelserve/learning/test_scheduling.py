"""The per-campaign beat schedule: kept in sync with the config, and it starts a refit
when enough new labels arrived and not otherwise."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from modelserve.learning import refits as training_services
from modelserve.learning.models import RunStatus, TrainingRun
from modelserve.learning.scheduling import refit_settings_update, schedule_name
from tests.factories import CampaignFactory, ItemFactory

from .helpers import annotator_with_profile, label, response_ids

pytestmark = pytest.mark.django_db


def add_labels(campaign, n):
    ann = annotator_with_profile()
    for _ in range(n):
        item = ItemFactory(campaign=campaign)
        a, b = response_ids(item)
        label(item, ann, {"choice": "A", "chosen": a, "rejected": b})


def fire_beat_entry(campaign):
    """What beat does when the entry is due: look the task up by name, call it with kwargs."""
    from config.celery import app

    app.loader.import_default_modules()
    entry = PeriodicTask.objects.get(name=schedule_name(campaign))
    assert entry.enabled
    return app.tasks[entry.task](**json.loads(entry.kwargs))


def test_schedule_follows_the_campaign_config():
    campaign = CampaignFactory()
    refit_settings_update(campaign=campaign, enabled=True, every_minutes=15, min_new_labels=3)
    entry = PeriodicTask.objects.get(name=schedule_name(campaign))
    assert (entry.interval.every, entry.interval.period) == (15, "minutes")
    assert entry.task == "modelserve.tasks.schedule_refits"
    assert json.loads(entry.kwargs) == {"campaign_id": campaign.pk}
    refit_settings_update(campaign=campaign, every_minutes=5)
    entry.refresh_from_db()
    assert entry.interval.every == 5 and entry.enabled
    refit_settings_update(campaign=campaign, enabled=False)
    entry.refresh_from_db()
    assert not entry.enabled
    with pytest.raises(ValidationError, match="every_minutes"):
        refit_settings_update(campaign=campaign, every_minutes=0)
    with pytest.raises(ValidationError, match=r"refit\.evrey_minutes: Unknown key; did you mean"):
        refit_settings_update(campaign=campaign, evrey_minutes=5)


def test_beat_fires_the_refit_only_when_enough_new_labels_exist(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent = []

    def fake_send(task, run):
        # Stands in for enqueue(): records what would reach the "train" queue.
        assert task == "modelserve.tasks.refit_run"
        sent.append(run.pk)
        TrainingRun.objects.filter(pk=run.pk).update(celery_task_id="t1")

    monkeypatch.setattr(training_services, "_send", fake_send)
    campaign = CampaignFactory()
    refit_settings_update(
        campaign=campaign, enabled=True, every_minutes=10, min_new_labels=4, kinds=["reward"]
    )
    add_labels(campaign, 3)
    with django_capture_on_commit_callbacks(execute=True):
        assert fire_beat_entry(campaign) == []
    assert sent == [] and not TrainingRun.objects.exists()

    add_labels(campaign, 1)
    with django_capture_on_commit_callbacks(execute=True):
        (run_id,) = fire_beat_entry(campaign)
    run = TrainingRun.objects.get(pk=run_id)
    assert sent == [run.pk] and run.kind == "reward" and run.status == RunStatus.QUEUED
    assert run.celery_task_id == "t1" and run.config["trigger"] == "schedule"

    # While that run is active, the next tick starts nothing (the lock), and once it has
    # finished with these labels, they are no longer new.
    with django_capture_on_commit_callbacks(execute=True):
        assert fire_beat_entry(campaign) == []
    from modelserve.learning.snapshots import last_label_id

    run.status = RunStatus.SUCCEEDED
    run.config = {**run.config, "data_cutoff": last_label_id(campaign=campaign)}
    run.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert fire_beat_entry(campaign) == []
    add_labels(campaign, 4)
    with django_capture_on_commit_callbacks(execute=True):
        assert len(fire_beat_entry(campaign)) == 1
    assert len(sent) == 2


def test_refit_tasks_go_to_the_train_queue(settings):
    from config.celery import app

    route = app.amqp.router.route({}, "modelserve.tasks.refit_run")
    assert route["queue"].name == "train"
    assert app.amqp.router.route({}, "modelserve.tasks.schedule_refits")["queue"].name == "default"


def test_stale_running_runs_are_reaped_so_the_lock_frees():
    from datetime import timedelta

    from django.utils import timezone

    from modelserve.learning.refits import training_run_create, training_runs_reap_stale

    campaign = CampaignFactory(config={"refit": {"max_run_minutes": 30}})
    run = training_run_create(campaign=campaign, kind="dpo")
    TrainingRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=10)
    )
    assert training_runs_reap_stale(campaign=campaign) == 0
    TrainingRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=31))
    assert training_runs_reap_stale(campaign=campaign) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "presumed killed" in run.error
