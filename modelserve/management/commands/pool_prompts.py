"""Add prompts (no responses yet) for pre-generation, and optionally top the pool up now.

    manage.py pool_prompts <campaign-slug> prompts.txt        # one prompt per line
    manage.py pool_prompts <campaign-slug> prompts.jsonl      # {"prompt": "..."} or
                                                              # {"messages": [...]} per line
    manage.py pool_prompts <campaign-slug> prompts.txt --topup
    manage.py pool_prompts <campaign-slug> prompts.txt --language fr

``--language`` (a BCP 47 tag, default ``und``) is every prompt's language; a JSON line
may give its own ``"language"``. The models are asked to answer in it
(modelserve/generation/languages.py), and the items and responses carry it.

The campaign's model pool (admin: Model endpoints -> campaigns) generates
``candidates_per_prompt`` responses per prompt and turns each prompt into an item of a
task type drawn from the campaign's task mix (config keys: modelserve/generation/pool.py).

The whole file is checked before anything is written (annotate.input, the input
boundary): it must be UTF-8 text without NUL characters (a binary file is refused as
such), every JSON line within the boundary's rules, every prompt at most
ITEM_TEXT_MAX characters; a bad line is reported with its number and nothing is added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotate.input.checks import InputError, check_text, loads_json
from annotate.input.language import UNDETERMINED, language_tag, language_tag_or_default
from annotate.models import Campaign
from annotate.services.items import ITEM_TEXT_MAX
from modelserve.generation.pool import pool_topup, prompt_add
from modelserve.generation.selectors import pool_status

MAX_FILE_BYTES = 256 * 1024 * 1024


def _text(path: Path) -> str:
    """The file as text, or a CommandError saying why it is not a prompt file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the file ({exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CommandError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise CommandError(
            f"{path}: line {line} holds a NUL byte: this looks like a binary file, "
            "not UTF-8 text (one prompt per line, or JSON lines)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CommandError(
            f"{path}: line {line} is not valid UTF-8 (byte {exc.start}); save the file "
            "as UTF-8 text"
        ) from None


ROLES = ("system", "user", "assistant")


def _messages(data: Any, n: int) -> str | list[dict[str, str]]:
    """A JSON line's prompt: a string, or chat messages ending with the user's."""
    messages = data.get("messages") or data.get("prompt") if isinstance(data, dict) else None
    if not messages:
        raise CommandError(f"line {n}: give 'prompt' or 'messages'")
    if isinstance(messages, str):
        return check_text(messages, field="prompt", max_length=ITEM_TEXT_MAX)
    if not isinstance(messages, list) or not all(
        isinstance(m, dict)
        and m.get("role") in ROLES
        and isinstance(m.get("content"), str)
        and m["content"].strip()
        for m in messages
    ):
        raise CommandError(
            f"line {n}: 'messages' must be a list of {{\"role\": {'|'.join(ROLES)}, "
            '"content": text}'
        )
    for m, message in enumerate(messages):
        check_text(message["content"], field=f"messages[{m}].content", max_length=ITEM_TEXT_MAX)
    return [{"role": m["role"], "content": m["content"]} for m in messages]


class Command(BaseCommand):
    help = "Add prompts for pre-generation to a campaign (text or JSONL file)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("campaign", help="campaign slug")
        parser.add_argument("path", help=".txt (one prompt per line) or .jsonl file")
        parser.add_argument("--topup", action="store_true", help="enqueue generation now")
        parser.add_argument("--language", default=UNDETERMINED, help="BCP 47 tag (default und)")

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = Campaign.objects.filter(slug=opts["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign with slug {opts['campaign']!r}")
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            default = language_tag(opts["language"], field="--language")
        except InputError as exc:
            raise CommandError(str(exc)) from None
        rows = []
        for n, line in enumerate(_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                if path.suffix == ".jsonl":
                    data = loads_json(line, field="", max_depth=8)
                    language = default
                    if isinstance(data, dict):
                        language = language_tag_or_default(data.get("language"), default=default)
                    rows.append((n, _messages(data, n), language))
                else:
                    text = check_text(line.strip(), field="", max_length=ITEM_TEXT_MAX)
                    rows.append((n, text, default))
            except InputError as exc:
                where = f" ({exc.field})" if exc.field else ""
                raise CommandError(f"line {n}{where}: {exc.message}") from None
        with transaction.atomic():
            for n, messages, language in rows:
                try:
                    prompt_add(campaign=campaign, messages=messages, language=language)
                except (ValueError, KeyError, TypeError) as exc:
                    raise CommandError(f"line {n}: {exc}") from exc
        self.stdout.write(f"added {len(rows)} prompt(s) to {campaign.slug}")
        if opts["topup"]:
            made = pool_topup(campaign_id=campaign.pk)
            self.stdout.write(
                f"enqueued {made} generation batch(es); pool {pool_status(campaign=campaign)}"
            )
