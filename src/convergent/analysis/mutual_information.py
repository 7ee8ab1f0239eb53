"""Mutual information between the units of two nets (Li et al. 2016, section 4 of the notes).

Binning, per unit (as in the original ``estimate_mi.py``): values below ``zero`` (1e-6, the ReLU
zeros) go to bin 0; the remaining values are split into ``bins - 1`` equal-frequency bins whose
inner edges are quantiles of the non-zero values.  Quantiles come from a sample of rows (or all
rows); the edges are then fixed and every sample is coded by :func:`codes`.

Counts: the joint histogram of every (unit of A, unit of B) pair is accumulated block by block
of :data:`BLOCK_ROWS` rows as one matrix product of one-hot codes, ``onehot(A)ᵀ · onehot(B)`` of
shape (p·bins, q·bins), which BLAS does exactly (float32 holds integers below 2²⁴, more than a
block's rows; the sums are kept in float64, exact below 2⁵³).

Estimator, in nats: plug-in MI  Î = Σ p̂_ab log(p̂_ab / (p̂_a p̂_b)), and the Miller–Madow
bias-corrected MI  Î_MM = Î − (m_ab − m_a − m_b + 1) / (2N), which is H_MM(A) + H_MM(B) −
H_MM(A,B) with H_MM = Ĥ + (m − 1)/(2N), m the number of occupied bins.  (The original code
subtracts cells/(2N ln 2), a bias term in bits, from MI in nats; we do not replicate that.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

#: rows coded and counted at a time: their one-hot codes stay in the processor's cache (a
#: whole chunk's would be fresh pages, each faulted in), and float32 counts them exactly
BLOCK_ROWS = 8192


def bin_edges(x: np.ndarray, bins: int = 10, zero: float = 1e-6) -> np.ndarray:
    """Inner edges (units × (bins − 2)) of the equal-frequency bins of the non-zero values.

    ``x`` is (samples × units).  Bin 0 is reserved for values below ``zero``; values ≥ ``zero``
    are split at the k/(bins−1) quantiles (k = 1 … bins−2) of the non-zero values of each unit.
    A unit that is never non-zero gets edges at +inf (everything lands in bin 0 or bin 1).
    """
    return quantile_edges([col[col >= zero] for col in np.ascontiguousarray(x.T)], bins)


def quantile_edges(nonzero: list[np.ndarray], bins: int) -> np.ndarray:
    """:func:`bin_edges` from each unit's non-zero values (one array per unit)."""
    if bins < 3:
        raise ValueError(f"bins = {bins}: need at least 3 (one zero bin and two for the rest)")
    levels = np.arange(1, bins - 1) / (bins - 1)
    edges = np.full((len(nonzero), bins - 2), np.inf)
    for u, values in enumerate(nonzero):
        if len(values):
            edges[u] = np.quantile(values, levels)
    return edges


def codes(x: np.ndarray, edges: np.ndarray, zero: float = 1e-6) -> np.ndarray:
    """Bin index (uint8, 0 … bins−1) of every value of ``x`` (samples × units).

    A value's bin above 0 is 1 + the number of inner edges at or below it (as
    ``np.searchsorted(edges, value, side="right")``, NaN above every edge), counted one edge of
    every unit at a time: a branch-free comparison, twice as fast as a binary search here."""
    out = np.full(x.shape, edges.shape[1] + 1, dtype=np.uint8)
    for edge in edges.T:
        out -= x < edge
    out[x < zero] = 0
    return out


def one_hot(c: np.ndarray, bins: int) -> np.ndarray:
    """(samples × units) codes -> (samples × units·bins) float32 one-hot, unit-major."""
    n, p = c.shape
    out = np.zeros((n, p, bins), dtype=np.float32)
    np.put_along_axis(out, c[:, :, None].astype(np.intp), 1.0, axis=2)
    return out.reshape(n, p * bins)


