"""Mutual information between the units of two nets (Li et al. 2016, section 4 of the notes).

Binning, per unit (as in the original ``estimate_mi.py``): values below ``zero`` (1e-6, the ReLU
zeros) go to bin 0; the remaining values are split into ``bins - 1`` equal-frequency bins whose
inner edges are quantiles of the non-zero values.  Quantiles come from a sample of rows (or all
rows); the edges are then fixed and every sample is coded by :func:`codes`.

Counts: the joint histogram of every (unit of A, unit of B) pair is accumulated chunk by chunk as
one matrix product of one-hot codes, ``onehot(A)ᵀ · onehot(B)`` of shape (p·bins, q·bins), which
BLAS does exactly (float32 holds integers below 2²⁴, so chunks are capped at that many rows and
the totals kept in int64).

Estimator, in nats: plug-in MI  Î = Σ p̂_ab log(p̂_ab / (p̂_a p̂_b)), and the Miller–Madow
bias-corrected MI  Î_MM = Î − (m_ab − m_a − m_b + 1) / (2N), which is H_MM(A) + H_MM(B) −
H_MM(A,B) with H_MM = Ĥ + (m − 1)/(2N), m the number of occupied bins.  (The original code
subtracts cells/(2N ln 2), a bias term in bits, from MI in nats; we do not replicate that.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

#: float32 represents every integer up to 2**24 exactly: the most rows one product may count.
MAX_EXACT_ROWS = 1 << 24


def bin_edges(x: np.ndarray, bins: int = 10, zero: float = 1e-6) -> np.ndarray:
    """Inner edges (units × (bins − 2)) of the equal-frequency bins of the non-zero values.

    ``x`` is (samples × units).  Bin 0 is reserved for values below ``zero``; values ≥ ``zero``
    are split at the k/(bins−1) quantiles (k = 1 … bins−2) of the non-zero values of each unit.
    A unit that is never non-zero gets edges at +inf (everything lands in bin 0 or bin 1).
    """
    if bins < 3:
        raise ValueError(f"bins = {bins}: need at least 3 (one zero bin and two for the rest)")
    levels = np.arange(1, bins - 1) / (bins - 1)
    edges = np.full((x.shape[1], bins - 2), np.inf)
    for u in range(x.shape[1]):
        nonzero = x[x[:, u] >= zero, u]
        if len(nonzero):
            edges[u] = np.quantile(nonzero, levels)
    return edges


def codes(x: np.ndarray, edges: np.ndarray, zero: float = 1e-6) -> np.ndarray:
    """Bin index (uint8, 0 … bins−1) of every value of ``x`` (samples × units)."""
    out = np.empty(x.shape, dtype=np.uint8)
    for u in range(x.shape[1]):
        # side="right": a value equal to an edge goes to the upper bin, as with np.digitize
        out[:, u] = 1 + np.searchsorted(edges[u], x[:, u], side="right")
    out[x < zero] = 0
    return out


def one_hot(c: np.ndarray, bins: int) -> np.ndarray:
    """(samples × units) codes -> (samples × units·bins) float32 one-hot, unit-major."""
    n, p = c.shape
    out = np.zeros((n, p * bins), dtype=np.float32)
    out[np.arange(n)[:, None], np.arange(p) * bins + c] = 1.0
    return out


def joint_counts(ca: np.ndarray, cb: np.ndarray, bins: int) -> np.ndarray:
    """Joint histograms (p, q, bins, bins) int64 of every unit pair, from two code arrays."""
    p, q = ca.shape[1], cb.shape[1]
    total = np.zeros((p * bins, q * bins), dtype=np.int64)
    for start in range(0, len(ca), MAX_EXACT_ROWS):
        stop = start + MAX_EXACT_ROWS
        prod = one_hot(ca[start:stop], bins).T @ one_hot(cb[start:stop], bins)
        total += np.rint(prod).astype(np.int64)
    return total.reshape(p, bins, q, bins).transpose(0, 2, 1, 3)


class JointHistogram:
    """Streaming accumulator of the (p, q, bins, bins) joint histograms of two nets' units."""

    def __init__(self, edges_a: np.ndarray, edges_b: np.ndarray, zero: float = 1e-6) -> None:
        if edges_a.shape[1] != edges_b.shape[1]:
            raise ValueError("both nets need the same number of bins")
        self.edges_a, self.edges_b, self.zero = edges_a, edges_b, zero
        self.bins = edges_a.shape[1] + 2
        self.counts = np.zeros((len(edges_a), len(edges_b), self.bins, self.bins), dtype=np.int64)

    def add(self, xa: np.ndarray, xb: np.ndarray) -> None:
        """Count one chunk of paired (samples × units) rows of net A and net B."""
        ca, cb = codes(xa, self.edges_a, self.zero), codes(xb, self.edges_b, self.zero)
        self.counts += joint_counts(ca, cb, self.bins)


def _xlogx_sum(counts: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    c = counts.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, c * np.log(c), 0.0).sum(axis=axes)


