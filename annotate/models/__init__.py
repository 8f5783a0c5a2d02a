from .analytics import AnalyticsSnapshot
from .audit import AuditEvent, LoginThrottle
from .campaign import Campaign, CampaignGrant, GuidelineVersion
from .choices import (
    AssignmentStatus,
    CampaignStatus,
    ItemRoute,
    ItemStatus,
    RatingScale,
    Role,
    TaskType,
)
from .content import Conversation, Prompt, Response, Turn
from .exports import Export, ExportStatus
from .judges import (
    JUDGE_TASK_TYPES,
    InconsistentPolicy,
    Judge,
    JudgePrompt,
    Judgment,
    JudgmentOrder,
)
from .onboarding import CampaignAdmission
from .profile import Annotator, Consent, ProfileVersion
from .routing import RoutedItem, RoutingPlan
from .webhooks import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from .work import Annotation, AnnotationSource, Assignment, Item, ItemResponse

__all__ = [
    "JUDGE_TASK_TYPES",
    "AnalyticsSnapshot",
    "Annotation",
    "AnnotationSource",
    "Annotator",
    "Assignment",
    "AssignmentStatus",
    "AuditEvent",
    "Campaign",
    "CampaignAdmission",
    "CampaignGrant",
    "CampaignStatus",
    "Consent",
    "Conversation",
    "DeliveryStatus",
    "Export",
    "ExportStatus",
    "GuidelineVersion",
    "InconsistentPolicy",
    "Item",
    "ItemResponse",
    "ItemRoute",
    "ItemStatus",
    "Judge",
    "JudgePrompt",
    "Judgment",
    "JudgmentOrder",
    "LoginThrottle",
    "ProfileVersion",
    "Prompt",
    "RatingScale",
    "Response",
    "Role",
    "RoutedItem",
    "RoutingPlan",
    "TaskType",
    "Turn",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
]
