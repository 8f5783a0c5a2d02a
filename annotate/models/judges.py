"""AI judges (issue 16): a model endpoint that labels a campaign's items beside people.

A ``Judge`` is one model endpoint (``modelserve.ModelEndpoint``: the local SmolLM2 or any
OpenAI-compatible server) attached to a campaign. It labels as its own AI ``Annotator``
(a user that cannot log in), so its labels are ordinary ``Annotation`` rows with
``source = "ai"``; ``Annotation.objects`` hides them from every existing consumer (see
``annotate.models.work.HumanAnnotationManager``).

A ``JudgePrompt`` is the versioned instruction for one task type; editing one through
``judge_prompt_save`` makes a new version, so every judgment and label says which text
produced it and κ can be tracked across rubric versions.

A ``Judgment`` is one model call: one item, in one presentation order (pairwise items are
asked in both orders, AB and BA, to measure position bias), with the raw output, the
parsed answer and whether it parsed. Unparsable outputs are stored, never dropped.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from config.jsonutil import JSONEncoder

from .campaign import Campaign
from .choices import TaskType

# The task types a judge can label: the ones with a constrained answer.
JUDGE_TASK_TYPES = (TaskType.PAIRWISE, TaskType.RANKING, TaskType.RATING)


class InconsistentPolicy(models.TextChoices):
    """What a pairwise item judged differently in its two orders counts as."""

    DROP = "drop", "Drop (only consistent verdicts count)"
    TIE = "tie", "Count as a tie"
    FIRST = "first", "Keep the verdict of the first order"


class Judge(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="judges")
    name = models.CharField(max_length=120)
    endpoint = models.ForeignKey(
        "modelserve.ModelEndpoint", on_delete=models.PROTECT, related_name="judges"
    )
    # The AI annotator this judge labels as (created by judge_create; one per judge).
    annotator = models.OneToOneField(
        "annotate.Annotator", on_delete=models.PROTECT, related_name="judge"
    )
    enabled = models.BooleanField(default=True)
    # Blank: the campaign config's judges.inconsistent_policy decides.
    inconsistent_policy = models.CharField(
        max_length=8, choices=InconsistentPolicy.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="judge_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class JudgePrompt(models.Model):
    """One version of a judge's instruction for a task type. Rows are never edited in
    place: ``judge_prompt_save`` adds version n+1 and the newest one is used."""

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="prompts")
    task_type = models.CharField(max_length=16, choices=TaskType.choices)
    version = models.PositiveIntegerField(default=1)
    # The system message and the user template; placeholders: {prompt}, {response_a},
    # {response_b} (pairwise), {response} {low} {high} (rating), {responses} {n} (ranking).
    system = models.TextField(blank=True)
    template = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["judge", "task_type", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["judge", "task_type", "version"], name="judgeprompt_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.judge} {self.task_type} v{self.version}"


class JudgmentOrder(models.TextChoices):
    AB = "AB", "Canonical order (first response shown as A)"
    BA = "BA", "Swapped (second response shown as A)"


class Judgment(models.Model):
    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="judgments")
    item = models.ForeignKey("annotate.Item", on_delete=models.CASCADE, related_name="judgments")
    judge_prompt = models.ForeignKey(
        JudgePrompt, on_delete=models.PROTECT, related_name="judgments"
    )
    prompt_version = models.PositiveIntegerField()
    # Pairwise: AB or BA. Rating: one judgment per response, ``response_id`` says which
    # (0 for the other task types). ``shown``: the response ids in the order shown.
    order = models.CharField(max_length=2, choices=JudgmentOrder.choices, default="AB")
    response_id = models.PositiveBigIntegerField(default=0)
    shown = models.JSONField(default=list, blank=True, encoder=JSONEncoder)
    raw_output = models.TextField(blank=True)
    # "A" / "B" / "tie" as shown, an integer (rating), or a list of response ids (ranking).
    parsed = models.JSONField(null=True, blank=True, encoder=JSONEncoder)
    # judge_parse status: ok, empty, unparsable, ambiguous, out_of_range; "failed" when
    # the model call itself failed (error in raw_output).
    parse_status = models.CharField(max_length=16, db_index=True)
    parse_ok = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    generation_request = models.OneToOneField(
        "modelserve.GenerationRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="judgment",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One judgment per (judge, item, prompt version, order, response): a rerun of
            # a judging job finds the row and does not ask again.
            models.UniqueConstraint(
                fields=["judge", "item", "prompt_version", "order", "response_id"],
                name="judgment_once",
            ),
            models.CheckConstraint(
                condition=Q(parse_ok=False) | Q(parse_status="ok"), name="judgment_ok_status"
            ),
        ]
        indexes = [models.Index(fields=["judge", "item"])]

    def __str__(self) -> str:
        return f"judgment {self.pk} ({self.parse_status})"
