"""Promotion: gates, the atomic switch of what a campaign serves, and the generation pool.

Contract with generation: a promoted PolicyVersion's weights live in
``PolicyVersion.artifact_dir`` (Hugging Face format) and are served through a
``ModelEndpoint(backend="local", model=<artifact_dir>, policy_version=<pv>)`` attached to
the campaign (``ModelEndpoint.campaigns``); the previous refit policy leaves the pool unless
``keep_previous_policies``.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from annotate import events
from annotate.models import Campaign
from modelserve.generation.models import Backend, ModelEndpoint
from modelserve.generation.registry import engine_prepare_soon
from modelserve.learning.models import (
    CampaignServing,
    PolicyVersion,
    RewardModelVersion,
    VersionStatus,
)
from modelserve.learning.scheduling import refit_config


def gate_reasons(version: PolicyVersion | RewardModelVersion, gates: dict[str, Any]) -> list[str]:
    """Why a version may not serve (empty: it may)."""
    m, reasons = version.metrics, []
    if isinstance(version, RewardModelVersion):
        acc = m.get("val_accuracy")
        floor = gates.get("reward_min_val_accuracy")
        if acc is None:  # no validation pairs (stored as None, never NaN)
            reasons.append("no validation accuracy")
        elif floor is not None and acc < floor:
            reasons.append(f"validation accuracy {acc:.3f} < {floor}")
        old = m.get("val_accuracy_serving")
        drop = gates.get("reward_max_accuracy_drop")
        if acc is not None and old is not None and drop is not None and acc < old - drop:
            reasons.append(f"validation accuracy {acc:.3f} below serving model's {old:.3f}")
    else:
        new, ref = m.get("val_ranking_accuracy"), m.get("val_ranking_accuracy_reference")
        drop = gates.get("dpo_max_ranking_accuracy_drop")
        if new is not None and ref is not None and drop is not None and new < ref - drop:
            reasons.append(f"ranking accuracy {new:.3f} below the reference's {ref:.3f}")
        kl, max_kl = m.get("kl_to_reference"), gates.get("dpo_max_kl")
        if kl is not None and max_kl is not None and kl > max_kl:
            reasons.append(f"KL to reference {kl:.3f} > {max_kl}")
    return reasons


def version_promote_if_gated(
    *, version: PolicyVersion | RewardModelVersion, gates: dict[str, Any]
) -> tuple[bool, list[str]]:
    reasons = gate_reasons(version, gates)
    if reasons:
        type(version).objects.filter(pk=version.pk).update(status=VersionStatus.REJECTED)
        return False, reasons
    version_promote(version=version)
    return True, []


@transaction.atomic
def version_promote(*, version: PolicyVersion | RewardModelVersion) -> CampaignServing:
    """Make ``version`` what its campaign serves: one locked row update, plus (for a
    policy) a local endpoint in the campaign's generation pool. Locks CampaignServing."""
    campaign = version.campaign
    assert campaign is not None
    CampaignServing.objects.get_or_create(campaign=campaign)
    serving = CampaignServing.objects.select_for_update().get(campaign=campaign)
    field = "reward_model" if isinstance(version, RewardModelVersion) else "policy"
    previous = getattr(serving, field)
    setattr(serving, field, version)
    serving.save(update_fields=[field, "updated_at"])
    if previous is not None and previous.pk != version.pk:
        type(previous).objects.filter(pk=previous.pk).update(status=VersionStatus.RETIRED)
    type(version).objects.filter(pk=version.pk).update(status=VersionStatus.SERVING)
    if isinstance(version, PolicyVersion):
        _policy_join_pool(campaign, version, previous)
    events.send_on_commit(
        events.version_promoted,
        campaign_id=campaign.pk,
        kind="reward" if field == "reward_model" else "dpo",
        version_id=version.pk,
    )
    return serving


def _policy_join_pool(
    campaign: Campaign, version: PolicyVersion, previous: PolicyVersion | None
) -> None:
    endpoint_for_policy(policy_version=version, campaign=campaign)
    if previous is not None and not refit_config(campaign)["keep_previous_policies"]:
        for old in ModelEndpoint.objects.filter(policy_version=previous):
            old.campaigns.remove(campaign)


@transaction.atomic
def endpoint_for_policy(
    *,
    policy_version: PolicyVersion,
    campaign: Campaign | None = None,
    params: dict[str, Any] | None = None,
) -> ModelEndpoint:
    """Serve a policy version: a local endpoint over its Hugging Face folder (idempotent),
    added to ``campaign``'s pool, and its CTranslate2 copy prepared on a generate worker
    after commit (the first annotator's turn then finds it converted and loaded).

    The contract with generation: ``PolicyVersion.artifact_dir`` holds the weights and
    tokenizer in Hugging Face format; the local backend loads it once per worker.
    """
    if not policy_version.artifact_dir:
        raise ValueError("the policy version has no artifact_dir")
    owner = policy_version.campaign
    name = (
        f"{owner.slug} policy v{policy_version.version}"
        if owner is not None
        else f"policy v{policy_version.version} #{policy_version.pk}"
    )
    endpoint, _ = ModelEndpoint.objects.get_or_create(
        policy_version=policy_version,
        defaults={
            "name": name[:120],
            "backend": Backend.LOCAL,
            "model": policy_version.artifact_dir,
            "anon_label": f"Model {secrets.token_hex(2).upper()}",
            "params": params or {},
        },
    )
    if campaign is not None:
        endpoint.campaigns.add(campaign)
    engine_prepare_soon(model=policy_version.artifact_dir)
    return endpoint
