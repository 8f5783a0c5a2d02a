"""Import an external feedback study's labels into a campaign.

    python manage.py import_feedback --campaign SLUG --format sparse-feedback \
        --ratings ratings.csv --rankings rankings.csv [--source NAME]

See annotate.services.feedback_import for the file format and how rows map to labels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.models import Campaign
from annotate.services.feedback_import import (
    FeedbackImportError,
    feedback_import_sparse,
    parse_sparse_rankings,
    parse_sparse_ratings,
)

FORMATS = ["sparse-feedback"]


class Command(BaseCommand):
    help = "Import ratings and pairwise judgments of one feedback source into a campaign."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument(
            "--ratings",
            required=True,
            type=Path,
            help="headerless CSV: instruction,input,output,rating",
        )
        parser.add_argument(
            "--rankings",
            required=True,
            type=Path,
            help="headerless CSV: instruction,input,output1,output2,ranking",
        )
        parser.add_argument(
            "--source",
            default="sparse-feedback",
            help="name of the feedback source (one annotator stands for it)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign with slug {opts['campaign']!r}")
        try:
            ratings = parse_sparse_ratings(opts["ratings"])
            rankings = parse_sparse_rankings(opts["rankings"])
            fingerprint = _fingerprint(opts["ratings"], opts["rankings"])
            summary = feedback_import_sparse(
                campaign=campaign,
                ratings=ratings,
                rankings=rankings,
                source=opts["source"],
                fingerprint=fingerprint,
            )
        except FeedbackImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"imported {summary.n_ratings} ratings and {summary.n_comparisons} comparisons "
            f"({summary.n_prompts} prompts, {summary.n_responses} responses) into "
            f"{campaign.slug} as annotator {summary.annotator} (source {summary.source})"
        )


def _fingerprint(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()
