"""Simulated judges and annotators with known error rates and position bias, and the
population values (truth) of the figures computed from them, for the judge tests."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from annotate.analytics.judge_agreement import kappa_from_confusion

K = 3  # 0 = canonical first better, 1 = tie, 2 = second better


def noisy(accuracy: float, k: int = K) -> np.ndarray:
    """P(label | truth): right with ``accuracy``, else uniform over the other categories."""
    return np.full((k, k), (1 - accuracy) / (k - 1)) + np.eye(k) * (
        accuracy - (1 - accuracy) / (k - 1)
    )


@dataclass(frozen=True)
class World:
    p_truth: np.ndarray  # P(T)
    human: np.ndarray  # P(H | T), rows T (a mixture over annotator types)
    judge: np.ndarray  # P(J | T) when the judge is not position-biased
    bias: float  # P(the judge answers "the one shown first" whatever it sees)
    unparsable: float  # P(an answer does not parse)

    def order_probs(self) -> tuple[np.ndarray, np.ndarray]:
        """P(v | T) for order 1 (canonical first shown first) and order 2, parsed."""
        v1 = (1 - self.bias) * self.judge
        v2 = v1.copy()
        v1[:, 0] += self.bias
        v2[:, 2] += self.bias
        return v1, v2

    def swap_rate(self) -> float:
        v1, v2 = self.order_probs()
        return float(self.p_truth @ (v1 * v2).sum(axis=1))

    def first_position_rate(self) -> float:
        v1, v2 = self.order_probs()
        picks = self.p_truth @ (v1[:, 0] + v2[:, 2])
        decisive = self.p_truth @ (v1[:, 0] + v1[:, 2] + v2[:, 0] + v2[:, 2])
        return float(picks / decisive)

    def consistent_judge(self) -> np.ndarray:
        """P(J = j, consistent | T): the judge's label under the "drop" policy."""
        v1, v2 = self.order_probs()
        return v1 * v2

    def kappa(self, weighting: str = "none") -> float:
        joint = (
            self.p_truth[:, None, None]
            * self.consistent_judge()[:, :, None]
            * self.human[:, None, :]
        ).sum(axis=0)
        return float(kappa_from_confusion(joint, weighting))

    def majority_accuracy(self, n_humans: int = 3) -> float:
        """P(J = plurality of n humans | consistent, a unique plurality)."""
        cj = self.consistent_judge()
        hit = total = 0.0
        for labels in product(range(K), repeat=n_humans):
            votes = np.bincount(labels, minlength=K)
            if (votes == votes.max()).sum() > 1:
                continue
            major = int(votes.argmax())
            p_h = np.prod(self.human[:, list(labels)], axis=1)  # per T
            hit += float(self.p_truth @ (p_h * cj[:, major]))
            total += float(self.p_truth @ (p_h * cj.sum(axis=1)))
        return hit / total


def simulate(world: World, rng, n_items: int, n_annotators: int, human_types, per_item=3):
    """One campaign: per item the truth, ``per_item`` distinct annotators of
    ``n_annotators`` (each of a type drawn at random from ``human_types``, the P(H|T) of
    each type, so the sample's mix of types varies like a real sample of people), and the
    judge's two verdicts (canonical categories, -1 unparsable)."""
    truth = rng.choice(K, n_items, p=world.p_truth)
    v1p, v2p = world.order_probs()

    def draw(p_rows):
        u = rng.random(len(p_rows))[:, None]
        return (u > np.cumsum(p_rows, axis=1)).sum(axis=1)

    v1 = np.where(rng.random(n_items) < world.unparsable, -1, draw(v1p[truth]))
    v2 = np.where(rng.random(n_items) < world.unparsable, -1, draw(v2p[truth]))
    ann_type = rng.integers(0, len(human_types), n_annotators)
    ann = np.argsort(rng.random((n_items, n_annotators)), axis=1)[:, :per_item].ravel()
    item = np.repeat(np.arange(n_items), per_item)
    types = np.asarray(human_types)
    h = draw(types[ann_type[ann], truth[item]])
    return item, ann, h, v1, v2
