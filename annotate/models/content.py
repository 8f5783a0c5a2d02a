"""What annotators judge: conversations (a tree of turns), prompts and responses.

Turns are immutable once written, so a prompt keeps a snapshot of the messages that lead
to it (``Prompt.messages``): reads for task pages and exports never walk the tree, and the
snapshot cannot go stale.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from annotate.input.checks import InputError
from annotate.input.language import MAX_LENGTH, UNDETERMINED, language_tag
from config.jsonutil import JSONEncoder

from .campaign import Campaign
from .choices import Role


def validate_language(value: str) -> None:
    """The admin's check of a language field (writers go through annotate.input.language)."""
    try:
        if language_tag(value) != value:
            raise ValidationError("Write the tag in lower case with hyphens, e.g. pt-br.")
    except InputError as exc:
        raise ValidationError(exc.message) from None


def language_field() -> models.CharField:
    """The data language of a prompt, item or response (annotate/input/language.py):
    indexed, since the queue's language quotas and analytics filter by it."""
    return models.CharField(
        max_length=MAX_LENGTH,
        default=UNDETERMINED,
        # Also a database default: bulk loaders that write SQL (bench/, COPY) need not know it.
        db_default=UNDETERMINED,
        db_index=True,
        validators=[validate_language],
        help_text="BCP 47 language tag, lower case (en, fr, pt-br, zh-hans); und: undetermined.",
    )


class Conversation(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="conversations")
    # "import:hh-rlhf", "import:jsonl", "demo", "live" ...
    source = models.CharField(max_length=60, db_index=True)
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    # Set for live (PRISM) conversations: the annotator who opened it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    metadata = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.source})"


class Turn(models.Model):
    """One message. Siblings under the same parent are alternative continuations."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    depth = models.PositiveIntegerField(default=0)
    # An assistant turn produced by a model points at the response that carried it.
    response = models.OneToOneField(
        "annotate.Response",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="turn",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "depth", "id"]
        indexes = [models.Index(fields=["conversation", "depth"])]

    def __str__(self) -> str:
        return f"{self.role}@{self.depth}: {self.text[:40]}"


class Prompt(models.Model):
    """The context a response answers: the path of turns ending in a user turn."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prompts")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="prompts"
    )
    turn = models.OneToOneField(
        Turn, null=True, blank=True, on_delete=models.CASCADE, related_name="prompt"
    )
    # The final user message, for display and search.
    text = models.TextField()
    # [{"role": "user"|"assistant"|"system", "content": str}, ...] ending with the user turn.
    messages = models.JSONField(default=list, encoder=JSONEncoder)
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    language = language_field()
    metadata = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["campaign", "created_at"])]

    def __str__(self) -> str:
        return self.text[:60]


class Response(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="responses")
    text = models.TextField()
    # Where it came from: "import:hh-rlhf:chosen", "demo", "model" ...
    source = models.CharField(max_length=80, blank=True, db_index=True)
    endpoint = models.ForeignKey(
        "modelserve.ModelEndpoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    policy_version = models.ForeignKey(
        "modelserve.PolicyVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    # Sampling parameters exactly as used (temperature, top_p, max_new_tokens, seed...).
    generation_params = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    sample_index = models.PositiveSmallIntegerField(default=0)
    language = language_field()
    n_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def model_label(self) -> str:
        """Name for admins and analytics (never shown to annotators)."""
        if self.policy_version_id:
            return f"policy:{self.policy_version_id}"
        if self.endpoint_id:
            return f"endpoint:{self.endpoint_id}"
        return self.source or "unknown"
