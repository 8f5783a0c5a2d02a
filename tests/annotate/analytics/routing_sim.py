"""A simulated campaign with known truth for the routing tests.

People prefer the response with the higher utility w.x (plus a little noise); response
length means nothing to them. The AI judge sees the same utility but also likes longer
responses (a length bias, as LLM judges do), and is noisier on prompts in one language.
Humans' majority label is right 90% of the time, whatever the item. So the judge is
wrong mostly on items with a large length gap, close utilities or the hard language,
and a router that learns this from the features spends the human budget there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotate.analytics.routing import realised_gain
from annotate.analytics.routing_features import ItemSignals, feature_matrix

W = np.array([1.0, 0.8, -0.5, 0.3])  # people's utility weights on 4 content dimensions
LANGUAGES = ["en", "de", "sw"]
FIRST, SECOND = 0, 2


@dataclass
class Campaign:
    x: np.ndarray  # (n, 2, 4) content of the two responses
    log_len: np.ndarray  # (n, 2)
    truth: np.ndarray  # category: FIRST or SECOND (by true utility)
    human: np.ndarray  # the human majority label
    judge: np.ndarray  # the judge's (swap-aggregated) label
    features: np.ndarray
    names: list[str]

    def rm_inputs(self) -> np.ndarray:
        """What the reward model sees: content and length differences (first - second)."""
        return np.c_[self.x[:, 0] - self.x[:, 1], self.log_len[:, 0] - self.log_len[:, 1]]


def campaign(rng: np.random.Generator, n: int) -> Campaign:
    x = rng.normal(size=(n, 2, 4))
    log_len = rng.normal(6.0, 0.6, size=(n, 2))
    lang = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    du = (x[:, 0] - x[:, 1]) @ W
    truth = np.where(du + rng.normal(0, 0.3, n) > 0, FIRST, SECOND)
    human = np.where(rng.random(n) < 0.9, truth, 2 - truth)
    judge_noise = np.where(lang == 2, 1.5, 0.5)
    dl = log_len[:, 0] - log_len[:, 1]
    judged = du + 2.0 * dl + rng.normal(0, 1, n) * judge_noise
    # Asked in both orders: the two answers differ when the judge's view is close to even.
    second_view = judged + rng.normal(0, 0.5, n) * judge_noise
    judge = np.where(judged > 0, FIRST, SECOND)
    consistent = (judged > 0) == (second_view > 0)
    confidence = 1.0 / (1.0 + np.exp(-np.abs(judged)))
    signals = ItemSignals(
        prompt_length=rng.integers(20, 400, n).astype(np.float64),  # irrelevant here
        length_a=np.exp(log_len[:, 0]),
        length_b=np.exp(log_len[:, 1]),
        similarity=np.exp(-np.abs(du)),  # close utilities read as similar responses
        judge_confidence=confidence,
        swap_consistent=consistent.astype(np.float64),
        reward_margin=np.full(n, np.nan),  # no reward model before the first refit
        reward_uncertainty=np.full(n, np.nan),
        language=lang,
    )
    features, names = feature_matrix(signals, LANGUAGES)
    return Campaign(x, log_len, truth, human, judge, features, names)


def fit_reward_model(z: np.ndarray, label: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Logistic Bradley-Terry on input differences (no intercept), Newton's method."""
    y = (label == FIRST).astype(np.float64)
    beta = np.zeros(z.shape[1])
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-z @ beta))
        grad = z.T @ (p - y) + l2 * beta
        hess = (z * (p * (1 - p))[:, None]).T @ z + l2 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def gain(c: Campaign) -> np.ndarray:
    return realised_gain(c.human, c.judge)
