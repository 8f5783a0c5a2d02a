"""``manage.py route --campaign SLUG [--queue] [--json]``: recompute a campaign's routing
plan now (issue 16), here or on the worker."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.models import Campaign
from annotate.services.routing import ROUTING_REFRESH, RoutingError
from annotate.tasks_util import enqueue
from modelserve.learning.routing import routing_refresh


class Command(BaseCommand):
    help = "Route a campaign's items to people or the AI judge within its human budget."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument(
            "--queue", action="store_true", help="let a worker compute it (default queue)"
        )
        parser.add_argument("--json", action="store_true", help="print the plan as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign with slug {opts['campaign']!r}.")
        if opts["queue"]:
            task_id = enqueue(ROUTING_REFRESH, campaign.pk, "command")
            if task_id is None:
                raise CommandError("the broker did not take the task; try again")
            self.stdout.write(f"queued routing for {campaign.slug}: task {task_id}")
            return
        try:
            plan = routing_refresh(campaign=campaign, trigger="command")
        except RoutingError as exc:
            raise CommandError(str(exc)) from exc
        summary = {
            "campaign": campaign.slug,
            "version": plan.version,
            "model_kind": plan.model_kind,
            "n_train": plan.n_train,
            "budget": plan.budget,
            "spent": plan.spent,
            "n_items": plan.n_items,
            "n_human": plan.n_human,
            "n_ai": plan.n_ai,
            "threshold": plan.threshold,
            "reward_model": plan.reward_model,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True))
            return
        self.stdout.write(
            f"plan v{plan.version} for {campaign.slug}: {plan.n_human} items to people, "
            f"{plan.n_ai} to the judge (budget {plan.budget}, spent {plan.spent}; "
            f"model {plan.model_kind} on {plan.n_train} items)"
        )
