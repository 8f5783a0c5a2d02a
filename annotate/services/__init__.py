"""Writes. Views, API classes, admin actions and tasks call these, nothing else writes."""

from .annotators import annotator_get_or_create, profile_version_create
from .assignments import (
    annotation_submit,
    assignment_next,
    assignment_next_with_quality,
    assignment_skip,
    assignments_expire_stale,
    item_retire,
)
from .campaigns import campaign_create, campaign_set_status, guideline_publish
from .errors import (
    AlreadyFinished,
    AnnotatorPaused,
    CampaignNotOpen,
    LeaseExpired,
    NotFound,
    ServiceError,
)
from .items import (
    ItemSpec,
    ItemSpecError,
    ResponseSpec,
    conversation_items_add,
    item_create_for_responses,
    items_add,
)

__all__ = [
    "AlreadyFinished",
    "AnnotatorPaused",
    "CampaignNotOpen",
    "ItemSpec",
    "ItemSpecError",
    "LeaseExpired",
    "NotFound",
    "ResponseSpec",
    "ServiceError",
    "annotation_submit",
    "annotator_get_or_create",
    "assignment_next",
    "assignment_next_with_quality",
    "assignment_skip",
    "assignments_expire_stale",
    "campaign_create",
    "campaign_set_status",
    "conversation_items_add",
    "guideline_publish",
    "item_create_for_responses",
    "item_retire",
    "items_add",
    "profile_version_create",
]