def one_hot_products(ca: np.ndarray, cb: np.ndarray, bins: int) -> np.ndarray:
    """Σ over rows of onehot(A)ᵀ · onehot(B): the (p·bins, q·bins) joint counts of two code
    arrays, unit-major, as exact float64."""
    out = np.zeros((ca.shape[1] * bins, cb.shape[1] * bins))
    for start in range(0, len(ca), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        out += one_hot(ca[block], bins).T @ one_hot(cb[block], bins)
    return out


def _histograms(products: np.ndarray, bins: int) -> np.ndarray:
    """(p·bins, q·bins) unit-major counts -> (p, q, bins, bins) int64, C-contiguous: the MI's
    sums over them then add in one order, whatever the products' layout."""
    p, q = products.shape[0] // bins, products.shape[1] // bins
    counts = products.astype(np.int64).reshape(p, bins, q, bins).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(counts)


class JointHistogram:
    """Streaming accumulator of the (p, q, bins, bins) joint histograms of two nets' units."""

    def __init__(self, edges_a: np.ndarray, edges_b: np.ndarray, zero: float = 1e-6) -> None:
        if edges_a.shape[1] != edges_b.shape[1]:
            raise ValueError("both nets need the same number of bins")
        self.edges_a, self.edges_b, self.zero = edges_a, edges_b, zero
        self.bins = edges_a.shape[1] + 2
        self._products = np.zeros((len(edges_a) * self.bins, len(edges_b) * self.bins))

    def add(self, xa: np.ndarray, xb: np.ndarray) -> None:
        """Count one chunk of paired (samples × units) rows of net A and net B."""
        ca, cb = codes(xa, self.edges_a, self.zero), codes(xb, self.edges_b, self.zero)
        self._products += one_hot_products(ca, cb, self.bins)

    @property
    def counts(self) -> np.ndarray:
        """The joint histograms so far, (p, q, bins, bins) int64."""
        return _histograms(self._products, self.bins)


def _xlogx_sum(counts: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    c = counts.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, c * np.log(c), 0.0).sum(axis=axes)


def mutual_information(counts: np.ndarray, correction: str = "miller_madow") -> np.ndarray:
    """MI in nats (p × q) from joint histograms (p, q, bins, bins).

    ``correction``: "none" (plug-in) or "miller_madow" (see the module docstring).  A unit all
    in one bin (constant on the probe images, e.g. dead) has MI exactly 0 with every unit: its
    terms cancel, but their float sums leave ±1e-15, which would pick its semi-matching
    partner by rounding (and change it with the order of the sums).
    """
    if correction not in ("none", "miller_madow"):
        raise ValueError(f"correction = {correction!r}: use 'none' or 'miller_madow'")
    n = counts[0, 0].sum().astype(np.float64)
    joint = _xlogx_sum(counts, (2, 3))
    marg_a = _xlogx_sum(counts.sum(axis=3), (2,))
    marg_b = _xlogx_sum(counts.sum(axis=2), (2,))
    # Î = Σ c log c − Σ c_a log c_a − Σ c_b log c_b + N log N, all over N
    mi = (joint - marg_a - marg_b) / n + np.log(n)
    m_a = (counts.sum(axis=3) > 0).sum(axis=2)  # occupied bins of A's unit (p × q, per pair)
    m_b = (counts.sum(axis=2) > 0).sum(axis=2)
    if correction == "none":
        mi = np.maximum(mi, 0.0)
    else:
        mi -= ((counts > 0).sum(axis=(2, 3)) - m_a - m_b + 1) / (2 * n)
    mi[(m_a == 1) | (m_b == 1)] = 0.0
    return mi


def entropy(counts: np.ndarray) -> np.ndarray:
    """Plug-in entropy in nats of histograms along the last axis."""
    c = counts.astype(np.float64)
    n = c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(n) - np.where(c > 0, c * np.log(c), 0.0).sum(axis=-1) / n


class RowSample:
    """A uniform random subset of about ``size`` of the ``total`` rows of (rows × units) chunks
    fed in order, the same rows of each array fed with a chunk (two nets' paired rows): every
    row is kept independently with probability size/total (all rows if ``size`` is None or ≥
    ``total``), so memory stays bounded by about ``size`` rows.  The draws follow the rows, not
    the chunks: any chunking of the same rows keeps the same rows.

    Kept unit by unit (what :func:`quantile_edges` reads): each unit's values of the kept rows,
    only those at or above ``zero`` if it is given."""

    def __init__(self, total: int, size: int | None, seed: int = 0,
                 zero: float | None = None) -> None:
        self.rng, self.total, self.seen, self.zero = np.random.default_rng(seed), total, 0, zero
        self.keep = None if size is None or size >= total else size / total
        self.parts: list[list[list[np.ndarray]]] = []  # per chunk, per array, per unit

    def add(self, *xs: np.ndarray) -> None:
        """One chunk: arrays of the same rows."""
        n = len(xs[0])
        self.seen += n
        kept = slice(None) if self.keep is None else self.rng.random(n) < self.keep
        # a transposed copy holds each unit's values contiguously (a column's are strided)
        self.parts.append([[col if self.zero is None else col[col >= self.zero]
                            for col in np.ascontiguousarray(x[kept].T)] for x in xs])

    def units(self) -> list[list[np.ndarray]]:
        """Per array fed, each unit's kept values; every one of the ``total`` rows must have
        been fed."""
        if self.seen != self.total:
            raise ValueError(f"fed {self.seen} rows, expected {self.total}")
        return [[np.concatenate(unit) for unit in zip(*array, strict=True)]
                for array in zip(*self.parts, strict=True)]


class UnitHistograms:
    """The joint histograms of every unit pair of two nets, in two passes over the same paired
    (samples × units) chunks fed one at a time (so a caller can feed many layers from one pass
    of the networks): first a row subsample (the same rows of both nets) for the bin edges, then
    the joint histograms with those edges.  Per pass: :meth:`add` every chunk, then
    :meth:`end_pass`.  ``rows``: the rows of a pass."""

    def __init__(
        self, rows: int, bins: int, zero: float, quantile_rows: int | None
    ) -> None:
        self.bins, self.zero = bins, zero
        self.sample: RowSample | None = RowSample(rows, quantile_rows, seed=0, zero=zero)
        self.hist: JointHistogram | None = None
        self.done = False

    def add(self, xa: np.ndarray, xb: np.ndarray) -> None:
        """One chunk of the current pass."""
        if self.done:
            raise RuntimeError("both passes are over")
        if self.sample is not None:
            self.sample.add(xa, xb)
        else:
            self.hist.add(xa, xb)

    def end_pass(self) -> None:
        """The first pass fixes the bin edges (a ValueError if it fed other than ``rows`` rows),
        the second the counts."""
        if self.sample is None:
            self.done = True
            return
        nonzero, self.sample = self.sample.units(), None
        self.hist = JointHistogram(*(quantile_edges(v, self.bins) for v in nonzero), self.zero)

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
    bins: int,
    zero: float,
    quantile_rows: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`UnitHistograms.result` of the paired chunks that ``chunk_pairs()`` yields (called
    once per pass: the same chunks each time)."""
    hist = UnitHistograms(rows, bins, zero, quantile_rows)
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
