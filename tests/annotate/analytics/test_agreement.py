"""Agreement metrics against references: the krippendorff package, scipy, worked examples."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pytest
from scipy import stats

from annotate.analytics import agreement as ag


def _random_reliability(
    rng: np.random.Generator, coders: int, units: int, values: int, missing: float
) -> np.ndarray:
    mat = rng.integers(1, values + 1, size=(coders, units)).astype(float)
    mat[rng.random(mat.shape) < missing] = np.nan
    return mat


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", range(6))
def test_alpha_matches_krippendorff_package(level, seed):
    rng = np.random.default_rng(seed)
    mat = _random_reliability(
        rng,
        coders=int(rng.integers(2, 9)),
        units=int(rng.integers(10, 80)),
        values=int(rng.integers(2, 8)),
        missing=float(rng.uniform(0, 0.5)),
    )
    expected = krippendorff.alpha(reliability_data=mat, level_of_measurement=level)
    assert ag.krippendorff_alpha_matrix(mat, level) == pytest.approx(expected, abs=1e-9)


def test_alpha_long_format_with_real_valued_data_and_correlated_coders():
    rng = np.random.default_rng(42)
    truth = rng.normal(size=60)
    mat = truth[None, :] + rng.normal(scale=0.5, size=(5, 60))
    mat[rng.random(mat.shape) < 0.3] = np.nan
    for level in ("interval", "ratio", "ordinal"):
        expected = krippendorff.alpha(reliability_data=np.abs(mat), level_of_measurement=level)
        got = ag.krippendorff_alpha_matrix(np.abs(mat), level)
        assert got == pytest.approx(expected, abs=1e-9)
    # Correlated coders give clearly positive interval agreement.
    assert ag.krippendorff_alpha_matrix(mat, "interval") > 0.5


def test_alpha_worked_example_from_krippendorff():
    # Krippendorff (2011) example: nominal 0.691, interval 0.811 (also in the package docs).
    data = [
        [np.nan, np.nan, np.nan, np.nan, np.nan, 3, 4, 1, 2, 1, 1, 3, 3, np.nan, 3],
        [1, np.nan, 2, 1, 3, 3, 4, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        [np.nan, np.nan, 2, 1, 3, 4, 4, np.nan, 2, 1, 1, 3, 3, np.nan, 4],
    ]
    assert ag.krippendorff_alpha_matrix(data, "nominal") == pytest.approx(0.691358, abs=1e-6)
    assert ag.krippendorff_alpha_matrix(data, "interval") == pytest.approx(0.810845, abs=1e-6)


def test_alpha_is_nan_without_pairable_units():
    assert np.isnan(ag.krippendorff_alpha([0, 1, 2], [1.0, 2.0, 3.0], "nominal"))


def test_bootstrap_alpha_brackets_the_estimate():
    rng = np.random.default_rng(3)
    truth = rng.integers(1, 6, 300)
    units = np.repeat(np.arange(300), 3)
    values = np.repeat(truth, 3) + rng.integers(-1, 2, 900) * (rng.random(900) < 0.3)
    data = ag.alpha_data(units, values, "interval")
    point = ag.krippendorff_alpha(units, values, "interval")
    lo, hi = ag.percentile_interval(ag.bootstrap_alpha(data, n_boot=200, seed=1))
    assert lo is not None and hi is not None
    assert lo < point < hi
    assert hi - lo < 0.2


def test_fleiss_kappa_wikipedia_example():
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert ag.fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)
    assert ag.percent_agreement(table) == pytest.approx(0.37802, abs=1e-5)


def _cohen_reference(a, b, k, weighted=False):
    """Textbook kappa from the k x k contingency table (Cohen 1960/1968)."""
    o = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        o[x, y] += 1
    o /= o.sum()
    e = np.outer(o.sum(axis=1), o.sum(axis=0))
    i, j = np.indices((k, k))
    w = ((i - j) / (k - 1)) ** 2 if weighted else (i != j).astype(float)
    return 1 - (w * o).sum() / (w * e).sum()


def test_cohen_kappa_wikipedia_example():
    # 50 proposals, two readers: 20 yes/yes, 15 no/no, 5 yes/no, 10 no/yes -> kappa 0.4.
    a = [0] * 20 + [1] * 15 + [0] * 5 + [1] * 10
    b = [0] * 20 + [1] * 15 + [1] * 5 + [0] * 10
    units = np.r_[np.arange(50), np.arange(50)]
    coders = np.r_[np.zeros(50, int), np.ones(50, int)]
    res = ag.cohen_kappa_pairs(units, coders, np.r_[a, b], 2)
    assert res.kappa[0] == pytest.approx(0.4)
    assert res.agreement[0] == pytest.approx(0.7)


# Both ways of summing per coder pair (annotate.analytics.kappa_pairs): label pairs, and
# sparse coder x unit products (pair_list_max=0 forces them).
@pytest.mark.parametrize("pair_list_max", [1_000_000, 0])
def test_cohen_kappa_every_pair_matches_contingency_table_reference(pair_list_max):
    rng = np.random.default_rng(7)
    n_units, n_coders, k = 120, 6, 5
    rows = []
    for u in range(n_units):
        truth = rng.integers(0, k)
        for c in rng.choice(n_coders, size=rng.integers(2, 5), replace=False):
            v = int(np.clip(truth + rng.integers(-1, 2), 0, k - 1))
            rows.append((u, int(c), v))
    units, coders, cats = (np.array(x) for x in zip(*rows, strict=True))
    res = ag.cohen_kappa_pairs(units, coders, cats, k, pair_list_max=pair_list_max)
    lookup = {(u, c): v for u, c, v in rows}
    checked = 0
    for ca, cb in itertools.combinations(range(n_coders), 2):
        shared = [u for u in range(n_units) if (u, ca) in lookup and (u, cb) in lookup]
        idx = np.flatnonzero((res.coder_a == ca) & (res.coder_b == cb))
        if not shared:
            assert len(idx) == 0
            continue
        a = [lookup[(u, ca)] for u in shared]
        b = [lookup[(u, cb)] for u in shared]
        assert res.n_items[idx[0]] == len(shared)
        assert res.kappa[idx[0]] == pytest.approx(_cohen_reference(a, b, k), abs=1e-12)
        assert res.kappa_quadratic[idx[0]] == pytest.approx(
            _cohen_reference(a, b, k, weighted=True), abs=1e-12
        )
        checked += 1
    assert checked == 15


@pytest.mark.parametrize("k", [2, 3, 7])
def test_cohen_kappa_both_ways_give_identical_floats(k):
    # Sums of small integers are exact in any order, so the two ways agree bit for bit,
    # on a design with many pairs (40 annotators, 6 per item) and on an empty one.
    rng = np.random.default_rng(k)
    coders = np.concatenate([rng.choice(40, 6, replace=False) for _ in range(3000)])
    units = np.repeat(rng.permutation(10_000)[:3000] * 3, 6)
    cats = rng.integers(0, k, len(units))
    for args in ((units, coders, cats, k), ([], [], [], k)):
        pairs, products = (ag.cohen_kappa_pairs(*args, pair_list_max=m) for m in (10**9, 0))
        for name in ("coder_a", "coder_b", "n_items", "agreement", "kappa", "kappa_quadratic"):
            left, right = getattr(pairs, name), getattr(products, name)
            assert left.dtype == right.dtype, name
            np.testing.assert_array_equal(left, right, err_msg=name)
    assert len(pairs.n_items) == 0 and len(products.kappa) == 0
    full = ag.cohen_kappa_pairs(units, coders, cats, k, pair_list_max=0)
    assert len(full.n_items) == 40 * 39 // 2 and full.n_items.sum() == 3000 * 15


def test_unit_pairs_lists_every_pair_within_units():
    units = np.array([5, 3, 5, 5, 3, 9])
    i, j = ag.unit_pairs(units)
    got = {tuple(sorted((int(a), int(b)))) for a, b in zip(i, j, strict=True)}
    assert got == {(0, 2), (0, 3), (2, 3), (1, 4)}


def test_kendall_w_matches_friedman_statistic_with_ties():
    rng = np.random.default_rng(11)
    units, coders, objects, ranks, expected = [], [], [], [], []
    for u in range(8):
        m, n = int(rng.integers(2, 6)), int(rng.integers(3, 7))
        mat = np.array([stats.rankdata(rng.integers(0, 4, n)) for _ in range(m)])
        chi = stats.friedmanchisquare(*mat.T).statistic
        expected.append(chi / (m * (n - 1)))  # W = chi2_F / (m (n - 1)), tie-corrected
        for c in range(m):
            for o in range(n):
                units.append(u)
                coders.append(c)
                objects.append(o)
                ranks.append(mat[c, o])
    codes, w = ag.kendall_w_per_unit(units, coders, objects, ranks)
    assert list(codes) == list(range(8))
    np.testing.assert_allclose(w, expected, atol=1e-12)


def test_kendall_w_perfect_agreement_is_one():
    units = [0] * 6
    coders = [0, 0, 0, 1, 1, 1]
    _, w = ag.kendall_w_per_unit(units, coders, [0, 1, 2, 0, 1, 2], [1, 2, 3, 1, 2, 3])
    assert w[0] == pytest.approx(1.0)


def test_mid_ranks_share_tied_groups():
    assert ag.mid_ranks([[7], [3, 4], [9]]) == {7: 1.0, 3: 2.5, 4: 2.5, 9: 4.0}
