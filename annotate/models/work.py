"""Units of work and what annotators do with them.

Invariants (see DESIGN.md), enforced in the database where a database can:
- one assignment per (item, annotator): nobody sees the same item twice;
- one annotation per assignment: a submitted label is never duplicated;
- ``Item.slots_taken`` counts assignments that are active or submitted and never exceeds
  ``Item.overlap``; it is only changed by services holding the item's row lock.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q

from config.jsonutil import JSONEncoder

from .campaign import Campaign, GuidelineVersion
from .choices import AssignmentStatus, ItemRoute, ItemStatus, TaskType
from .content import Prompt, Response, language_field
from .fast_insert import FastInsertMixin
from .label_values import (
    LABEL_VALUE_FIELDS,
    LabelBigIntegerField,
    LabelBooleanField,
    LabelFloatField,
    LabelSmallIntegerField,
    LabelValues,
    label_values,
)


class Item(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    task_type = models.CharField(max_length=16, choices=TaskType.choices, db_index=True)
    # Null only for live conversation items, whose prompt the annotator writes.
    prompt = models.ForeignKey(
        Prompt, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    responses: models.ManyToManyField[Response, ItemResponse] = models.ManyToManyField(
        Response, through="ItemResponse", related_name="items"
    )
    # Copied from the prompt when the item is made; the queue's language quotas read it.
    language = language_field()
    overlap = models.PositiveSmallIntegerField(default=1)
    slots_taken = models.PositiveSmallIntegerField(default=0)
    n_submitted = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    # Higher first. Active sampling (reward-model uncertainty) writes here.
    priority = models.FloatField(default=0.0)
    # Set by routing plans (annotate.services.routing); read by the queue only while the
    # campaign's routing is enabled. Changed only under the item's row lock.
    # db_default too: SQL bulk loaders (bench/) write items without naming it.
    route = models.CharField(
        max_length=8, choices=ItemRoute.choices, default="", db_default="", blank=True
    )
    is_gold = models.BooleanField(default=False)
    is_attention_check = models.BooleanField(default=False)
    # Expected answer for gold items / attention checks, in the task type's payload shape.
    gold_answer = models.JSONField(null=True, blank=True, encoder=JSONEncoder)
    metadata = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(slots_taken__lte=F("overlap")), name="item_slots_within_overlap"
            ),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="item_overlap_positive"),
        ]
        indexes = [
            # The assignment query walks open items of a campaign by priority.
            # Only items with a free slot are in it, so the scan never walks past
            # full items however far a campaign has progressed.
            models.Index(
                fields=["campaign", "-priority", "id"],
                name="item_open_queue",
                condition=Q(status="open", slots_taken__lt=F("overlap")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_type} item {self.pk}"

    @property
    def is_full(self) -> bool:
        return self.slots_taken >= self.overlap


class ItemResponse(models.Model):
    """The canonical order of an item's responses; annotators see a shuffled order."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="item_responses")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["item", "position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "position"], name="itemresponse_position"),
            models.UniqueConstraint(fields=["item", "response"], name="itemresponse_once"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} #{self.position}: response {self.response_id}"