def mutual_information(counts: np.ndarray, correction: str = "miller_madow") -> np.ndarray:
    """MI in nats (p × q) from joint histograms (p, q, bins, bins).

    ``correction``: "none" (plug-in) or "miller_madow" (see the module docstring).
    """
    n = counts[0, 0].sum().astype(np.float64)
    joint = _xlogx_sum(counts, (2, 3))
    marg_a = _xlogx_sum(counts.sum(axis=3), (2,))
    marg_b = _xlogx_sum(counts.sum(axis=2), (2,))
    # Î = Σ c log c − Σ c_a log c_a − Σ c_b log c_b + N log N, all over N
    mi = (joint - marg_a - marg_b) / n + np.log(n)
    if correction == "none":
        return np.maximum(mi, 0.0)
    if correction != "miller_madow":
        raise ValueError(f"correction = {correction!r}: use 'none' or 'miller_madow'")
    m_ab = (counts > 0).sum(axis=(2, 3))
    m_a = (counts.sum(axis=3) > 0).sum(axis=2)
    m_b = (counts.sum(axis=2) > 0).sum(axis=2)
    return mi - (m_ab - m_a - m_b + 1) / (2 * n)


def entropy(counts: np.ndarray) -> np.ndarray:
    """Plug-in entropy in nats of histograms along the last axis."""
    c = counts.astype(np.float64)
    n = c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(n) - np.where(c > 0, c * np.log(c), 0.0).sum(axis=-1) / n


class RowSample:
    """A uniform random subset of about ``size`` of the ``total`` rows of (rows × units) chunks
    fed in order: every row is kept independently with probability size/total (all rows if
    ``size`` is None or ≥ ``total``), so memory stays bounded by about ``size`` rows.  The draws
    follow the rows, not the chunks: any chunking of the same rows keeps the same rows."""

    def __init__(self, total: int, size: int | None, seed: int = 0) -> None:
        self.rng, self.total, self.seen = np.random.default_rng(seed), total, 0
        self.keep = None if size is None or size >= total else size / total
        self.parts: list[np.ndarray] = []

    def add(self, x: np.ndarray) -> None:
        self.seen += len(x)
        self.parts.append(x if self.keep is None else x[self.rng.random(len(x)) < self.keep])

    def rows(self) -> np.ndarray:
        """The kept rows; every one of the ``total`` rows must have been fed."""
        if self.seen != self.total:
            raise ValueError(f"fed {self.seen} rows, expected {self.total}")
        return np.concatenate(self.parts)


def subsample_rows(
    chunks: Iterable[np.ndarray], total: int, size: int | None, seed: int = 0
) -> np.ndarray:
    """:class:`RowSample` of a stream of (rows × units) chunks."""
    sample = RowSample(total, size, seed)
    for x in chunks:
        sample.add(x)
    return sample.rows()


class UnitHistograms:
    """The joint histograms of every unit pair of two nets, in two passes over the same paired
    (samples × units) chunks fed one at a time (so a caller can feed many layers from one pass
    of the networks): first a row subsample (the same rows of both nets) for the bin edges, then
    the joint histograms with those edges.  Per pass: :meth:`add` every chunk, then
    :meth:`end_pass`.  ``rows``: the rows of a pass; ``units_a``: A's units."""

    def __init__(
        self, rows: int, units_a: int, bins: int, zero: float, quantile_rows: int | None
    ) -> None:
        self.units_a, self.bins, self.zero = units_a, bins, zero
        self.sample: RowSample | None = RowSample(rows, quantile_rows, seed=0)
        self.hist: JointHistogram | None = None
        self.done = False

    def add(self, xa: np.ndarray, xb: np.ndarray) -> None:
        """One chunk of the current pass."""
        if self.done:
            raise RuntimeError("both passes are over")
        if self.sample is not None:
            self.sample.add(np.hstack((xa, xb)))
        else:
            self.hist.add(xa, xb)

    def end_pass(self) -> None:
        """The first pass fixes the bin edges (a ValueError if it fed other than ``rows`` rows),
        the second the counts."""
        if self.sample is None:
            self.done = True
            return
        sample, self.sample = self.sample.rows(), None
        edges = (bin_edges(sample[:, : self.units_a], self.bins, self.zero),
                 bin_edges(sample[:, self.units_a :], self.bins, self.zero))
        self.hist = JointHistogram(*edges, self.zero)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(edges of A, edges of B, joint counts (p, q, bins, bins)), after both passes."""
        if not self.done:
            raise RuntimeError("the histograms need both passes")
        return self.hist.edges_a, self.hist.edges_b, self.hist.counts


#: the two passes of :class:`UnitHistograms`, by what they find
PASSES = ("bin edges", "joint histograms")


def unit_histograms(
    chunk_pairs: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
    rows: int,
    units_a: int,
    bins: int,
    zero: float,
    quantile_rows: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`UnitHistograms.result` of the paired chunks that ``chunk_pairs()`` yields (called
    once per pass: the same chunks each time)."""
    hist = UnitHistograms(rows, units_a, bins, zero, quantile_rows)
    for _ in PASSES:
        for xa, xb in chunk_pairs():
            hist.add(xa, xb)
        hist.end_pass()
    return hist.result()


def top_pair_agreement(
    value_corr: np.ndarray, partner_corr: np.ndarray, partner_mi: np.ndarray, k: int
) -> int:
    """How many of the k best correlation semi-matched units of A keep their partner under MI."""
    best = np.argsort(-value_corr, kind="stable")[:k]
    return int(np.sum(partner_corr[best] == partner_mi[best]))
