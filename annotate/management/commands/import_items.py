"""``manage.py import_items --campaign SLUG --format hh-rlhf|jsonl FILE``.

Reads every line first (gzip or plain, detected by magic bytes), reports each bad line
with its number, then writes all good rows in one transaction. Without ``--skip-bad`` a
single bad line aborts the import with nothing written (exit status 1); with it the good
rows are imported and the rejected line numbers listed. Rows already in the campaign
(same external id: a content hash, or the generic format's ``id``) are skipped, so an
import can be re-run after fixing the rejected lines. The formats are documented in
``annotate/importers/hh_rlhf.py`` and ``annotate/importers/jsonl.py``.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from annotate.campaign_config import CampaignConfigError, validate_campaign_config
from annotate.importers import FORMATS, BadRow, parser_for, read_rows
from annotate.input.checks import MAX_JSON_DEPTH, InputError, loads_json
from annotate.input.language import UNDETERMINED, language_tag_or_default
from annotate.models import Campaign, TaskType
from annotate.selectors.imports import external_ids_present
from annotate.services import ItemSpec, ItemSpecError, campaign_create
from annotate.services.grants import campaign_update
from annotate.services.imports import item_spec_from_row, items_import

IMPORTABLE_TASK_TYPES = [t for t in TaskType.values if t != TaskType.CONVERSATION]
MAX_LISTED = 50  # bad lines printed with their reason; the rest by number only


class Command(BaseCommand):
    help = "Import items from HH-RLHF-style or generic JSONL (gzip or plain)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="JSONL file, gzip-compressed or plain")
        parser.add_argument("--campaign", required=True, help="campaign slug")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument(
            "--task-type",
            choices=IMPORTABLE_TASK_TYPES,
            help="jsonl only: task type for lines that name none "
            "(default: pairwise for two responses, else rating)",
        )
        parser.add_argument(
            "--language",
            help="BCP 47 tag (en, fr, pt-BR, zh-Hans) of rows that give no 'language' "
            "(default: und, undetermined)",
        )
        parser.add_argument("--create", action="store_true", help="create the campaign")
        parser.add_argument(
            "--config",
            type=Path,
            help="JSON file of campaign config keys (README, 'Campaign config'): the new "
            "campaign's config with --create, else merged into the campaign's config; "
            "checked before anything is read",
        )
        parser.add_argument(
            "--skip-bad", action="store_true", help="import the good rows, list the bad ones"
        )
        parser.add_argument("--limit", type=int, help="read at most N (non-blank) rows")
        parser.add_argument("--dry-run", action="store_true", help="validate, write nothing")
        parser.add_argument("--report", type=Path, help="write rejected lines as JSON here")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.perf_counter()
        path: Path = opts["file"]
        if opts["limit"] is not None and opts["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        if opts["task_type"] and opts["fmt"] != "jsonl":
            raise CommandError("--task-type only applies to --format jsonl")
        try:
            opts["language"] = language_tag_or_default(
                opts["language"], default=UNDETERMINED, field="--language"
            )
        except InputError as exc:
            raise CommandError(str(exc)) from None
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None and not opts["create"]:
            raise CommandError(
                f"no campaign with slug {opts['campaign']!r}; create it first or pass --create"
            )
        progress = not opts["no_progress"] and sys.stderr.isatty()
        config = self._config(opts["config"], campaign) if opts["config"] else None

        specs, bad, n_rows = self._read(path, opts, progress)
        present = (
            external_ids_present(campaign=campaign, external_ids=[s.external_id for s in specs])
            if campaign is not None
            else set()
        )
        new_specs = [s for s in specs if s.external_id not in present]
        if opts["report"]:
            self._write_report(opts["report"], path, opts["fmt"], n_rows, bad)
        if bad:
            self._print_bad(bad)
            if not opts["skip_bad"]:
                raise CommandError(
                    f"{len(bad)} of {n_rows} rows rejected (lines "
                    f"{_line_list([b.line for b in bad])}); nothing imported. "
                    "Fix them, or pass --skip-bad to import the good rows."
                )
        created = 0
        if not opts["dry_run"]:
            # One transaction: the config, a new campaign and the items land together.
            with transaction.atomic():
                campaign, created = self._write(campaign, config, new_specs, opts, progress)
        elapsed = time.perf_counter() - started
        verb = "would create" if opts["dry_run"] else "items created"
        summary = (
            f"rows read: {n_rows}, {verb}: "
            f"{len(new_specs) if opts['dry_run'] else created}, "
            f"already imported: {len(specs) - len(new_specs)}, rows rejected: {len(bad)} "
            f"({elapsed:.2f} s)"
        )
        self.stdout.write(summary)

    def _read(
        self, path: Path, opts: dict[str, Any], progress: bool
    ) -> tuple[list[ItemSpec], list[BadRow], int]:
        parse = parser_for(
            opts["fmt"],
            file_name=path.name,
            task_type=opts["task_type"],
            language=opts["language"],
        )
        specs: list[ItemSpec] = []
        bad: list[BadRow] = []
        try:
            rows = read_rows(path, parse, limit=opts["limit"])
            for row in tqdm(
                rows, unit="row", desc="reading", file=sys.stderr, disable=not progress
            ):
                if isinstance(row, BadRow):
                    bad.append(row)
                    continue
                spec = item_spec_from_row(row)
                try:
                    spec.check()
                except ItemSpecError as exc:
                    bad.append(BadRow(row.line, str(exc)))
                    continue
                specs.append(spec)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # A truncated or corrupt gzip stream is not one bad line: the rest is unreadable.
            raise CommandError(f"{path}: cannot read the file ({exc}); nothing imported") from exc
        return specs, bad, len(specs) + len(bad)

    def _write(
        self,
        campaign: Campaign | None,
        config: dict[str, Any] | None,
        specs: list[ItemSpec],
        opts: dict[str, Any],
        progress: bool,
    ) -> tuple[Campaign | None, int]:
        if config is not None and campaign is not None:
            try:
                campaign = campaign_update(campaign=campaign, config=config)
            except ValidationError as exc:
                raise CommandError(f"--config: {'; '.join(exc.messages)}") from None
            self.stdout.write(f"campaign {campaign.slug!r}: config updated")
        if not specs:
            return campaign, 0
        if campaign is None:
            campaign = self._create_campaign(opts["campaign"], specs, config or {})
        with tqdm(
            total=len(specs), unit="item", desc="writing", file=sys.stderr, disable=not progress
        ) as bar:

            def advance(n: int) -> None:
                bar.update(n)

            return campaign, items_import(campaign=campaign, specs=specs, on_progress=advance)

    def _config(self, path: Path, campaign: Campaign | None) -> dict[str, Any]:
        """The --config file, merged over the campaign's config and checked by the typed
        schema (annotate.campaign_config): a bad key stops the import before it starts."""
        try:
            raw = loads_json(path.read_bytes(), field="", max_depth=MAX_JSON_DEPTH)
        except OSError as exc:
            raise CommandError(f"--config {path}: cannot read the file ({exc})") from None
        except InputError as exc:
            raise CommandError(f"--config {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise CommandError(f"--config {path}: must be a JSON object of config keys")
        merged = {**(campaign.config if campaign is not None else {}), **raw}
        try:
            return validate_campaign_config(merged)
        except CampaignConfigError as exc:
            raise CommandError(f"--config {path}: {'; '.join(exc.messages)}") from None

    def _create_campaign(
        self, slug: str, specs: list[ItemSpec], config: dict[str, Any]
    ) -> Campaign:
        mix: dict[str, float] = {}
        for spec in specs:
            mix[spec.task_type] = mix.get(spec.task_type, 0) + 1
        try:
            campaign = campaign_create(
                slug=slug, name=slug.replace("-", " ").title(), task_mix=mix, config=config
            )
        except ValidationError as exc:
            raise CommandError(f"cannot create campaign {slug!r}: {exc.messages}") from exc
        self.stdout.write(f"created campaign {slug!r} (draft)")
        return campaign

    def _print_bad(self, bad: list[BadRow]) -> None:
        for row in bad[:MAX_LISTED]:
            self.stderr.write(f"line {row.line}: {row.error}")
        if len(bad) > MAX_LISTED:
            rest = _line_list([b.line for b in bad[MAX_LISTED:]], limit=200)
            self.stderr.write(f"... and {len(bad) - MAX_LISTED} more: lines {rest}")
        self.stderr.write(f"rejected lines: {_line_list([b.line for b in bad], limit=200)}")

    def _write_report(
        self, target: Path, path: Path, fmt: str, n_rows: int, bad: list[BadRow]
    ) -> None:
        report = {
            "file": str(path),
            "format": fmt,
            "rows_read": n_rows,
            "rejected": [{"line": b.line, "error": b.error} for b in bad],
        }
        try:
            target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write the report to {target}: {exc}") from exc


def _line_list(lines: list[int], *, limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in lines[:limit])
    return shown + (f", ... ({len(lines) - limit} more)" if len(lines) > limit else "")