class Assignment(FastInsertMixin, models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        "annotate.Annotator", on_delete=models.CASCADE, related_name="assignments"
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE
    )
    # Response ids in the order shown (position 0 is "A"). Randomised per assignment.
    presented_order = models.JSONField(default=list, encoder=JSONEncoder)
    leased_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"], name="assignment_once_per_annotator"
            ),
        ]
        indexes = [
            models.Index(fields=["annotator", "campaign", "status"]),
            models.Index(
                fields=["lease_expires_at"],
                name="assignment_active_lease",
                condition=Q(status="active"),
            ),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"


class AnnotationSource(models.TextChoices):
    HUMAN = "human", "Human annotator"
    AI = "ai", "AI judge"


class HumanAnnotationManager(models.Manager["Annotation"]):
    """The default manager: human labels only (issue 16).

    Judge labels are Annotations too, and every consumer written before judges existed
    (analytics, agreement, exports, refit data, quotas, dashboards, per-annotator pages)
    reads ``Annotation.objects`` or a related manager (``item.annotations``), which Django
    builds from this class. Filtering here keeps AI labels out of all of them unless a
    caller asks for them through ``Annotation.all_sources``. Deletion and reverse
    one-to-one access use the plain base manager, so cascades still see every row.
    Joins from other models (``Count("annotations")``) do not go through a manager:
    those filter on ``annotations__source`` themselves.
    """

    def get_queryset(self) -> models.QuerySet[Annotation]:
        return super().get_queryset().filter(source=AnnotationSource.HUMAN)


class Annotation(FastInsertMixin, models.Model):
    # Null only for AI (judge) labels: a judge takes no assignment, so it never uses an
    # item's overlap slot or shows up in queue counts.
    assignment = models.OneToOneField(
        Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="annotation"
    )
    # Denormalised from the assignment so analytics and exports filter without joins.
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="annotations")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="annotations")
    annotator = models.ForeignKey(
        "annotate.Annotator", on_delete=models.PROTECT, related_name="annotations"
    )
    task_type = models.CharField(max_length=16, choices=TaskType.choices)
    # Validated and normalised per task type (annotate.payloads): positions resolved to
    # response ids, so the payload reads the same whatever order was shown.
    payload = models.JSONField(encoder=JSONEncoder)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    guideline_version = models.ForeignKey(
        GuidelineVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    profile_version = models.ForeignKey(
        "annotate.ProfileVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="annotations",
    )
    # Quality flags: {"too_fast": true, "gold_correct": false, ...}
    flags = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    # Issue 14: what analytics reads, copied out of payload and flags whenever the row is
    # written (annotate.models.label_values has the rules), so loading a campaign's labels
    # needs no JSON operator. Null where the JSON says nothing usable.
    choice = LabelSmallIntegerField(null=True, blank=True, editable=False)  # +1 A, 0 tie, -1 B
    shown_a = LabelBigIntegerField(null=True, blank=True, editable=False)  # response ids,
    shown_b = LabelBigIntegerField(null=True, blank=True, editable=False)  # in shown order
    strength = LabelFloatField(null=True, blank=True, editable=False)
    gold_correct = LabelBooleanField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Issue 16: who gave the label. AI labels also say which judge and prompt version.
    source = models.CharField(
        max_length=8,
        choices=AnnotationSource.choices,
        default=AnnotationSource.HUMAN,
        # Also in the database: rows written by SQL (bench/, COPY) are human labels.
        db_default=AnnotationSource.HUMAN,
        db_index=True,
    )
    judge = models.ForeignKey(
        "annotate.Judge",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="annotations",
    )
    judge_prompt_version = models.PositiveIntegerField(null=True, blank=True)

    # The first manager is the default one (admin, related managers, serializers).
    objects = HumanAnnotationManager()
    all_sources = models.Manager()  # noqa: DJ012 (ruff reads models.Manager() as a field)

    class Meta:
        base_manager_name = "all_sources"
        indexes = [models.Index(fields=["campaign", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(source="human", assignment__isnull=False, judge__isnull=True)
                    | Q(source="ai", judge__isnull=False)
                ),
                name="annotation_source_fields",
            ),
            # One label per judge and item; a new prompt version replaces it.
            models.UniqueConstraint(
                fields=["judge", "item"],
                condition=Q(judge__isnull=False),
                name="annotation_once_per_judge_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_type} annotation {self.pk}"

    _label_values: LabelValues  # only while save() runs

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The label columns follow payload and flags: a save of either rewrites them too.
        fields = kwargs.get("update_fields")
        if fields is not None and {"payload", "flags"} & set(fields):
            kwargs["update_fields"] = {*fields, *LABEL_VALUE_FIELDS}
        # Derived once for the five label columns of this save (each field's pre_save
        # would otherwise parse payload and flags again; issue 14).
        self._label_values = label_values(self.payload, self.flags)
        try:
            super().save(*args, **kwargs)
        finally:
            del self._label_values
