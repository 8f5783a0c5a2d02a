"""``manage.py campaign_config``: the typed campaign config, from the command line.

    manage.py campaign_config --docs          # the reference table (as in README.md)
    manage.py campaign_config --check         # check every campaign's stored config
    manage.py campaign_config --check --fix   # also store the safe fixes

``--check`` exits with status 1 when a config has a problem it cannot fix, naming the
campaign and the key (the data migration printed the same when it ran).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.campaign_config.docs import config_reference_markdown
from annotate.campaign_config.repair import config_repair, repair_report
from annotate.models import Campaign
from annotate.services.campaign_configs import campaign_config_store_fixed


class Command(BaseCommand):
    help = "Print the campaign config reference, or check the stored configs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--docs", action="store_true", help="print the reference table")
        parser.add_argument("--check", action="store_true", help="check every campaign")
        parser.add_argument("--fix", action="store_true", help="with --check: store safe fixes")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["docs"]:
            self.stdout.write(config_reference_markdown())
        if not opts["check"]:
            if not opts["docs"]:
                raise CommandError("give --docs or --check")
            return
        broken = 0
        for campaign in Campaign.objects.order_by("slug").only("pk", "slug", "config"):
            repair = config_repair(campaign.config)
            if repair.changed and opts["fix"]:
                campaign_config_store_fixed(campaign=campaign, config=repair.config)
            line = repair_report(campaign.slug, repair)
            if line:
                self.stdout.write(line)
            broken += bool(repair.problems)
        if broken:
            raise CommandError(f"{broken} campaign config(s) need editing (listed above)")
        self.stdout.write("every campaign config follows the schema")
