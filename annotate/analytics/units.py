"""Units (items, or item-responses) of long-format label data: dense codes, and the
pairs of labels that share a unit. Shared by agreement and kappa (no Django)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def _unit_codes(units: npt.ArrayLike) -> IntArray:
    """Dense 0-based codes in the order of the values (same as np.unique's inverse)."""
    arr = np.asarray(units).ravel()
    if arr.dtype.kind in "iu" and len(arr):
        lo, hi = int(arr.min()), int(arr.max())
        # Integer keys in a modest range: O(n) compaction instead of an O(n log n) sort.
        if hi - lo <= 8 * len(arr) + 1024:
            shifted = arr.astype(np.int64) - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            remap = np.cumsum(present) - 1
            return remap[shifted].astype(np.int64)
    _, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64).ravel()


def unit_pairs(units: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Index pairs (i, j), i < j, of entries that share a unit; vectorised."""
    ucode = _unit_codes(units)
    order = np.argsort(ucode, kind="stable")
    sorted_units = ucode[order]
    n = len(order)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, sorted_units[1:] != sorted_units[:-1]])
    ends = np.r_[starts[1:], n]
    end_of = np.repeat(ends, ends - starts)
    pos = np.arange(n)
    n_after = end_of - pos - 1
    total = int(n_after.sum())
    left = np.repeat(pos, n_after)
    offsets = np.arange(total) - np.repeat(np.cumsum(n_after) - n_after, n_after)
    right = left + offsets + 1
    return order[left], order[right]
