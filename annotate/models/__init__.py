from .campaign import Campaign, CampaignGrant, GuidelineVersion
from .choices import (
    AssignmentStatus,
    CampaignStatus,
    ItemStatus,
    RatingScale,
    Role,
    TaskType,
)
from .content import Conversation, Prompt, Response, Turn
from .profile import Annotator, Consent, ProfileVersion
from .work import Annotation, Assignment, Item, ItemResponse

__all__ = [
    "Annotation",
    "Annotator",
    "Assignment",
    "AssignmentStatus",
    "Campaign",
    "CampaignGrant",
    "CampaignStatus",
    "Consent",
    "Conversation",
    "GuidelineVersion",
    "Item",
    "ItemResponse",
    "ItemStatus",
    "ProfileVersion",
    "Prompt",
    "RatingScale",
    "Response",
    "Role",
    "TaskType",
    "Turn",
]
