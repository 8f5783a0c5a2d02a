"""Wire the simulated crowd (annotate.simulation, no Django) to campaigns in the database.

- ``simulation_campaign_create``: a synthetic campaign whose responses come from M
  simulated models (``Response.source`` = "sim-model-<k>", which analytics reads as the
  model name): for every prompt one rating item showing all M responses and one
  pairwise item per pair of models over the same response rows, so each person both
  rates and compares the same responses (what ratings-vs-rankings consistency needs);
- ``simulation_lookup``: response id -> latent response for the simulated judges;
- ``simulation_compare``: the campaign's analytics (annotate.analytics via the selector)
  next to the simulated truth: model ranking and within-annotator consistency, with the
  sampling error of the latter.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from django.db import transaction

from annotate.analytics.report import ReportOptions, campaign_report
from annotate.models import Campaign, Response, TaskType
from annotate.selectors.analytics import campaign_analytics_data
from annotate.simulation.driver import Label
from annotate.simulation.model import (
    CrowdConfig,
    Person,
    SimResponse,
    expected_agreement,
    expected_consistency,
    make_response,
    replicate_figures,
    true_model_order,
)

from .campaigns import campaign_create
from .items import ItemSpec, ResponseSpec, item_create_for_responses, items_add

SOURCE_PREFIX = "sim-model-"


@transaction.atomic
def simulation_campaign_create(
    *,
    slug: str,
    n_models: int = 4,
    n_prompts: int = 10,
    overlap: int = 3,
    lease_seconds: int = 900,
) -> Campaign:
    campaign = campaign_create(
        slug=slug,
        name=f"Simulated study {slug}",
        overlap=overlap,
        lease_seconds=lease_seconds,
        status="open",
        task_mix={TaskType.PAIRWISE: 1.0, TaskType.RATING: 1.0},
        guidelines="Prefer the response that is more helpful, honest and harmless.",
    )
    # The rating item creates the prompt and its M responses; the pairwise items reuse
    # those rows, so analytics sees the same responses rated and compared.
    carriers = items_add(
        campaign=campaign,
        specs=[_spec(slug, p, TaskType.RATING, list(range(n_models))) for p in range(n_prompts)],
    )
    for carrier in carriers:
        assert carrier.prompt is not None  # items_add always makes the prompt
        responses = [ir.response for ir in carrier.item_responses.select_related("response")]
        for i, j in itertools.combinations(range(n_models), 2):
            item_create_for_responses(
                campaign=campaign,
                task_type=TaskType.PAIRWISE,
                prompt=carrier.prompt,
                responses=[responses[i], responses[j]],
            )
    return campaign


def _spec(slug: str, p: int, task_type: str, models: list[int]) -> ItemSpec:
    """One item of prompt ``p``; response texts are unique per (prompt, model)."""
    return ItemSpec(
        task_type=task_type,
        messages=[{"role": "user", "content": f"[{slug}] Question {p}: how do tides work?"}],
        responses=[
            ResponseSpec(
                text=f"[{slug}] Prompt {p}, model {k}: the moon's pull raises the sea.",
                source=f"{SOURCE_PREFIX}{k}",
            )
            for k in models
        ],
        source="simulation",
        external_id=f"{slug}-{p}-{task_type}-{'-'.join(map(str, models))}",
    )


def _model_index(source: str, names: list[str]) -> int:
    if source.startswith(SOURCE_PREFIX):
        try:
            return int(source[len(SOURCE_PREFIX) :])
        except ValueError:
            return -1
    return names.index(source) if source in names else -1


def simulation_lookup(*, campaign: Campaign, config: CrowdConfig) -> dict[int, SimResponse]:
    """Every response of the campaign's items as the simulated judges see it.

    Simulated models are read from ``source``; other responses (imports, live models)
    get a model index by their endpoint/source name in sorted order.
    """
    rows = list(
        Response.objects.filter(items__campaign=campaign)
        .distinct()
        .values_list("id", "source", "endpoint__name")
    )
    names = sorted({(e or s) for _, s, e in rows if not (s or "").startswith(SOURCE_PREFIX)})
    return {rid: make_response(config, rid, _model_index(e or s, names)) for rid, s, e in rows}


def simulation_truth(
    *, config: CrowdConfig, people: list[Person], labels: list[Label], lookup: dict[int, Any]
) -> dict[str, Any]:
    """Expected within-annotator consistency of exactly the (person, pair) cases labelled.

    A case counts when a person judged a pair and also rated both of its responses, the
    rule annotate.analytics.consistency.within_annotator applies.
    """
    by_index = {p.index: p for p in people}
    rated: dict[int, set[int]] = {}
    judged: dict[int, set[tuple[int, int]]] = {}
    for label in labels:
        if label.task_type == "rating":
            rated.setdefault(label.person, set()).update(int(k) for k in label.answer)
        elif label.task_type == "pairwise":
            a, b = label.response_ids
            judged.setdefault(label.person, set()).add((a, b))
    probs = []
    for person_index, pairs in judged.items():
        mine = rated.get(person_index, set())
        person = by_index[person_index]
        for a, b in pairs:
            if a in mine and b in mine:
                probs.append(expected_consistency(config, person, lookup[a], lookup[b]))
    # Pairwise percent agreement, as annotate.analytics.agreement defines it: per item the
    # share of agreeing rater pairs (here: its expectation), averaged over items with >= 2.
    raters: dict[frozenset[int], list[tuple[int, int, int]]] = {}
    for label in labels:
        if label.task_type == "pairwise":
            a, b = label.response_ids
            raters.setdefault(frozenset((a, b)), []).append((label.person, min(a, b), max(a, b)))
    per_item = []
    for judged_by in raters.values():
        chances = [
            expected_agreement(config, by_index[p], by_index[q], lookup[a], lookup[b])
            for i, (p, a, b) in enumerate(judged_by)
            for (q, _, _) in judged_by[i + 1 :]
        ]
        if chances:
            per_item.append(sum(chances) / len(chances))
    n = len(probs)
    mean = sum(probs) / n if n else float("nan")
    # Sampling spread of both figures by re-drawing the same labelling from the model.
    reps = replicate_figures(
        config,
        by_index,
        {p: [lookup[r] for r in rs] for p, rs in rated.items()},
        {p: [(lookup[a], lookup[b]) for a, b in pairs] for p, pairs in judged.items()},
    )
    se = float(np.nanstd(reps["consistency"])) if n else float("nan")
    return {
        "n_pairs": n,
        "consistency": mean,
        "consistency_se": se,
        "pairwise_agreement": sum(per_item) / len(per_item) if per_item else float("nan"),
        "agreement_se": float(np.nanstd(reps["agreement"])),
        "model_order": [f"{SOURCE_PREFIX}{k}" for k in true_model_order(config, people)],
    }


def simulation_compare(
    *,
    campaign: Campaign,
    config: CrowdConfig,
    people: list[Person],
    labels: list[Label],
    lookup: dict[int, Any],
) -> dict[str, Any]:
    """Analytics recovered from the database next to the simulated truth."""
    data = campaign_analytics_data(campaign=campaign)
    report = campaign_report(data, ReportOptions(n_boot=100))
    truth = simulation_truth(config=config, people=people, labels=labels, lookup=lookup)
    within = report["consistency"]["within_annotator"]
    agreement = report["agreement"].get("pairwise", {}).get("percent_agreement", {})
    board = report["leaderboard"]["overall"]
    return {
        "n_labels": report["n_labels"],
        "measured_consistency": within["rate"],
        "measured_pairs": within["n_pairs"],
        "true_consistency": truth["consistency"],
        "true_pairs": truth["n_pairs"],
        "consistency_se": truth["consistency_se"],
        "measured_agreement": agreement.get("value"),
        "measured_agreement_ci": agreement.get("ci"),
        "true_agreement": truth["pairwise_agreement"],
        "agreement_se": truth["agreement_se"],
        "measured_order": [row["model"] for row in board],
        "true_order": truth["model_order"],
        "leaderboard": board,
    }
