"""Drive a running Chorus with simulated annotators over HTTP (issue 8).

    python manage.py simulate --campaign SLUG --annotators 20 --duration 60 \\
        --base-url http://127.0.0.1:8000 [--create] [--config crowd.json] [--report]

Each simulated person signs up (or logs in; with ``--crowd-links`` enters through their
own signed crowd join link instead), consents, fills the profile survey and
works through tasks via the real pages, judging with a latent Bradley-Terry preference
model (annotate.simulation.model). ``--create`` first builds a synthetic campaign with
``--models`` simulated models and ``--prompts`` prompts. ``--report`` then prints the
analytics recovered from the database next to the simulated truth. ``--config`` is a
JSON file of CrowdConfig fields (quality, group_shift, group_field, demographics, tau,
tie_band, rating_sd, rating_off, seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.input.checks import InputError, loads_json
from annotate.models import Campaign
from annotate.services.crowd_links import join_link
from annotate.services.simulation import (
    simulation_campaign_create,
    simulation_compare,
    simulation_lookup,
)
from annotate.simulation.driver import percentile, run_crowd
from annotate.simulation.model import CrowdConfig, config_from_dict, draw_people, make_response


class Command(BaseCommand):
    help = "Run simulated annotators against a running server (real HTTP endpoints)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument("--annotators", type=int, default=10)
        parser.add_argument("--duration", type=float, default=60.0, help="seconds")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--config", type=Path, help="JSON file of CrowdConfig fields")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--create", action="store_true", help="create the campaign")
        parser.add_argument("--models", type=int, default=4)
        parser.add_argument("--prompts", type=int, default=10)
        parser.add_argument("--overlap", type=int, default=3)
        parser.add_argument("--start", type=int, default=0, help="index of the first person")
        parser.add_argument("--think", type=float, default=0.0, help="mean think time, s")
        parser.add_argument("--no-htmx", action="store_true", help="plain form posts")
        parser.add_argument("--report", action="store_true", help="compare with the truth")
        parser.add_argument(
            "--crowd-links",
            action="store_true",
            help="enter as crowd participants through signed join links (no sign-up)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["annotators"] < 1 or opts["duration"] <= 0:
            raise CommandError("--annotators must be >= 1 and --duration > 0.")
        config = self._config(opts)
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            if not opts["create"]:
                raise CommandError(f"No campaign {opts['campaign']!r} (add --create).")
            campaign = simulation_campaign_create(
                slug=opts["campaign"],
                n_models=opts["models"],
                n_prompts=opts["prompts"],
                overlap=opts["overlap"],
            )
            self.stdout.write(f"created campaign {campaign.slug} ({campaign.items.count()} items)")
        lookup = simulation_lookup(campaign=campaign, config=config)
        people = draw_people(config, opts["annotators"], start=opts["start"])
        result = run_crowd(
            base_url=opts["base_url"],
            campaign_slug=campaign.slug,
            people=people,
            config=config,
            lookup=lambda rid: lookup.get(rid) or _unknown(config, rid),
            duration_s=opts["duration"],
            username_prefix=f"sim-{campaign.slug}-",
            htmx=not opts["no_htmx"],
            think_s=opts["think"],
            join_urls=(
                (lambda n: join_link(campaign=campaign, participant_id=f"sim-crowd-{n}"))
                if opts["crowd_links"]
                else None
            ),
        )
        self.stdout.write(
            f"{len(people)} simulated annotators, {result.completed} tasks in "
            f"{result.elapsed_s:.1f} s ({result.completed / max(result.elapsed_s, 1e-9):.1f}/s), "
            f"{result.requests()} requests, errors {result.errors() or 0}"
        )
        for kind in ("task_page", "submit", "next", "onboarding"):
            values = result.latencies(kind)
            if values:
                self.stdout.write(
                    f"  {kind:<10} n={len(values):>6} p50={percentile(values, 50):7.1f} ms "
                    f"p95={percentile(values, 95):7.1f} ms p99={percentile(values, 99):7.1f} ms"
                )
        failed = [p for p in result.people if p.failure]
        for p in failed[:5]:
            self.stderr.write(f"  {p.username}: {p.failure}")
        if opts["report"]:
            labels = [label for p in result.people for label in p.labels]
            cmp = simulation_compare(
                campaign=campaign, config=config, people=people, labels=labels, lookup=lookup
            )
            self.stdout.write(
                f"model order: measured {cmp['measured_order']} / true {cmp['true_order']}\n"
                f"within-annotator consistency: measured {cmp['measured_consistency']} "
                f"on {cmp['measured_pairs']} pairs / true {cmp['true_consistency']:.3f} "
                f"(s.e. {cmp['consistency_se']:.3f}) on {cmp['true_pairs']} pairs\n"
                f"pairwise percent agreement: measured {cmp['measured_agreement']} "
                f"(95% CI {cmp['measured_agreement_ci']}) / true {cmp['true_agreement']:.3f}"
            )

    def _config(self, opts: dict[str, Any]) -> CrowdConfig:
        data: dict[str, Any] = {}
        if opts["config"]:
            try:
                data = loads_json(opts["config"].read_bytes(), field="", max_depth=8)
            except (OSError, InputError) as exc:
                raise CommandError(f"Cannot read {opts['config']}: {exc}") from None
            if not isinstance(data, dict):
                raise CommandError(f"{opts['config']}: the crowd config must be a JSON object")
        if opts["seed"] is not None:
            data["seed"] = opts["seed"]
        try:
            return config_from_dict(data)
        except (TypeError, ValueError, AttributeError) as exc:
            raise CommandError(f"Bad crowd config: {exc}") from exc


def _unknown(config: CrowdConfig, rid: int) -> Any:
    return make_response(config, rid, -1)
