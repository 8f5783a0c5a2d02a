"""Promotion: gates, the atomic switch of what a campaign serves, the generation pool,
and active sampling from the serving reward model.

Contract with generation: a promoted PolicyVersion's weights live in
``PolicyVersion.artifact_dir`` (Hugging Face format) and are served through a
``ModelEndpoint(backend="local", model=<artifact_dir>, policy_version=<pv>)`` attached to
the campaign (``ModelEndpoint.campaigns``); the previous refit policy leaves the pool unless
``keep_previous_policies``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from annotate import events
from annotate.models import Campaign
from modelserve.models import (
    Backend,
    CampaignServing,
    ModelEndpoint,
    PolicyVersion,
    RewardModelVersion,
    VersionStatus,
)
from modelserve.scheduling import refit_config


def _serving(campaign: Campaign) -> CampaignServing | None:
    return (
        CampaignServing.objects.filter(campaign=campaign)
        .select_related("policy", "reward_model")
        .first()
    )


def _feature_cache() -> Path:
    return Path(settings.CHORUS_MODEL_DIR) / "feature-cache"


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
    endpoint, _ = ModelEndpoint.objects.get_or_create(
        policy_version=version,
        defaults={
            "name": f"{campaign.slug} policy v{version.version}"[:120],
            "backend": Backend.LOCAL,
            "model": version.artifact_dir,
            "anon_label": f"Model {secrets.token_hex(2).upper()}",
        },
    )
    endpoint.campaigns.add(campaign)
    _policy_prepare_engine(version)
    if previous is not None and not refit_config(campaign)["keep_previous_policies"]:
        for old in ModelEndpoint.objects.filter(policy_version=previous):
            old.campaigns.remove(campaign)


def _policy_prepare_engine(version: PolicyVersion) -> None:
    """Convert the new policy for CTranslate2 on a generate worker, after commit.

    The copy lands in ``<artifact_dir>/ct2-int8/``, so it is versioned with the policy;
    the first annotator's turn then finds it ready (and the weights loaded).
    """
    from django.db import transaction

    from annotate.tasks_util import enqueue
    from modelserve.tasks import generate_prepare_engine

    folder = version.artifact_dir
    if folder:
        transaction.on_commit(lambda: enqueue(generate_prepare_engine, folder))


def items_prioritise_by_uncertainty(*, campaign: Campaign, limit: int = 5000) -> int:
    """Active sampling: priority = 1 - |2p - 1| for open two-response items, p the serving
    reward model's P(first preferred); the least certain pairs are served first."""
    from annotate.models import Item, ItemResponse, ItemStatus
    from modelserve.training.data import prompt_text
    from modelserve.training.reward import RewardScorer

    serving = _serving(campaign)
    if not serving or not serving.reward_model:
        return 0
    scorer = RewardScorer(Path(serving.reward_model.artifact_dir), cache_dir=_feature_cache())
    items = list(
        Item.objects.filter(
            campaign=campaign,
            status=ItemStatus.OPEN,
            task_type="pairwise",
            is_gold=False,
            is_attention_check=False,
        ).values_list("pk", "prompt__messages")[:limit]
    )
    texts: dict[int, list[str]] = {}
    for item_id, text in (
        ItemResponse.objects.filter(item_id__in=[i for i, _ in items])
        .order_by("position")
        .values_list("item_id", "response__text")
    ):
        texts.setdefault(item_id, []).append(text)
    keep = [(i, prompt_text(m or [])) for i, m in items if len(texts.get(i, [])) == 2]
    if not keep:
        return 0
    prompts = [p for _, p in keep]
    a = scorer.score(prompts, [texts[i][0] for i, _ in keep])
    b = scorer.score(prompts, [texts[i][1] for i, _ in keep])
    import numpy as np

    p = 1.0 / (1.0 + np.exp(-(a - b)))
    objs = [
        Item(pk=i, priority=float(1 - abs(2 * q - 1))) for (i, _), q in zip(keep, p, strict=True)
    ]
    Item.objects.bulk_update(objs, ["priority"], batch_size=1000)
    return len(objs)
