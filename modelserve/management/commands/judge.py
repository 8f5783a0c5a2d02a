"""Run a campaign's AI judges (issue 16).

    python manage.py judge --campaign SLUG [--limit N] [--judge NAME] [--async] [--json]
    python manage.py judge --campaign SLUG --attach NAME --endpoint ENDPOINT [--policy drop]

Runs the judging job here (the model loads in this process) or, with --async, sends it to
the "generate" queue. --attach adds a judge (its AI annotator and default prompts) for
the model endpoint named ENDPOINT, or reuses the campaign's judge of that name.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from annotate.models import Campaign, InconsistentPolicy, Judge
from annotate.services.judges import judge_create, judge_job_enqueue
from modelserve.generation.judging import judge_campaign_run
from modelserve.generation.models import ModelEndpoint


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise CommandError(f"--limit must be a positive integer, not {value!r}")
    return n


class Command(BaseCommand):
    help = "Label a campaign's items with its AI judges (pairwise in both orders)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument("--limit", help="most items per judge (default: the config's)")
        parser.add_argument("--judge", action="append", help="only this judge (repeatable)")
        parser.add_argument("--attach", metavar="NAME", help="add a judge with this name")
        parser.add_argument("--endpoint", help="model endpoint name for --attach")
        parser.add_argument(
            "--policy",
            choices=InconsistentPolicy.values,
            default="",
            help="swap policy of the judge --attach adds (default: the campaign config's)",
        )
        parser.add_argument("--async", action="store_true", help="send the job to the worker")
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign with slug {opts['campaign']!r}")
        limit = _positive(opts["limit"]) if opts["limit"] is not None else None
        if opts["attach"]:
            self._attach(campaign, opts)
        judges = Judge.objects.filter(campaign=campaign, enabled=True)
        if opts["judge"]:
            unknown = sorted(set(opts["judge"]) - set(judges.values_list("name", flat=True)))
            if unknown:
                raise CommandError(
                    f"campaign {campaign.slug} has no enabled judge named {', '.join(unknown)}"
                )
            judges = judges.filter(name__in=opts["judge"])
        judge_ids = list(judges.values_list("pk", flat=True))
        if not judge_ids:
            raise CommandError(
                f"campaign {campaign.slug} has no enabled judge; add one with --attach NAME "
                "--endpoint ENDPOINT or in the admin"
            )
        if opts["async"]:
            with transaction.atomic():
                judge_job_enqueue(campaign=campaign, judge_ids=judge_ids, limit=limit)
            self.stdout.write(f"judging job for {campaign.slug} sent to the generate queue")
            return
        report = judge_campaign_run(campaign_id=campaign.pk, judge_ids=judge_ids, limit=limit)
        if opts["json"]:
            self.stdout.write(json.dumps(report.judges, sort_keys=True))
            return
        for name, counts in report.judges.items():
            self.stdout.write(
                f"{name}: {counts['items']} items, {counts['asked']} questions, "
                f"{counts['parsed']} parsed, {counts['unparsable']} unparsable, "
                f"{counts['failed']} failed, {counts['labels']} AI labels"
            )

    def _attach(self, campaign: Campaign, opts: dict[str, Any]) -> None:
        name = opts["attach"].strip()
        existing = Judge.objects.filter(campaign=campaign, name=name).first()
        if existing is not None:
            return
        if not opts["endpoint"]:
            raise CommandError("--attach needs --endpoint ENDPOINT (a model endpoint name)")
        endpoint = ModelEndpoint.objects.filter(name=opts["endpoint"]).first()
        if endpoint is None:
            raise CommandError(f"no model endpoint named {opts['endpoint']!r}")
        judge_create(
            campaign=campaign, name=name, endpoint=endpoint, inconsistent_policy=opts["policy"]
        )
        self.stdout.write(f"judge {name!r} added to {campaign.slug} (endpoint {endpoint.name})")
