"""Print every analytics figure of a campaign.

    python manage.py analytics --campaign SLUG --json [--snapshot] [--save]

Computes the figures now (or, with --snapshot, prints the newest stored snapshot) and
prints one JSON document; the keys are documented in annotate/analytics/README.md, e.g.
``consistency.within_annotator.rate``, ``consistency.within_annotator.n_pairs`` and
``consistency.within_annotator.confusion``. --save also stores the result as the
campaign's newest snapshot (what the dashboard shows).
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.analytics.report import campaign_report
from annotate.models import Campaign
from annotate.selectors.analytics import (
    analytics_options,
    analytics_snapshot_latest,
    campaign_analytics_data,
)
from annotate.selectors.judge_analytics import campaign_judges_report
from annotate.selectors.routing import routing_report
from annotate.services.analytics import analytics_snapshot_compute


class Command(BaseCommand):
    help = "Compute a campaign's agreement, consistency, leaderboard and quality figures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument(
            "--snapshot",
            action="store_true",
            help="print the newest stored snapshot instead of recomputing",
        )
        parser.add_argument(
            "--save", action="store_true", help="store the result as the campaign's newest snapshot"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign with slug {opts['campaign']!r}")
        if opts["snapshot"]:
            snap = analytics_snapshot_latest(campaign=campaign)
            if snap is None:
                raise CommandError(f"campaign {campaign.slug} has no snapshot yet")
            report = snap.data
        elif opts["save"]:
            saved = analytics_snapshot_compute(campaign_id=campaign.pk, full=True)
            assert saved is not None
            report = saved.data
        else:
            started = time.perf_counter()
            options = analytics_options(campaign)
            fields = tuple(options.group_fields) + tuple(
                f for f in options.quotas.get("fields", []) if isinstance(f, str)
            )
            data = campaign_analytics_data(campaign=campaign, group_fields=fields)
            report = campaign_report(data, options)
            report["judges"] = campaign_judges_report(campaign=campaign)
            report["routing"] = routing_report(campaign=campaign)
            report["duration_ms"] = int((time.perf_counter() - started) * 1000)
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=1, sort_keys=True))
            return
        within = report["consistency"]["within_annotator"]
        self.stdout.write(
            f"campaign {campaign.slug}: {report['n_labels']} labels, "
            f"{report['n_annotators']} annotators"
        )
        rate = within["rate"]
        self.stdout.write(
            "ratings-vs-rankings consistency (within annotator): "
            + (f"{rate:.4f} over {within['n_pairs']} pairs" if rate is not None else "n/a")
        )
        for row in report["leaderboard"]["overall"]:
            self.stdout.write(f"  {row['model']:<30} {row['rating']:8.1f}  {row['ci']}")
