"""Writes of the learning loop: start a refit, run it, gate it, promote it.

Crash safety, in order of what can go wrong:
- two refits of one campaign and kind: the partial unique constraint
  ``one_active_run_per_campaign_kind`` refuses the second queued/running row;
- a task delivered twice: ``training_run_execute`` claims the run with a conditional
  UPDATE (queued -> running) and returns if someone else already did;
- a failure at any step (training, a metric JSON cannot store, the version row, gates,
  promotion, the run's final update): artifacts are written under a temporary name; the
  version row, gates, promotion and final run update are one transaction, and renaming
  the folder to its final name is the last thing inside it. Any exception rolls that
  back, removes both the temporary and the final folder, and marks the run failed with
  the error: no version row, no orphaned folder, ``CampaignServing`` untouched. (The
  COMMIT itself comes after the rename; if it raises, the final folder is removed too.
  Called inside a caller's transaction, a later rollback there would orphan the folder:
  the task calls it outside one);
- values JSON cannot store: metrics, curves and configs go through
  ``config.jsonutil.to_jsonable`` before any write (numpy/torch scalars become floats).
  A NaN or Infinity fails the run, naming the key, before the artifacts are kept; a
  metric that is undefined (no validation pairs) is None at its source instead;
- a worker killed with SIGKILL: ``training_runs_reap_stale`` fails runs older than
  ``max_run_minutes`` so the lock frees itself. Its folder stays on disk, normally a
  hidden ``.<name>.partial`` no version row points at (no except ran to remove it, and
  the reaper cannot tell a dead worker from a slow one still writing there);
- promotion: one transaction that locks the ``CampaignServing`` row and switches it;
  active sampling runs after the commit, and its failure is logged on the run without
  failing it (the new version already serves).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from annotate import events
from annotate.models import Campaign
from annotate.tasks_util import enqueue
from config.jsonutil import to_jsonable
from modelserve.learning.active_sampling import items_prioritise_by_uncertainty
from modelserve.learning.models import (
    PolicyVersion,
    RewardModelVersion,
    RunKind,
    RunStatus,
    TrainingRun,
)
from modelserve.learning.promotion import version_promote_if_gated
from modelserve.learning.scheduling import refit_config
from modelserve.learning.selectors import new_label_count, serving_current
from modelserve.learning.snapshots import last_label_id, training_records
from modelserve.learning.trainers import Reporter, StepHook, train_dpo_run, train_reward_run
from modelserve.training.data import Dataset, build_dataset

logger = logging.getLogger(__name__)
# Celery task name (see modelserve.learning.tasks); routed to the "train" queue.
REFIT_RUN = "modelserve.tasks.refit_run"


class RefitAlreadyActive(Exception):
    """A refit of this campaign and kind is already queued or running."""


def training_run_create(
    *,
    campaign: Campaign,
    kind: str,
    trigger: str = "manual",
    overrides: dict[str, Any] | None = None,
) -> TrainingRun:
    if kind not in RunKind.values:
        raise ValueError(f"Unknown refit kind {kind!r}; use one of {', '.join(RunKind.values)}.")
    cfg = refit_config(campaign)
    config = {"trigger": trigger, "refit": cfg, kind: {**cfg.get(kind, {}), **(overrides or {})}}
    try:
        with transaction.atomic():
            return TrainingRun.objects.create(
                campaign=campaign, kind=kind, config=to_jsonable(config, path="config")
            )
    except IntegrityError as exc:
        raise RefitAlreadyActive(
            f"A {kind} refit of {campaign.slug} is already queued or running."
        ) from exc


def training_run_enqueue(*, campaign: Campaign, kind: str, trigger: str = "manual") -> TrainingRun:
    """Create a queued run and send it to the "train" queue once the row is committed."""
    run = training_run_create(campaign=campaign, kind=kind, trigger=trigger)
    transaction.on_commit(lambda: _send(REFIT_RUN, run))
    return run


def _send(task: str, run: TrainingRun) -> None:
    # enqueue never fails on a broker outage (issue 8): the scheduler reaps and retries.
    task_id = enqueue(task, run.pk)
    if task_id is not None:
        TrainingRun.objects.filter(pk=run.pk).update(celery_task_id=task_id)


def training_runs_reap_stale(*, campaign: Campaign | None = None) -> int:
    """Fail runs whose worker vanished (queued or running past ``max_run_minutes``)."""
    qs = TrainingRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    now = timezone.now()
    reaped = 0
    for run in qs.select_related("campaign"):
        limit = timedelta(minutes=int(refit_config(run.campaign)["max_run_minutes"]))
        if (run.started_at or run.created_at) + limit < now:
            reaped += TrainingRun.objects.filter(pk=run.pk, status=run.status).update(
                status=RunStatus.FAILED,
                finished_at=now,
                error=f"no progress for {limit}: presumed killed",
            )
    return reaped


def _artifact_root(campaign: Campaign) -> Path:
    return Path(settings.CHORUS_MODEL_DIR) / "refits" / campaign.slug


def training_run_execute(*, run_id: int, step_hook: StepHook | None = None) -> TrainingRun:
    """Run a queued refit to the end: data, training, artifacts, version row, gates and
    promotion. Safe to call twice (the second call sees the run claimed and returns).
    Any exception marks the run failed, leaves no version row and no artifact folder, and
    leaves what the campaign serves untouched (module docstring). Locks the campaign row
    (version numbering) and the ``CampaignServing`` row (promotion)."""
    claimed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now()
    )
    run = TrainingRun.objects.select_related("campaign").get(pk=run_id)
    if not claimed:
        return run
    rep = Reporter(run, step_hook)
    final = _artifact_root(run.campaign) / f"{run.kind}-run{run.pk}-{secrets.token_hex(3)}"
    tmp = final.with_name("." + final.name + ".partial")
    try:
        cfg = run.config.get("refit") or refit_config(run.campaign)
        cutoff = last_label_id(campaign=run.campaign)
        records = training_records(
            campaign=run.campaign,
            group_by=cfg["group_by"],
            include_reference=bool(cfg["include_reference_labels"]),
            max_annotation_id=cutoff,
        )
        ds = build_dataset(
            records, val_fraction=float(cfg["val_fraction"]), seed=int(cfg["split_seed"])
        )
        rep.log(f"data {ds.data_hash[:12]}: {ds.summary()}")
        TrainingRun.objects.filter(pk=run.pk).update(
            data_hash=ds.data_hash,
            n_examples=ds.n_examples,
            config=to_jsonable(
                {**run.config, "data_cutoff": cutoff, "data": ds.summary()}, path="config"
            ),
        )
        run.refresh_from_db()
        tmp.mkdir(parents=True, exist_ok=True)
        serving = serving_current(campaign=run.campaign)
        if run.kind == RunKind.REWARD:
            metrics, curves, train_cfg = train_reward_run(run, ds, tmp, rep, serving)
        else:
            metrics, curves, train_cfg = train_dpo_run(run, ds, tmp, rep, serving)
        # Trainers return numpy/torch scalars (a float32 score broke a real refit); a NaN
        # here is a diverged run or a bug, and fails the run now, naming the key.
        metrics = to_jsonable(metrics, path="metrics")
        curves = to_jsonable(curves, path="curves")
        train_cfg = to_jsonable(train_cfg, path="config")
        with transaction.atomic():
            version = _version_create(run, ds, final, metrics, train_cfg)
            promoted, reasons = version_promote_if_gated(version=version, gates=cfg["gates"])
            status = RunStatus.SUCCEEDED if promoted else RunStatus.GATED
            rep.lines.append(f"artifacts in {final}")
            rep.log("promoted" if promoted else f"not promoted: {'; '.join(reasons)}")
            TrainingRun.objects.filter(pk=run.pk).update(
                status=status,
                progress=1.0,
                metrics=to_jsonable({**metrics, "gate_reasons": reasons}, path="metrics"),
                curves=curves,
                artifact_dir=str(final),
                finished_at=timezone.now(),
                log="\n".join(rep.lines),
            )
            # Last: until here a failure leaves only the temporary folder to remove.
            tmp.rename(final)
    except BaseException as exc:
        # Both names: the COMMIT can still fail after the rename.
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        rep.lines.append(f"FAILED: {exc!r}")
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            log="\n".join(rep.lines),
            error="".join(traceback.format_exception(exc))[-20000:],
        )
        _announce(run, RunStatus.FAILED)
        raise
    _announce(run, status)
    if promoted and run.kind == RunKind.REWARD and cfg["active_sampling"]:
        try:
            items_prioritise_by_uncertainty(campaign=run.campaign)
        except Exception as exc:  # the version serves already; only the ordering is stale
            logger.exception("run %s: active sampling failed", run.pk)
            rep.log(f"active sampling failed: {exc!r}")
    run.refresh_from_db()
    return run


def _announce(run: TrainingRun, status: str) -> None:
    events.send_on_commit(
        events.refit_finished,
        run_id=run.pk,
        campaign_id=run.campaign_id,
        kind=str(run.kind),
        status=str(status),
    )


def _version_create(
    run: TrainingRun, ds: Dataset, folder: Path, metrics: dict[str, Any], train_cfg: dict[str, Any]
) -> PolicyVersion | RewardModelVersion:
    model: type[PolicyVersion] | type[RewardModelVersion] = (
        RewardModelVersion if run.kind == RunKind.REWARD else PolicyVersion
    )
    # The campaign row lock serialises version numbering across kinds and workers.
    Campaign.objects.select_for_update().filter(pk=run.campaign_id).first()
    number = (model.objects.filter(campaign=run.campaign).aggregate(m=Max("version"))["m"] or 0) + 1
    fields: dict[str, Any] = {
        "campaign": run.campaign,
        "version": number,
        "artifact_dir": str(folder),
        "training_run": run,
        "data_hash": ds.data_hash,
        "config": to_jsonable(train_cfg, path="config"),
        "metrics": to_jsonable(metrics, path="metrics"),
        "base_model": str(train_cfg.get("base", "default")),
    }
    if model is PolicyVersion:
        current = serving_current(campaign=run.campaign)
        fields["parent"] = current.policy if current else None
        if fields["parent"] is not None:
            fields["base_model"] = fields["parent"].base_model
    return model.objects.create(**fields)


def refits_due(*, campaign: Campaign) -> list[str]:
    """Kinds with at least ``min_new_labels`` labels since their last finished run."""
    cfg = refit_config(campaign)
    return [
        kind
        for kind in cfg["kinds"]
        if new_label_count(campaign=campaign, kind=kind) >= int(cfg["min_new_labels"])
    ]


def refits_start_due(*, campaign: Campaign) -> list[TrainingRun]:
    """What the beat schedule calls: reap dead runs, then enqueue each due kind unless one
    is already active (then it waits for the next tick)."""
    training_runs_reap_stale(campaign=campaign)
    started = []
    for kind in refits_due(campaign=campaign):
        try:
            started.append(training_run_enqueue(campaign=campaign, kind=kind, trigger="schedule"))
        except RefitAlreadyActive:
            continue
    return started
