"""Integer interval sets: sorted, disjoint, non-adjacent tuples of inclusive (lo, hi) pairs.

This is the arithmetic under every address and port set in the project. It lives here so
that `servicetags` (which must not import `nsgcheck`) and `nsgcheck.engine` share one
implementation. Every function is pure and takes/returns the canonical form.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Iterable

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]

EMPTY: Intervals = ()
_INF = float("inf")


def normalize(pairs: Iterable[Interval]) -> Intervals:
    """Sort and merge overlapping or adjacent pairs into canonical form."""
    items = sorted(pairs)
    if not items:
        return EMPTY
    out: list[Interval] = []
    append = out.append
    lo, hi = items[0]
    for a, b in items:
        if a <= hi + 1:
            if b > hi:
                hi = b
        else:
            append((lo, hi))
            lo, hi = a, b
    append((lo, hi))
    return tuple(out)


def union(a: Intervals, b: Intervals) -> Intervals:
    """Union of two canonical interval sets."""
    if not a:
        return b
    if not b:
        return a
    return normalize(a + b)


def intersection(a: Intervals, b: Intervals) -> Intervals:
    """Intersection of two canonical interval sets: a merge of both, or a binary search from the
    smaller when the other is much larger. (The loops are written out: this is the hot path of
    every first-match evaluation.)"""
    na, nb = len(a), len(b)
    if not na or not nb:
        return EMPTY
    if na > nb:
        a, b, na, nb = b, a, nb, na
    if na * 16 < nb:
        return _intersection_small(a, b)
    out: list[Interval] = []
    append = out.append
    i = j = 0
    alo, ahi = a[0]
    blo, bhi = b[0]
    while True:
        lo = alo if alo > blo else blo
        if ahi < bhi:
            if lo <= ahi:
                append((lo, ahi))
            i += 1
            if i == na:
                break
            alo, ahi = a[i]
        else:
            if lo <= bhi:
                append((lo, bhi))
            j += 1
            if j == nb:
                break
            blo, bhi = b[j]
    return tuple(out)


def difference(a: Intervals, b: Intervals) -> Intervals:
    """Elements of `a` not in `b` (a merge; the part of `b` outside `a`'s bounds is skipped, and
    when `a` is long, so are its intervals outside `b`'s bounds: they are kept whole, as slices)."""
    if not a or not b:
        return a
    na = len(a)
    if na > _WINDOW:
        blo, bhi = b[0][0], b[-1][1]
        if bhi < a[0][0] or a[-1][1] < blo:
            return a
        # a[i:k]: the intervals of `a` that `b` can reach (the first ending at or after b's
        # first element, up to the last starting at or before b's last)
        i = bisect_right(a, (blo, _INF)) - 1
        if i < 0 or a[i][1] < blo:
            i += 1
        k = bisect_right(a, (bhi, _INF))
        if i > 0 or k < na:
            return a[:i] + _difference(a[i:k], b) + a[k:]
    return _difference(a, b)


#: above this many intervals `difference` cuts `a` to the window `b` can reach first
_WINDOW = 8


def _difference(a: Intervals, b: Intervals) -> Intervals:
    """`difference` by a merge (both non-empty or `a` empty)."""
    if not a:
        return a
    out: list[Interval] = []
    append = out.append
    nb = len(b)
    j = bisect_right(b, (a[0][0], _INF)) - 1      # the first interval of b that may reach a
    if j < 0:
        j = 0
    for lo, hi in a:
        cur = lo
        while j < nb and b[j][1] < cur:
            j += 1
        k = j
        while k < nb:
            blo, bhi = b[k]
            if blo > hi:
                break
            if blo > cur:
                append((cur, blo - 1))
            if bhi + 1 > cur:
                cur = bhi + 1
            if cur > hi:
                break
            k += 1
        if cur <= hi:
            append((cur, hi))
    return tuple(out)


def size(a: Intervals) -> int:
    """Number of integers in the set."""
    return sum(hi for _, hi in a) - sum(lo for lo, _ in a) + len(a)


def contains_point(a: Intervals, x: int) -> bool:
    """Whether integer `x` is in the set (binary search)."""
    i = bisect_right(a, (x, float("inf"))) - 1
    return i >= 0 and a[i][0] <= x <= a[i][1]


def is_subset(a: Intervals, b: Intervals) -> bool:
    """Whether every element of `a` is in `b` (`not difference(a, b)`, the reference): each interval
    of `a` lies within one interval of `b` (canonical: no two of `b`'s touch), found by a merge from
    the first that can hold `a`; stops at the first that does not, building no difference."""
    if not a:
        return True
    if not b or a[0][0] < b[0][0] or a[-1][1] > b[-1][1]:
        return False
    j = bisect_right(b, (a[0][0], _INF)) - 1
    for lo, hi in a:
        blo, bhi = b[j]
        while bhi < lo:         # (ends: b's last interval reaches a's last element)
            j += 1
            blo, bhi = b[j]
        if blo > lo or bhi < hi:
            return False
    return True


def _intersection_small(a: Intervals, b: Intervals) -> Intervals:
    """Intersection when `a` is much smaller than `b`: bisect into `b` for each interval of `a`."""
    out: list[Interval] = []
    nb = len(b)
    for lo, hi in a:
        k = bisect_right(b, (lo, _INF)) - 1
        if k < 0:
            k = 0
        while k < nb and b[k][0] <= hi:
            blo, bhi = b[k]
            if bhi >= lo:
                out.append((lo if lo > blo else blo, hi if hi < bhi else bhi))
            k += 1
    return tuple(out)


def overlaps(a: Intervals, b: Intervals) -> bool:
    """Whether the two sets share any element (bisect when sizes differ a lot)."""
    na, nb = len(a), len(b)
    if not na or not nb or a[-1][1] < b[0][0] or b[-1][1] < a[0][0]:
        return False
    if na > nb:
        a, b, na, nb = b, a, nb, na
    if na * 16 < nb:
        for lo, hi in a:
            k = bisect_right(b, (lo, _INF)) - 1
            if k < 0:
                k = 0
            while k < nb and b[k][0] <= hi:
                if b[k][1] >= lo:
                    return True
                k += 1
        return False
    i = j = 0
    alo, ahi = a[0]
    blo, bhi = b[0]
    while True:
        if alo <= bhi and blo <= ahi:
            return True
        if ahi < bhi:
            i += 1
            if i == na:
                return False
            alo, ahi = a[i]
        else:
            j += 1
            if j == nb:
                return False
            blo, bhi = b[j]


def prefix_interval(network: int, prefixlen: int, bits: int) -> Interval:
    """The inclusive range covered by `network/prefixlen` in a `bits`-wide space."""
    host = bits - prefixlen
    return (network, network | ((1 << host) - 1))


def to_prefixes(a: Intervals, bits: int) -> list[tuple[int, int]]:
    """Minimal list of (network, prefixlen) blocks covering exactly the set."""
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        while lo <= hi:
            # largest block aligned at lo that fits in [lo, hi]
            host = (lo & -lo).bit_length() - 1 if lo else bits
            while host > 0 and lo + (1 << host) - 1 > hi:
                host -= 1
            out.append((lo, bits - host))
            lo += 1 << host
    return out
