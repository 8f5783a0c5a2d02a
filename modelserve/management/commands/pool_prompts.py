"""Add prompts (no responses yet) for pre-generation, and optionally top the pool up now.

    manage.py pool_prompts <campaign-slug> prompts.txt        # one prompt per line
    manage.py pool_prompts <campaign-slug> prompts.jsonl      # {"prompt": "..."} or
                                                              # {"messages": [...]} per line
    manage.py pool_prompts <campaign-slug> prompts.txt --topup

The campaign's model pool (admin: Model endpoints -> campaigns) generates
``candidates_per_prompt`` responses per prompt and turns each prompt into an item of a
task type drawn from the campaign's task mix (config keys: modelserve/generation/pool.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotate.models import Campaign
from modelserve.generation.pool import pool_topup, prompt_add
from modelserve.generation.selectors import pool_status


class Command(BaseCommand):
    help = "Add prompts for pre-generation to a campaign (text or JSONL file)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("campaign", help="campaign slug")
        parser.add_argument("path", help=".txt (one prompt per line) or .jsonl file")
        parser.add_argument("--topup", action="store_true", help="enqueue generation now")

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign with slug {opts['campaign']!r}")
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            if path.suffix == ".jsonl":
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CommandError(f"line {n}: not JSON ({exc})") from exc
                messages = (
                    data.get("messages") or data.get("prompt") if isinstance(data, dict) else None
                )
                if not messages:
                    raise CommandError(f"line {n}: give 'prompt' or 'messages'")
                rows.append((n, messages))
            else:
                rows.append((n, line.strip()))
        with transaction.atomic():
            for n, messages in rows:
                try:
                    prompt_add(campaign=campaign, messages=messages)
                except (ValueError, KeyError, TypeError) as exc:
                    raise CommandError(f"line {n}: {exc}") from exc
        self.stdout.write(f"added {len(rows)} prompt(s) to {campaign.slug}")
        if opts["topup"]:
            made = pool_topup(campaign_id=campaign.pk)
            self.stdout.write(
                f"enqueued {made} generation batch(es); pool {pool_status(campaign=campaign)}"
            )
