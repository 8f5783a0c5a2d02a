"""The simulated crowd: who the people are and how they judge.

Generative story, per person p in demographic group g (the value of ``group_field``):
- each response r has a latent quality ``u_r = quality[model(r)] + N(0, response_sd)``
  (fixed per response id and seed) and an unrelated "surface" feature ``s_r ~ N(0, 1)``;
- p's utility of r is ``u_r + group_shift[g][model(r)]``;
- pairwise: ``d = util(A) - util(B) + tau * Logistic(0, 1)``; tie if ``|d| < tie_band``,
  else the larger wins; strength 1..3 by ``|d|``;
- rating (Likert 1..7): with probability ``rating_off`` the rating follows ``s_r`` (the
  deliberate inconsistency), otherwise ``util(r)``; value = clip(round(4 + 1.5 * (x +
  N(0, rating_sd))), 1, 7);
- ranking: Plackett-Luce through Gumbel noise with scale ``tau`` on the utilities.

Because every step has a closed form, the truth is known exactly: the probability of
each pairwise outcome, the expected ratings-vs-judgment consistency of a (person, pair)
and the expected agreement of two people on a pair (functions at the bottom).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LIKERT = (1, 7)

# Demographic distributions (PRISM-style fields; values are the profile form's codes).
DEFAULT_DEMOGRAPHICS: dict[str, dict[str, float]] = {
    "age_band": {"18-24": 0.25, "25-34": 0.3, "35-44": 0.2, "45-54": 0.15, "55-64": 0.1},
    "gender": {"female": 0.48, "male": 0.48, "non_binary": 0.04},
    "residence_country": {"GB": 0.4, "US": 0.4, "IN": 0.2},
    "english_proficiency": {"native": 0.7, "fluent": 0.3},
    "education": {"secondary": 0.3, "university": 0.5, "graduate": 0.2},
    "ai_frequency": {"daily": 0.3, "weekly": 0.4, "monthly": 0.3},
}


@dataclass(frozen=True)
class CrowdConfig:
    """Everything that defines a simulated crowd. Qualities are per model, in model order."""

    quality: Sequence[float] = (1.2, 0.6, 0.0, -0.6)
    # Added to a model's quality for people of a group, e.g. {"18-24": {2: 1.5}}.
    group_shift: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    group_field: str = "age_band"
    demographics: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: DEFAULT_DEMOGRAPHICS
    )
    response_sd: float = 0.3
    tau: float = 0.5  # choice noise scale (logistic), per person multiplied by tau_spread
    tau_spread: float = 0.3  # people differ: tau_p = tau * exp(N(0, tau_spread))
    tie_band: float = 0.15
    rating_sd: float = 0.35
    rating_off: float = 0.25  # share of ratings driven by the surface feature
    seed: int = 0


@dataclass(frozen=True)
class Person:
    index: int
    profile: dict[str, str]
    group: str
    tau: float


def draw_people(config: CrowdConfig, n: int, *, start: int = 0) -> list[Person]:
    rng = np.random.default_rng([config.seed, 7])
    people = []
    for i in range(start + n):
        profile = {}
        for fname, dist in config.demographics.items():
            values = list(dist)
            probs = np.array([dist[v] for v in values], dtype=float)
            profile[fname] = str(values[rng.choice(len(values), p=probs / probs.sum())])
        tau = config.tau * math.exp(rng.normal(0.0, config.tau_spread))
        if i >= start:
            people.append(Person(i, profile, profile.get(config.group_field, ""), tau))
    return people


@dataclass(frozen=True)
class SimResponse:
    id: int
    model: int
    quality: float  # u_r
    surface: float  # s_r


def make_response(config: CrowdConfig, response_id: int, model: int) -> SimResponse:
    """The latent quality of one response; ``model`` -1 (unknown origin) has quality 0."""
    rng = np.random.default_rng([config.seed, 11, int(response_id)])
    base = config.quality[model] if 0 <= model < len(config.quality) else 0.0
    return SimResponse(
        id=int(response_id),
        model=int(model),
        quality=float(base + rng.normal(0.0, config.response_sd)),
        surface=float(rng.normal(0.0, 1.0)),
    )


def utility(config: CrowdConfig, person: Person, r: SimResponse) -> float:
    shift = config.group_shift.get(person.group, {}).get(r.model, 0.0)
    return r.quality + float(shift)


class Judge:
    """One person's judgments, with their own random stream (reproducible per seed)."""

    def __init__(self, config: CrowdConfig, person: Person) -> None:
        self.config, self.person = config, person
        self.asked: dict[tuple[int, ...], int] = {}

    def _rng(self, kind: int, *ids: int) -> np.random.Generator:
        """A stream per (person, question): the same judgment whatever order the tasks
        come in, so a simulated study is reproducible under concurrency. Asking the same
        question again gives a fresh draw, as a real person's would be."""
        key = (kind, *ids)
        repeat = self.asked[key] = self.asked.get(key, -1) + 1
        return np.random.default_rng([self.config.seed, 13, self.person.index, repeat, kind, *ids])

    def pairwise(self, a: SimResponse, b: SimResponse) -> tuple[str, int]:
        """("A" | "B" | "tie", strength magnitude 1..3)."""
        # One noise draw per unordered pair (the logistic is symmetric), so the judgment
        # does not depend on which response happened to be shown first.
        lo, hi = (a, b) if a.id <= b.id else (b, a)
        d = utility(self.config, self.person, lo) - utility(self.config, self.person, hi)
        d += self.person.tau * float(self._rng(1, lo.id, hi.id).logistic())
        if lo is not a:
            d = -d
        if abs(d) < self.config.tie_band:
            return "tie", 0
        return ("A" if d > 0 else "B"), 1 + min(2, int(abs(d)))

    def rating(self, r: SimResponse) -> int:
        rng = self._rng(2, r.id)
        off = rng.random() < self.config.rating_off
        x = r.surface if off else utility(self.config, self.person, r)
        value = round(4 + 1.5 * (x + rng.normal(0.0, self.config.rating_sd)))
        return int(min(LIKERT[1], max(LIKERT[0], value)))

    def ranking(self, responses: Sequence[SimResponse]) -> list[int]:
        """Response ids best first (Plackett-Luce via Gumbel perturbation)."""
        rng = self._rng(3, *sorted(r.id for r in responses))
        scores = [
            utility(self.config, self.person, r) + self.person.tau * float(rng.gumbel())
            for r in responses
        ]
        return [r.id for _, r in sorted(zip(scores, responses, strict=True), key=lambda t: -t[0])]


