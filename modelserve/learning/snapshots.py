"""The data a refit trains on: a campaign's labels as plain training records.

``training_records`` is the only bridge between Annotation rows and the Django-free
builder in ``modelserve.training.data``; a run pins its snapshot with ``last_label_id``
(the newest annotation id it may read), so a retried run sees the same labels.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Max

from annotate.models import Annotation, Campaign, Item, ItemResponse
from modelserve.training.data import LabelRecord

TRAINABLE_TASK_TYPES = ("pairwise", "ranking", "rating", "edit")
# ProfileVersion fields a campaign may group reward-model accuracy by.
GROUP_FIELDS = (
    "age_band",
    "gender",
    "residence_country",
    "birth_country",
    "first_language",
    "education",
    "employment",
    "ethnicity",
    "religion",
    "ai_familiarity",
    "ai_frequency",
)


def training_records(
    *,
    campaign: Campaign,
    group_by: str = "age_band",
    include_reference: bool = False,
    max_annotation_id: int | None = None,
) -> list[LabelRecord]:
    """Every label of the campaign that can train, as ``LabelRecord``s.

    Left out: annotations of annotators who asked for deletion, attention checks (their
    answer is known and says nothing about the responses), and annotations flagged
    ``exclude_from_training`` by quality control. ``include_reference`` adds imported
    reference preferences (e.g. HH-RLHF's own labels) as pairwise labels from a pseudo
    annotator "reference", so an imported campaign can be refit before anyone labels it.
    """
    if group_by not in GROUP_FIELDS:
        raise ValueError(f"Cannot group by {group_by!r}; choose one of {', '.join(GROUP_FIELDS)}.")
    qs = Annotation.objects.filter(
        campaign=campaign,
        task_type__in=TRAINABLE_TASK_TYPES,
        annotator__deleted_at__isnull=True,
        item__is_attention_check=False,
    )
    if max_annotation_id is not None:
        qs = qs.filter(pk__lte=max_annotation_id)
    rows = list(
        qs.values(
            "pk",
            "task_type",
            "payload",
            "item_id",
            "item__prompt_id",
            "item__prompt__messages",
            "annotator__pseudonym",
            f"profile_version__{group_by}",
            "flags",
        ).order_by("pk")
    )
    # In Python, not SQL: exclude() on a missing JSON key would also drop unflagged rows
    # (NOT NULL is NULL in SQL).
    rows = [r for r in rows if not (r["flags"] or {}).get("exclude_from_training")]
    item_ids = {r["item_id"] for r in rows}
    if include_reference:
        ref_items = list(
            Item.objects.filter(
                campaign=campaign, task_type="pairwise", metadata__has_key="reference_preference"
            ).values("pk", "prompt_id", "prompt__messages", "metadata")
        )
        item_ids |= {r["pk"] for r in ref_items}
    texts = _item_responses(item_ids)
    low, high = campaign.rating_range
    common = {"overall_attribute": campaign.overall_attribute, "rating_range": (low, high)}
    records = [
        LabelRecord(
            annotation_id=r["pk"],
            task_type=r["task_type"],
            annotator=r["annotator__pseudonym"],
            prompt_key=str(r["item__prompt_id"]),
            prompt=tuple(r["item__prompt__messages"] or ()),
            responses={rid: text for _, rid, text in texts.get(r["item_id"], [])},
            payload=r["payload"],
            group=r[f"profile_version__{group_by}"] or "unknown",
            **common,  # type: ignore[arg-type]
        )
        for r in rows
    ]
    if include_reference:
        for it in ref_items:
            ref = it["metadata"]["reference_preference"]
            by_pos = {pos: rid for pos, rid, _ in texts.get(it["pk"], [])}
            chosen = by_pos.get(ref.get("chosen_position"))
            rejected = by_pos.get(ref.get("rejected_position"))
            if chosen is None or rejected is None:
                continue
            records.append(
                LabelRecord(
                    # Negative ids keep reference labels apart from real annotation ids.
                    annotation_id=-int(it["pk"]),
                    task_type="pairwise",
                    annotator="reference",
                    prompt_key=str(it["prompt_id"]),
                    prompt=tuple(it["prompt__messages"] or ()),
                    responses={rid: text for _, rid, text in texts.get(it["pk"], [])},
                    payload={"choice": "A", "chosen": chosen, "rejected": rejected},
                    group="reference",
                    **common,  # type: ignore[arg-type]
                )
            )
    return records


def _item_responses(item_ids: set[int]) -> dict[int, list[tuple[int, int, str]]]:
    out: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for item_id, pos, rid, text in ItemResponse.objects.filter(item_id__in=item_ids).values_list(
        "item_id", "position", "response_id", "response__text"
    ):
        out[item_id].append((pos, rid, text))
    return out


def last_label_id(*, campaign: Campaign) -> int:
    return Annotation.objects.filter(campaign=campaign).aggregate(m=Max("pk"))["m"] or 0
