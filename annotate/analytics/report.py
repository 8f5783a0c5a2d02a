"""Every campaign figure in one JSON-ready document, computed from ``CampaignData``.

The keys of the document (also what ``manage.py analytics --json`` prints and what the
dashboard reads from the snapshot) are documented in ``annotate/analytics/README.md``.
Figures with intervals are ``{"value": x, "ci": [low, high], "n": ...}``; intervals are
95% percentile bootstraps over items (agreement), over compared pairs (consistency) or
over battles (leaderboard).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import agreement as ag
from . import consistency as cons
from .bradley_terry import fit_battles, leaderboard, prepare_battles
from .bws import bws_section
from .data import TASK_TYPES, CampaignData, FloatArray, IntArray
from .languages import by_language
from .quality_report import annotator_table, demographics, progress
from .resample import expanded_percentile_interval

PAIRWISE, RANKING, RATING = (TASK_TYPES.index(t) for t in ("pairwise", "ranking", "rating"))


@dataclass(frozen=True)
class ReportOptions:
    n_boot: int = 200
    seed: int = 0
    group_fields: tuple[str, ...] = ("age_band", "gender", "residence_country")
    quotas: dict[str, Any] = field(default_factory=dict)
    max_cases: int = 500
    min_pair_items: int = 5  # annotator pairs sharing fewer items are left out of kappa lists
    max_kappa_pairs: int = 200


def _fig(value: float, boots: FloatArray | None = None, n: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _num(value)}
    if boots is not None:
        out["ci"] = [_num(x) for x in ag.percentile_interval(boots)]
    if n is not None:
        out["n"] = int(n)
    return out


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, 6) if np.isfinite(x) else None


def label_order(d: CampaignData) -> FloatArray:
    """Rank of each label in time (created, then id): 'first' means lowest."""
    order = np.lexsort((d.label_id, d.label_created))
    rank = np.empty(len(order), dtype=np.float64)
    rank[order] = np.arange(len(order))
    return rank


# --- pairs implied by pairwise and ranking labels -------------------------------------


@dataclass
class Pairs:
    label: IntArray  # index into label arrays
    a: IntArray  # response codes, a shown before b
    b: IntArray
    outcome: IntArray  # +1 a preferred, 0 tie, -1 b preferred


def implied_pairs(d: CampaignData) -> Pairs:
    """Pairwise labels plus every pair each ranking implies (oriented by shown position)."""
    i, j = ag.unit_pairs(d.rk_label)
    swap = d.rk_position[i] > d.rk_position[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    ri, rj = d.rk_rank[i], d.rk_rank[j]
    rk_outcome = np.where(ri < rj, 1, np.where(ri > rj, -1, 0)).astype(np.int64)
    return Pairs(
        label=np.r_[d.pw_label, d.rk_label[i]].astype(np.int64),
        a=np.r_[d.pw_a, d.rk_response[i]].astype(np.int64),
        b=np.r_[d.pw_b, d.rk_response[j]].astype(np.int64),
        outcome=np.r_[d.pw_outcome, rk_outcome].astype(np.int64),
    )


# --- agreement ------------------------------------------------------------------------


def _nominal_block(
    units: IntArray,
    coders: IntArray,
    cats: IntArray,
    k: int,
    opts: ReportOptions,
    names: list[str],
    with_kappa: bool = True,
) -> dict[str, Any]:
    counts = ag.category_counts(units, cats, k)
    agree, pairs = ag.unit_pair_agreement(counts)
    ok = pairs > 0
    per_unit = agree[ok] / pairs[ok]
    # The category counts of pairable units are alpha's sufficient statistic; categories
    # nobody used are all-zero columns, which nominal alpha ignores.
    data = ag.AlphaData(counts[ok], np.arange(k, dtype=np.float64), "nominal")
    out: dict[str, Any] = {
        "n_items": int(ok.sum()),
        "n_labels": len(units),
        "alpha_nominal": _fig(
            ag.alpha_from_data(data), ag.bootstrap_alpha(data, opts.n_boot, opts.seed)
        ),
        "fleiss_kappa": _fig(
            ag.fleiss_kappa(counts), ag.bootstrap_fleiss(counts, opts.n_boot, opts.seed)
        ),
        "percent_agreement": _fig(
            float(per_unit.mean()) if len(per_unit) else float("nan"),
            ag.bootstrap_unit_mean(per_unit, opts.n_boot, opts.seed),
        ),
    }
    if with_kappa:
        out["cohen_kappa"] = _kappa_block(units, coders, cats, k, opts, names)
    return out


def _kappa_block(
    units: IntArray,
    coders: IntArray,
    cats: IntArray,
    k: int,
    opts: ReportOptions,
    names: list[str],
) -> dict[str, Any]:
    # One label per (unit, coder) holds by construction: an annotator gets an item once
    # (the assignment constraint) and rates each of its responses once per payload.
    pk = ag.cohen_kappa_pairs(units, coders, cats, k)
    big = pk.n_items >= opts.min_pair_items
    out: dict[str, Any] = {
        "n_annotator_pairs": len(pk.n_items),
        "n_pairs_min_items": int(big.sum()),
        "min_items": opts.min_pair_items,
    }
    for name, arr in (("kappa", pk.kappa), ("kappa_quadratic", pk.kappa_quadratic)):
        vals, w = arr[big], pk.n_items[big].astype(np.float64)
        ok = np.isfinite(vals)
        out[name] = {
            "weighted_mean": _num(np.average(vals[ok], weights=w[ok])) if ok.any() else None,
            "median": _num(np.median(vals[ok])) if ok.any() else None,
            "quartiles": [_num(q) for q in np.percentile(vals[ok], [25, 75])]
            if ok.any()
            else [None, None],
        }
    top = np.flatnonzero(big)[np.argsort(-pk.n_items[big], kind="stable")][: opts.max_kappa_pairs]
    out["pairs"] = [
        {
            "a": names[pk.coder_a[i]],
            "b": names[pk.coder_b[i]],
            "n": int(pk.n_items[i]),
            "agreement": _num(pk.agreement[i]),
            "kappa": _num(pk.kappa[i]),
            "kappa_quadratic": _num(pk.kappa_quadratic[i]),
        }
        for i in top
    ]
    # Per annotator: mean kappa with every peer (weighted by shared items), for quality.
    n_ann = len(names)
    w = pk.n_items.astype(np.float64) * np.isfinite(pk.kappa)
    kv = np.nan_to_num(pk.kappa)
    num = np.bincount(pk.coder_a, weights=w * kv, minlength=n_ann) + np.bincount(
        pk.coder_b, weights=w * kv, minlength=n_ann
    )
    den = np.bincount(pk.coder_a, weights=w, minlength=n_ann) + np.bincount(
        pk.coder_b, weights=w, minlength=n_ann
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["_per_annotator"] = np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)
    return out


def agreement_section(d: CampaignData, opts: ReportOptions) -> dict[str, Any]:
    ann = d.label_annotator
    out: dict[str, Any] = {}
    if len(d.pw_label):
        lo_first = d.pw_a <= d.pw_b
        oriented = np.where(lo_first, d.pw_outcome, -d.pw_outcome)
        cats = (1 - oriented).astype(np.int64)  # 0 first response better, 1 tie, 2 second
        units = d.label_item[d.pw_label]
        block = _nominal_block(units, ann[d.pw_label], cats, 3, opts, d.annotator_names)
        # A/tie/B is ordered (tie lies between): ordinal alpha counts A vs B as a bigger
        # disagreement than A vs tie, which nominal alpha cannot.
        counts = ag.category_counts(units, cats, 3)
        odata = ag.AlphaData(counts[counts.sum(axis=1) >= 2], np.arange(3.0), "ordinal")
        block["alpha_ordinal"] = _fig(
            ag.alpha_from_data(odata), ag.bootstrap_alpha(odata, opts.n_boot, opts.seed)
        )
        strength = np.where(lo_first, d.pw_strength, -d.pw_strength)
        if np.isfinite(strength).sum() >= 2:
            sdata = ag.alpha_data(units, strength, "interval")
            block["alpha_interval_strength"] = _fig(
                ag.alpha_from_data(sdata), ag.bootstrap_alpha(sdata, opts.n_boot, opts.seed)
            )
        out["pairwise"] = block
    if len(d.rt_label):
        low, high = d.rating_range
        rating: dict[str, Any] = {}
        for a_idx, attr in enumerate(d.attributes):
            sel = d.rt_attribute == a_idx
            if not sel.any():
                continue
            lab = d.rt_label[sel]
            units = ag._unit_codes(d.label_item[lab] * max(d.n_responses, 1) + d.rt_response[sel])
            vals = d.rt_value[sel]
            cats = np.clip(np.rint(vals - low), 0, high - low).astype(np.int64)
            # Cohen's kappa for every annotator pair on the overall attribute only: it is the
            # costliest figure, and per-attribute agreement is covered by alpha and Fleiss.
            block = _nominal_block(
                units,
                ann[lab],
                cats,
                high - low + 1,
                opts,
                d.annotator_names,
                with_kappa=attr == d.overall_attribute,
            )
            idata = ag.alpha_data(units, vals, "interval")
            block["alpha_interval"] = _fig(
                ag.alpha_from_data(idata), ag.bootstrap_alpha(idata, opts.n_boot, opts.seed)
            )
            for level in ("ordinal", "ratio"):
                block[f"alpha_{level}"] = _fig(
                    ag.alpha_from_data(ag.AlphaData(idata.counts, idata.domain, level))
                )
            rating[attr] = block
        out["rating"] = rating
    if len(d.rk_label):
        units = d.label_item[d.rk_label]
        _, w = ag.kendall_w_per_unit(units, ann[d.rk_label], d.rk_response, d.rk_rank)
        ru = units * max(d.n_responses, 1) + d.rk_response
        out["ranking"] = {
            "kendall_w": _fig(
                float(w.mean()) if len(w) else float("nan"),
                ag.bootstrap_unit_mean(w, opts.n_boot, opts.seed),
                len(w),
            ),
            "alpha_ordinal_ranks": _fig(ag.krippendorff_alpha(ru, d.rk_rank, "ordinal")),
        }
    return out


# --- consistency ------------------------------------------------------------------------


def _annotator_ci(annotator: IntArray, agree: FloatArray, opts: ReportOptions) -> dict[str, Any]:
    """Interval of a consistency rate resampling annotators (the population sampled)."""
    n_ann = len(np.unique(annotator))
    boots = cons.annotator_bootstrap_rate(annotator, agree, opts.n_boot, opts.seed)
    ci = expanded_percentile_interval(boots, n_ann)
    return {"ci": [_num(x) for x in ci], "n_annotators": n_ann}


def consistency_section(
    d: CampaignData, pairs: Pairs, order: FloatArray, opts: ReportOptions
) -> tuple[dict[str, Any], cons.ConsistencyResult]:
    canon = d.response_canonical
    j = cons.Judgments(
        annotator=d.label_annotator[pairs.label],
        a=canon[pairs.a],
        b=canon[pairs.b],
        outcome=pairs.outcome,
        order=order[pairs.label],
        label=pairs.label,
    )

    def ratings_for(attr_idx: int) -> cons.Ratings:
        sel = d.rt_attribute == attr_idx
        lab = d.rt_label[sel]
        return cons.Ratings(
            d.label_annotator[lab], canon[d.rt_response[sel]], d.rt_value[sel], order[lab], lab
        )

    overall = d.attributes.index(d.overall_attribute) if d.overall_attribute in d.attributes else 0
    r = ratings_for(overall)
    within = cons.within_annotator(j, r)
    across = cons.across_annotators(j, r)
    agree = (within.implied == within.judged).astype(np.float64)
    out: dict[str, Any] = {"attribute": d.overall_attribute}
    out["within_annotator"] = within.summary() | _annotator_ci(within.annotator, agree, opts)
    out["across_annotators"] = across.summary()
    n_ann = d.n_annotators
    ann_codes = np.arange(n_ann, dtype=np.int64)
    n, k = cons.grouped(within, ann_codes, n_ann)
    out["per_annotator"] = [
        {
            "annotator": d.annotator_names[i],
            "n_pairs": int(n[i]),
            "n_agree": int(k[i]),
            "rate": _num(k[i] / n[i]),
        }
        for i in np.flatnonzero(n)
    ]
    out["per_attribute"] = {
        attr: (within if ai == overall else cons.within_annotator(j, ratings_for(ai))).summary()
        for ai, attr in enumerate(d.attributes)
    }
    per_group: dict[str, list[dict[str, Any]]] = {}
    for fname in opts.group_fields:
        if fname not in d.annotator_groups:
            continue
        codes, names = d.annotator_groups[fname]
        gn, gk = cons.grouped(within, codes, len(names))
        per_group[fname] = [
            {
                "group": names[g],
                "n_pairs": int(gn[g]),
                "n_agree": int(gk[g]),
                "rate": _num(gk[g] / gn[g]),
            }
            | _annotator_ci(within.annotator[sel], agree[sel], opts)
            for g in np.flatnonzero(gn)
            for sel in [codes[within.annotator] == g]
        ]
    out["per_group"] = per_group
    bad = cons.inconsistent_cases(within)[: opts.max_cases]
    out["n_inconsistent"] = int(within.n_pairs - within.n_agree)
    out["cases"] = [
        {
            "label_id": int(d.label_id[within.label[i]]),
            "annotator": d.annotator_names[within.annotator[i]],
            "response_a": int(d.response_id[within.a[i]]),
            "response_b": int(d.response_id[within.b[i]]),
            "rating_a": _num(within.rating_a[i]),
            "rating_b": _num(within.rating_b[i]),
            "implied": cons.OUTCOME_NAMES[1 - within.implied[i]],
            "judgment": cons.OUTCOME_NAMES[1 - within.judged[i]],
        }
        for i in bad
    ]
    return out, within


# --- leaderboard ------------------------------------------------------------------------


def leaderboard_section(d: CampaignData, pairs: Pairs, opts: ReportOptions) -> dict[str, Any]:
    ma, mb = d.response_model[pairs.a], d.response_model[pairs.b]
    score = (pairs.outcome + 1) / 2.0  # +1 -> 1 (a wins), 0 -> 0.5, -1 -> 0
    m = len(d.model_names)
    out: dict[str, Any] = {"n_battles": int((ma != mb).sum()), "overall": []}
    if m < 2 or out["n_battles"] == 0:
        out["per_group"] = {}
        return out
    # A ranking's implied pairs are resampled together (cluster = the label); the battles
    # are prepared once for the overall fits (both tie models) and every group's.
    battles = prepare_battles(ma, mb, score, m, cluster=pairs.label)
    fits = fit_battles(battles, ties=("half", "davidson"), n_boot=opts.n_boot, seed=opts.seed)
    out["overall"] = leaderboard(fits["half"], d.model_names)
    out["n_resampled_labels"] = fits["half"].n_clusters
    dav = fits["davidson"]
    out["overall_davidson"] = leaderboard(dav, d.model_names)
    out["davidson_nu"] = {"value": _num(dav.nu), "ci": [_num(x) for x in dav.nu_ci]}
    per_group: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for fname in opts.group_fields:
        if fname not in d.label_groups:
            continue
        codes, names = d.label_groups[fname]
        g_of_pair = codes[pairs.label]
        per_group[fname] = {}
        for g in range(len(names)):
            sel = (g_of_pair == g) & (ma != mb)
            if not sel.any():
                continue
            gres = fit_battles(battles, subset=g_of_pair == g, n_boot=opts.n_boot, seed=opts.seed)
            per_group[fname][names[g]] = leaderboard(gres["half"], d.model_names)
    out["per_group"] = per_group
    return out


def campaign_report(d: CampaignData, opts: ReportOptions | None = None) -> dict[str, Any]:
    """Every figure, and under ``per_language`` the same figures (all but ``options``)
    for the labels of each item language (annotate.analytics.languages)."""
    opts = opts or ReportOptions()
    report = _figures(d, opts)
    subsets = by_language(d)
    if len(subsets) == 1:
        # One language: its figures are the campaign's (the same labels); only its
        # progress, which counts its own items, is computed again.
        ((language, subset),) = subsets.items()
        report["per_language"] = {language: {**report, "progress": progress(subset)}}
    else:
        report["per_language"] = {
            language: _figures(subset, opts) for language, subset in subsets.items()
        }
    report["options"] = {
        "n_boot": opts.n_boot,
        "seed": opts.seed,
        "group_fields": list(opts.group_fields),
    }
    return report


def _figures(d: CampaignData, opts: ReportOptions) -> dict[str, Any]:
    order = label_order(d)
    pairs = implied_pairs(d)
    agreement = agreement_section(d, opts)
    consistency, within = consistency_section(d, pairs, order, opts)
    kappa_per_annotator = None
    if "pairwise" in agreement:
        kappa_per_annotator = agreement["pairwise"]["cohen_kappa"].pop("_per_annotator")
    for block in agreement.get("rating", {}).values():
        if "cohen_kappa" not in block:
            continue
        per = block["cohen_kappa"].pop("_per_annotator")
        if kappa_per_annotator is None:
            kappa_per_annotator = per
    return {
        "campaign": d.campaign,
        "n_labels": len(d.label_id),
        "n_annotators": len(np.unique(d.label_annotator)),
        "n_items_labelled": len(np.unique(d.label_item)),
        "progress": progress(d),
        "agreement": agreement,
        "consistency": consistency,
        "leaderboard": leaderboard_section(d, pairs, opts),
        # Best-worst labels, per model: counting scores and Bradley-Terry (analytics/bws.py).
        "bws": bws_section(
            d.bw_label,
            d.response_model[d.bw_response],
            d.bw_value,
            d.model_names,
            n_boot=opts.n_boot,
            seed=opts.seed,
        ),
        "annotators": annotator_table(d, order, within, kappa_per_annotator),
        "demographics": demographics(d, opts.quotas),
    }
