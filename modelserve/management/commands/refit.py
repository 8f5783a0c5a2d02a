"""``manage.py refit --campaign SLUG --kind reward|dpo``: run one refit now, here."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.models import Campaign
from modelserve.learning.models import RunKind
from modelserve.learning.refits import (
    RefitAlreadyActive,
    training_run_create,
    training_run_enqueue,
    training_run_execute,
)


class Command(BaseCommand):
    help = "Refit a campaign's reward model or DPO policy now, in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument("--kind", required=True, choices=RunKind.values)
        parser.add_argument(
            "--queue",
            action="store_true",
            help="send the run to the 'train' queue instead of running it in this process",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign with slug {opts['campaign']!r}.")
        try:
            if opts["queue"]:
                run = training_run_enqueue(campaign=campaign, kind=opts["kind"], trigger="cli")
                self.stdout.write(f"queued run {run.pk}")
                return
            run = training_run_create(campaign=campaign, kind=opts["kind"], trigger="cli")
        except RefitAlreadyActive as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"run {run.pk}: training {opts['kind']} for {campaign.slug} ...")
        try:
            run = training_run_execute(run_id=run.pk)
        except Exception as exc:
            raise CommandError(f"run {run.pk} failed: {exc}") from exc
        self.stdout.write(f"run {run.pk}: {run.status}; data {run.data_hash[:12]}")
        for key, value in sorted(run.metrics.items()):
            if isinstance(value, int | float | str):
                self.stdout.write(f"  {key}: {value}")
