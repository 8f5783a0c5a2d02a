"""The plain-array picture of one campaign's labels that every analytics function reads.

``annotate.selectors.analytics.campaign_analytics_data`` builds it from the database; the
benchmark and tests build it directly. Codes are dense 0-based integers; names for codes
live in the lists beside them. Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

TASK_TYPES = ["pairwise", "ranking", "rating", "edit", "critique", "conversation", "bws"]


def _i(n: int = 0) -> IntArray:
    return np.zeros(n, dtype=np.int64)


def _f(n: int = 0) -> FloatArray:
    return np.zeros(n, dtype=np.float64)


@dataclass
class CampaignData:
    # --- annotators (code = position) ---
    annotator_names: list[str] = field(default_factory=list)  # pseudonyms
    annotator_paused: list[bool] = field(default_factory=list)
    # Demographic field -> (group code per annotator, -1 = unknown; group names).
    annotator_groups: dict[str, tuple[IntArray, list[str]]] = field(default_factory=dict)

    # --- labels: one entry per annotation ---
    label_id: IntArray = field(default_factory=_i)  # Annotation pk
    label_annotator: IntArray = field(default_factory=_i)
    label_item: IntArray = field(default_factory=_i)  # Item pk
    label_task: IntArray = field(default_factory=_i)  # index into TASK_TYPES
    label_time_ms: FloatArray = field(default_factory=_f)  # NaN when unknown
    label_created: FloatArray = field(default_factory=_f)  # epoch seconds
    label_gold: IntArray = field(default_factory=_i)  # -1 not gold, 0 wrong, 1 right
    label_attention: IntArray = field(default_factory=_i)  # -1 not a check, 0 failed, 1 passed
    # The item's language per label (index into language_names; BCP 47 tags, "und" when
    # the data declared none): annotate.analytics.languages splits every figure by it.
    label_language: IntArray = field(default_factory=_i)
    language_names: list[str] = field(default_factory=list)
    # Demographic field -> group code per label from the profile version in force then.
    label_groups: dict[str, tuple[IntArray, list[str]]] = field(default_factory=dict)

    # --- responses (code = position) ---
    response_id: IntArray = field(default_factory=_i)  # Response pk
    # Code of the first response with the same prompt and the same text: the study
    # matches responses by text, so two rows with one text are one response to analytics.
    response_canonical: IntArray = field(default_factory=_i)
    response_model: IntArray = field(default_factory=_i)  # index into model_names
    model_names: list[str] = field(default_factory=list)

    # --- pairwise labels: one entry per pairwise annotation ---
    pw_label: IntArray = field(default_factory=_i)  # index into the label arrays
    pw_a: IntArray = field(default_factory=_i)  # response code shown as A
    pw_b: IntArray = field(default_factory=_i)
    pw_outcome: IntArray = field(default_factory=_i)  # +1 A, 0 tie, -1 B
    pw_strength: FloatArray = field(default_factory=_f)  # -3..3, negative favours A; NaN

    # --- ranking labels: one entry per ranked response ---
    rk_label: IntArray = field(default_factory=_i)
    rk_response: IntArray = field(default_factory=_i)
    rk_rank: FloatArray = field(default_factory=_f)  # mid-rank, 1 = best
    rk_position: IntArray = field(default_factory=_i)  # position shown (0 = first)

    # --- best-worst labels: one entry per shown response ---
    bw_label: IntArray = field(default_factory=_i)
    bw_response: IntArray = field(default_factory=_i)
    bw_value: IntArray = field(default_factory=_i)  # +1 best, -1 worst, 0 neither

    # --- ratings: one entry per (annotation, response, attribute) ---
    rt_label: IntArray = field(default_factory=_i)
    rt_response: IntArray = field(default_factory=_i)
    rt_attribute: IntArray = field(default_factory=_i)  # index into attributes
    rt_value: FloatArray = field(default_factory=_f)
    attributes: list[str] = field(default_factory=list)
    overall_attribute: str = "helpfulness"
    rating_range: tuple[int, int] = (1, 7)

    # Counts the database answers cheaply (items by task type and state, active leases).
    progress: dict[str, Any] = field(default_factory=dict)
    campaign: dict[str, Any] = field(default_factory=dict)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_names)

    @property
    def n_responses(self) -> int:
        return len(self.response_id)
