"""Enumerations shared by models, payload validation, forms and exports."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskType(models.TextChoices):
    PAIRWISE = "pairwise", "Pairwise comparison"
    RANKING = "ranking", "Ranking"
    RATING = "rating", "Rating"
    EDIT = "edit", "Edit"
    CRITIQUE = "critique", "Critique"
    CONVERSATION = "conversation", "Live conversation"
    BWS = "bws", "Best-worst scaling"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed"


class RatingScale(models.TextChoices):
    LIKERT7 = "likert7", "Likert 1-7"
    SLIDER100 = "slider100", "Slider 1-100"


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", "Active (leased)"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Lease expired"


class ItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    RETIRED = "retired", "Retired"


class Role(models.TextChoices):
    # Shown to annotators (the earlier turns of a conversation): translated.
    USER = "user", _("User")
    ASSISTANT = "assistant", _("Assistant")
    SYSTEM = "system", _("System")


# Attributes a rating task may ask about; a campaign picks a subset and one "overall".
DEFAULT_RATING_ATTRIBUTES = ["helpfulness"]
KNOWN_RATING_ATTRIBUTES = [
    "overall",
    "helpfulness",
    "correctness",
    "factuality",
    "coherence",
    "verbosity",
    "safety",
    "creativity",
    "fluency",
    "values",
    "diversity",
]
DEFAULT_CRITIQUE_CATEGORIES = ["factual error", "unsafe", "unhelpful", "style", "other"]


class ItemRoute(models.TextChoices):
    """Who labels an item when the campaign routes (annotate.services.routing)."""

    UNROUTED = "", "Not routed"
    HUMAN = "human", "People"
    AI = "ai", "AI judge"