# --- truths ---------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def choice_probs(config: CrowdConfig, person: Person, a: SimResponse, b: SimResponse) -> np.ndarray:
    """[P(A), P(tie), P(B)] of a pairwise judgment."""
    d = utility(config, person, a) - utility(config, person, b)
    p_a = _sigmoid((d - config.tie_band) / person.tau)
    p_b = _sigmoid((-d - config.tie_band) / person.tau)
    return np.array([p_a, max(0.0, 1.0 - p_a - p_b), p_b])


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def rating_dist(config: CrowdConfig, person: Person, r: SimResponse) -> np.ndarray:
    """P(rating = 1..7) under the mixture of the consistent and the surface rating."""
    lo, hi = LIKERT
    out = np.zeros(hi - lo + 1)
    for weight, x in (
        (1.0 - config.rating_off, utility(config, person, r)),
        (config.rating_off, r.surface),
    ):
        for k in range(lo, hi + 1):
            # round(4 + 1.5 (x + e)) == k  <=>  e in [(k - .5 - 4)/1.5 - x, (k + .5 - 4)/1.5 - x)
            low = -math.inf if k == lo else ((k - 0.5 - 4) / 1.5 - x) / config.rating_sd
            high = math.inf if k == hi else ((k + 0.5 - 4) / 1.5 - x) / config.rating_sd
            out[k - lo] += weight * (_phi(high) - _phi(low))
    return out


def implied_probs(
    config: CrowdConfig, person: Person, a: SimResponse, b: SimResponse
) -> np.ndarray:
    """[P(rating a > b), P(equal), P(a < b)] for one person's two independent ratings."""
    pa, pb = rating_dist(config, person, a), rating_dist(config, person, b)
    joint = np.outer(pa, pb)
    return np.array([np.tril(joint, -1).sum(), np.trace(joint), np.triu(joint, 1).sum()])


def expected_consistency(
    config: CrowdConfig, person: Person, a: SimResponse, b: SimResponse
) -> float:
    """P(the pairwise judgment agrees with what the same person's ratings imply)."""
    return float(implied_probs(config, person, a, b) @ choice_probs(config, person, a, b))


