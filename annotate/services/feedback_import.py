"""Import of external feedback studies as labels of one feedback source.

Format ``sparse-feedback`` ("Peering Through Preferences", Bansal et al., ICLR 2024):
two headerless RFC 4180 CSV files,
- ratings: instruction, input, output, rating (an integer on the campaign's scale);
- rankings: instruction, input, output1, output2, ranking in {"(a)", "(b)", "equal"}.

Prompts are matched by (instruction, input) and responses by exact text within a prompt,
so a rating and a comparison of the same text land on the same ``Response``. Each rating
row becomes a rating item and each comparison row a pairwise item (output1 shown as A),
each with one submitted assignment and annotation by one ``Annotator`` standing for the
source. A comparison of a text with itself gets a second response row with the same text
(an item cannot hold one response twice); analytics matches responses by text, so both
rows read as the one response the study meant. Everything is written in one transaction;
the same pair of files cannot be imported twice into a campaign.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from annotate.input.checks import InputError, parse_int
from annotate.models import (
    Annotation,
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    Item,
    ItemResponse,
    Prompt,
    Response,
    TaskType,
)
from annotate.payloads import PayloadContext, PayloadError, validate_payload
from annotate.selectors.guidelines import guideline_latest
from annotate.services.analytics import analytics_snapshot_request

JUDGMENTS = {"(a)": "A", "(b)": "B", "equal": "tie"}


class FeedbackImportError(ValueError):
    """A bad file or value; the message names the file and line."""


@dataclass(frozen=True)
class RatingRow:
    line: int
    instruction: str
    input: str
    output: str
    rating: int


@dataclass(frozen=True)
class RankingRow:
    line: int
    instruction: str
    input: str
    output1: str
    output2: str
    choice: str  # A, B or tie


@dataclass(frozen=True)
class ImportSummary:
    source: str
    annotator: str
    n_prompts: int
    n_responses: int
    n_ratings: int
    n_comparisons: int


def _read_rows(path: Path, n_columns: int, what: str) -> list[tuple[int, list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, strict=True)
            rows = []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != n_columns:
                    raise FeedbackImportError(
                        f"{what} file {path}, line {reader.line_num}: expected {n_columns} "
                        f"columns, found {len(row)}"
                    )
                rows.append((reader.line_num, row))
    except FileNotFoundError:
        raise FeedbackImportError(f"{what} file {path} does not exist") from None
    except IsADirectoryError:
        raise FeedbackImportError(f"{what} file {path} is a directory") from None
    except UnicodeDecodeError:
        raise FeedbackImportError(f"{what} file {path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise FeedbackImportError(f"{what} file {path}: malformed CSV ({exc})") from None
    if not rows:
        raise FeedbackImportError(f"{what} file {path} has no rows")
    return rows


def parse_sparse_ratings(path: Path) -> list[RatingRow]:
    out = []
    for line, (instruction, inp, output, rating) in _read_rows(path, 4, "ratings"):
        try:
            value = parse_int(rating, field="rating")
        except InputError:
            hint = " (the file must not have a header row)" if line == 1 else ""
            raise FeedbackImportError(
                f"ratings file {path}, line {line}: rating {rating!r} is not a whole number{hint}"
            ) from None
        if not output.strip() or not instruction.strip():
            raise FeedbackImportError(
                f"ratings file {path}, line {line}: instruction and output must not be empty"
            )
        out.append(RatingRow(line, instruction, inp, output, value))
    return out


def parse_sparse_rankings(path: Path) -> list[RankingRow]:
    out = []
    for line, (instruction, inp, out1, out2, ranking) in _read_rows(path, 5, "rankings"):
        choice = JUDGMENTS.get(ranking.strip().lower())
        if choice is None:
            hint = " (the file must not have a header row)" if line == 1 else ""
            raise FeedbackImportError(
                f"rankings file {path}, line {line}: ranking {ranking!r} is not one of "
                f"(a), (b), equal{hint}"
            )
        if not out1.strip() or not out2.strip() or not instruction.strip():
            raise FeedbackImportError(
                f"rankings file {path}, line {line}: instruction and outputs must not be empty"
            )
        out.append(RankingRow(line, instruction, inp, out1, out2, choice))
    return out


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _source_annotator(source: str) -> Annotator:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=f"feedback-source:{source}"[:150], defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    annotator, _ = Annotator.objects.get_or_create(user=user, defaults={"external_id": source})
    return annotator


@transaction.atomic
def feedback_import_sparse(
    *,
    campaign: Campaign,
    ratings: list[RatingRow],
    rankings: list[RankingRow],
    source: str = "sparse-feedback",
    fingerprint: str = "",
) -> ImportSummary:
    """Write the parsed rows as items, assignments and annotations (all or nothing)."""
    if not fingerprint:
        fingerprint = hashlib.sha256(repr((ratings, rankings)).encode()).hexdigest()
    if Item.objects.filter(campaign=campaign, metadata__import_sha256=fingerprint).exists():
        raise FeedbackImportError(f"these files were already imported into {campaign.slug}")
    annotator = _source_annotator(source)
    overall = campaign.overall_attribute
    now = timezone.now()
    origin = f"import:{source}"

    prompt_keys = list(
        dict.fromkeys(
            [(r.instruction, r.input) for r in ratings]
            + [(r.instruction, r.input) for r in rankings]
        )
    )
    prompts = Prompt.objects.bulk_create(
        [
            Prompt(
                campaign=campaign,
                text=f"{ins}\n\n{inp}" if inp.strip() else ins,
                messages=[{"role": "user", "content": f"{ins}\n\n{inp}" if inp.strip() else ins}],
                external_id=f"{source}:{_digest(ins, inp)}",
                metadata={"instruction": ins, "input": inp, "source": source},
            )
            for ins, inp in prompt_keys
        ]
    )
    prompt_of = dict(zip(prompt_keys, prompts, strict=True))

    # Responses by (prompt, text); a self-comparison needs a twin row for slot B.
    keys: list[tuple[tuple[str, str], str]] = []
    for r in ratings:
        keys.append(((r.instruction, r.input), r.output))
    for c in rankings:
        keys += [((c.instruction, c.input), c.output1), ((c.instruction, c.input), c.output2)]
    unique = list(dict.fromkeys(keys))
    twins = list(
        dict.fromkeys(
            ((c.instruction, c.input), c.output1) for c in rankings if c.output1 == c.output2
        )
    )
    made = Response.objects.bulk_create(
        [Response(prompt=prompt_of[p], text=t, source=origin) for p, t in unique]
        + [
            Response(
                prompt=prompt_of[p],
                text=t,
                source=origin,
                sample_index=1,
                metadata={"same_text_as_previous": True},
            )
            for p, t in twins
        ]
    )
    response_of = dict(zip(unique, made[: len(unique)], strict=True))
    twin_of = dict(zip(twins, made[len(unique) :], strict=True))

    specs: list[tuple[str, Prompt, list[Response], dict[str, object], int]] = []
    ctx_attrs = [overall]
    for r in ratings:
        resp = response_of[((r.instruction, r.input), r.output)]
        try:
            payload = validate_payload(
                TaskType.RATING,
                {"ratings": {resp.pk: {overall: r.rating}}},
                PayloadContext(
                    presented_order=[resp.pk],
                    rating_range=campaign.rating_range,
                    rating_attributes=ctx_attrs,
                ),
            )
        except PayloadError as exc:
            raise FeedbackImportError(f"ratings line {r.line}: {exc}") from None
        specs.append(
            (TaskType.RATING, prompt_of[(r.instruction, r.input)], [resp], payload, r.line)
        )
    for c in rankings:
        p = (c.instruction, c.input)
        first = response_of[(p, c.output1)]
        second = twin_of[(p, c.output1)] if c.output1 == c.output2 else response_of[(p, c.output2)]
        payload = validate_payload(
            TaskType.PAIRWISE,
            {"choice": c.choice},
            PayloadContext(presented_order=[first.pk, second.pk]),
        )
        specs.append((TaskType.PAIRWISE, prompt_of[p], [first, second], payload, c.line))

    items = Item.objects.bulk_create(
        [
            Item(
                campaign=campaign,
                task_type=task,
                prompt=prompt,
                overlap=1,
                slots_taken=1,
                n_submitted=1,
                metadata={"import_sha256": fingerprint, "source": source, "line": line},
            )
            for task, prompt, _, _, line in specs
        ]
    )
    ItemResponse.objects.bulk_create(
        [
            ItemResponse(item=item, response=resp, position=pos)
            for item, (_, _, resps, _, _) in zip(items, specs, strict=True)
            for pos, resp in enumerate(resps)
        ]
    )
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                item=item,
                annotator=annotator,
                campaign=campaign,
                status=AssignmentStatus.SUBMITTED,
                presented_order=[x.pk for x in resps],
                lease_expires_at=now,
                finished_at=now,
            )
            for item, (_, _, resps, _, _) in zip(items, specs, strict=True)
        ]
    )
    guideline = guideline_latest(campaign=campaign)
    # Ids (and created_at) increase in file order, ratings first; analytics orders labels
    # by (created_at, id), which is what "the first rating counts" needs.
    Annotation.objects.bulk_create(
        [
            Annotation(
                assignment=a,
                item=item,
                campaign=campaign,
                annotator=annotator,
                task_type=task,
                payload=payload,
                guideline_version=guideline,
            )
            for a, item, (task, _, _, payload, _) in zip(assignments, items, specs, strict=True)
        ]
    )
    analytics_snapshot_request(campaign_id=campaign.pk)
    return ImportSummary(
        source=source,
        annotator=annotator.pseudonym,
        n_prompts=len(prompts),
        n_responses=len(made),
        n_ratings=len(ratings),
        n_comparisons=len(rankings),
    )
