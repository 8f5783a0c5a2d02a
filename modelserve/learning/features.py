"""Keep the reward model's text features computed as labels arrive.

Encoding is the slow part of a reward refit on CPU: the frozen MiniLM encoder does ~70
texts/s on 2 cores, so a refit that met 10,000 new pairs cold would spend ~5 minutes
encoding and ~1 s fitting. A debounced task on the "train" queue encodes the labelled
texts soon after they arrive, into the same on-disk cache the refit reads, so a scheduled
refit only fits the head. The cost moves to ingestion, spread over the study; the refit
itself stays well under a minute.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from annotate.models import Campaign
from annotate.tasks_util import enqueue
from modelserve.learning.scheduling import refit_config
from modelserve.learning.snapshots import training_records
from modelserve.training.data import build_dataset

logger = logging.getLogger(__name__)

# Labels arriving within this window are encoded together, in one task.
DEBOUNCE_S = 60
# Celery task name (see modelserve.learning.tasks); enqueued by name, not imported.
TRAIN_FEATURES_WARM = "modelserve.tasks.train_features_warm"


def warm_flag_key(campaign_id: int) -> str:
    """The debounce flag: set while a warm-up of the campaign is scheduled."""
    return f"chorus:features-warm:{campaign_id}"


def feature_cache_dir() -> Path:
    """The on-disk, content-addressed cache of encoded texts (shared by every refit)."""
    return Path(settings.CHORUS_MODEL_DIR) / "feature-cache"


def reward_features_warm(*, campaign: Campaign) -> int:
    """Encode every training text of the campaign not yet cached. Returns how many were.

    Safe to run twice or alongside a refit: the cache is content-addressed and append-only.
    """
    # Heavy, optional: torch and transformers, loaded only in the worker that encodes.
    from modelserve.training.features import TextEncoder
    from modelserve.training.reward import RewardConfig, pair_features

    cfg = refit_config(campaign)
    records = training_records(
        campaign=campaign,
        group_by=cfg["group_by"],
        include_reference=bool(cfg["include_reference_labels"]),
    )
    ds = build_dataset(
        records, val_fraction=float(cfg["val_fraction"]), seed=int(cfg["split_seed"])
    )
    pairs = [*ds.train_pairs, *ds.val_pairs]
    if not pairs:
        return 0
    rcfg = RewardConfig.from_dict(cfg.get("reward"))
    encoder = TextEncoder(
        rcfg.encoder,
        max_length=rcfg.max_length,
        batch_size=rcfg.encode_batch_size,
        cache_dir=feature_cache_dir(),
    )
    pair_features(encoder, pairs, rcfg.length_feature)
    return encoder.n_encoded


def reward_features_warm_request(*, campaign: Campaign) -> bool:
    """Schedule a warm-up of this campaign's features (debounced). Cheap; never raises.

    Only campaigns with scheduled reward refits are warmed (Campaign.config["refit"]).
    """
    refit = campaign.config.get("refit") if isinstance(campaign.config, dict) else None
    if not isinstance(refit, dict) or not refit.get("enabled"):
        return False
    if "reward" not in refit.get("kinds", ["reward"]):
        return False
    try:
        added = cache.add(warm_flag_key(campaign.pk), 1, timeout=DEBOUNCE_S)
    except Exception:  # a cache outage costs at most an extra task
        logger.exception("feature warm-up debounce flag unavailable")
        added = True
    if not added:
        return False
    return enqueue(TRAIN_FEATURES_WARM, campaign.pk, _options={"countdown": DEBOUNCE_S}) is not None
