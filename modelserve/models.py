"""The app's models module, which Django imports to register them: generation's and
learning's models, defined in their packages, all under the ``modelserve`` app label (so
tables and migrations are unchanged). Import them from their packages in new code."""

from modelserve.generation.models import (
    Backend,
    GenerationPurpose,
    GenerationRequest,
    GenerationStatus,
    ModelEndpoint,
)
from modelserve.learning.models import (
    CampaignServing,
    PolicyVersion,
    RewardModelVersion,
    RunKind,
    RunStatus,
    TrainingRun,
    VersionStatus,
)

__all__ = [
    "Backend",
    "CampaignServing",
    "GenerationPurpose",
    "GenerationRequest",
    "GenerationStatus",
    "ModelEndpoint",
    "PolicyVersion",
    "RewardModelVersion",
    "RunKind",
    "RunStatus",
    "TrainingRun",
    "VersionStatus",
]