def expected_agreement(
    config: CrowdConfig, p1: Person, p2: Person, a: SimResponse, b: SimResponse
) -> float:
    """P(two people give the same pairwise outcome on (a, b))."""
    return float(choice_probs(config, p1, a, b) @ choice_probs(config, p2, a, b))


def true_model_order(config: CrowdConfig, people: Sequence[Person] | None = None) -> list[int]:
    """Models best first by mean utility over the people (or the group distribution)."""
    m = len(config.quality)
    if people:
        weights: dict[str, float] = {}
        for p in people:
            weights[p.group] = weights.get(p.group, 0.0) + 1.0 / len(people)
    else:
        weights = dict(config.demographics.get(config.group_field, {"": 1.0}))
    means = [
        config.quality[k]
        + sum(w * float(config.group_shift.get(g, {}).get(k, 0.0)) for g, w in weights.items())
        for k in range(m)
    ]
    return sorted(range(m), key=lambda k: -means[k])


def config_from_dict(data: Mapping[str, Any]) -> CrowdConfig:
    """A CrowdConfig from JSON (group_shift keys arrive as strings)."""
    kwargs = dict(data)
    if "group_shift" in kwargs:
        kwargs["group_shift"] = {
            g: {int(k): float(v) for k, v in shifts.items()}
            for g, shifts in kwargs["group_shift"].items()
        }
    if "quality" in kwargs:
        kwargs["quality"] = tuple(float(q) for q in kwargs["quality"])
    return CrowdConfig(**kwargs)


def replicate_figures(
    config: CrowdConfig,
    people: Mapping[int, Person],
    rated: Mapping[int, Sequence[SimResponse]],
    judged: Mapping[int, Sequence[tuple[SimResponse, SimResponse]]],
    n_rep: int = 400,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The labelling re-drawn ``n_rep`` times from the model, for honest sampling errors.

    Within-annotator consistency reuses each rating in several pairs and agreement reuses
    each judgment against several people, so the cases are not independent and a
    Bernoulli standard error would be too small; the spread over replicates is right.
    Returns per replicate: ``consistency`` (rate over the counted cases) and
    ``agreement`` (pairwise percent agreement over items judged by >= 2 people).
    """
    rng = np.random.default_rng([config.seed, 17, seed])
    consistency = np.zeros(n_rep)
    agreement = np.zeros(n_rep)
    # Pre-compute the probabilities once.
    rating_p = {
        (p, r.id): np.cumsum(rating_dist(config, people[p], r))
        for p, rs in rated.items()
        for r in rs
    }
    choice_p = {
        (p, a.id, b.id): np.cumsum(choice_probs(config, people[p], a, b))
        for p, pairs in judged.items()
        for a, b in pairs
    }
    by_item: dict[frozenset[int], list[tuple[int, int, int]]] = {}
    for p, a_id, b_id in choice_p:
        by_item.setdefault(frozenset((a_id, b_id)), []).append((p, a_id, b_id))
    for k in range(n_rep):
        ratings = {key: int(np.searchsorted(c, rng.random())) for key, c in rating_p.items()}
        # Outcome codes 0 = first shown better, 1 = tie, 2 = second; oriented by id below.
        choices = {key: int(np.searchsorted(c, rng.random())) for key, c in choice_p.items()}
        agree = n = 0
        for (p, a_id, b_id), outcome in choices.items():
            if (p, a_id) in ratings and (p, b_id) in ratings:
                ra, rb = ratings[p, a_id], ratings[p, b_id]
                implied = 0 if ra > rb else (1 if ra == rb else 2)
                agree += implied == outcome
                n += 1
        consistency[k] = agree / n if n else np.nan
        shares = []
        for judges in by_item.values():
            if len(judges) < 2:
                continue
            lo = min(judges[0][1], judges[0][2])
            # Orient every judgment to (lower id, higher id) so people compare alike.
            codes = [choices[j] if j[1] == lo else 2 - choices[j] for j in judges]
            pairs = [(x, y) for i, x in enumerate(codes) for y in codes[i + 1 :]]
            shares.append(sum(x == y for x, y in pairs) / len(pairs))
        agreement[k] = float(np.mean(shares)) if shares else np.nan
    return {"consistency": consistency, "agreement": agreement}
