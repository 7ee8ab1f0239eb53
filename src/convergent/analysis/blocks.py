"""Float64 moments kept per probe block: the container every route fills (from dumps, arrays or
the forward pass: :mod:`convergent.moments`).

For every block of probe images we keep the sample count, the sum of each unit and the sum of
products of every pair of units (raw, uncentred float64 sums, so blocks merge by addition).
Totals give exact means, covariances and correlations; subsets of blocks give held-out splits and
block-bootstrap resamples without touching the activations again.  One model's within-net moments
are computed once (the moments rule); a pair adds only its cross products.

Probe blocks are contiguous image ranges (:func:`block_bounds`; the probe is a random subset),
the same for dumps, in-memory arrays and the forward pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from convergent.analysis.correlation import variance, within_correlation


@dataclass
class BlockMoments:
    """count (B,), sum_x (B, p), sum_y (B, q), sum_xy (B, p, q); x = y for within-net moments."""

    count: np.ndarray
    sum_x: np.ndarray
    sum_y: np.ndarray
    sum_xy: np.ndarray

    @classmethod
    def zeros(cls, blocks: int, p: int, q: int) -> BlockMoments:
        return cls(
            np.zeros(blocks), np.zeros((blocks, p)), np.zeros((blocks, q)), np.zeros((blocks, p, q))
        )

    def add(self, block: int, x: np.ndarray, y: np.ndarray | None = None) -> None:
        """Accumulate one chunk of (samples × units) float64 rows into ``block``."""
        # column sums as a BLAS product with ones: ndarray.sum(0) of a tall, narrow array costs
        # about one x.T @ y itself (measured, 16 units); x.T @ x is BLAS syrk, measured at twice
        # the speed of gemm on a copy (OpenBLAS 0.3.31, 1 and 2 threads)
        ones = np.ones(len(x))
        sum_x = ones @ x
        self.count[block] += len(x)
        self.sum_x[block] += sum_x
        self.sum_y[block] += sum_x if y is None else ones @ y
        self.sum_xy[block] += x.T @ (x if y is None else y)

    def total(self, blocks: np.ndarray | slice = slice(None)) -> BlockMoments:
        """The moments of a subset of blocks (default all), as a single block."""
        return BlockMoments(
            self.count[blocks].sum(keepdims=True),
            self.sum_x[blocks].sum(0)[None],
            self.sum_y[blocks].sum(0)[None],
            self.sum_xy[blocks].sum(0)[None],
        )

    def as_dict(self) -> dict[str, np.ndarray]:
        return {
            "count": self.count,
            "sum_x": self.sum_x,
            "sum_y": self.sum_y,
            "sum_xy": self.sum_xy,
        }

    def variance(self) -> np.ndarray:
        """Per-unit population variance of x over all blocks (within-net moments)."""
        t = self.total()
        return variance(t.count[0], t.sum_x[0], np.diagonal(t.sum_xy[0]))

    def mean(self) -> np.ndarray:
        """Per-unit mean of x over all blocks."""
        return self.sum_x.sum(0) / self.count.sum()

    def within_correlation(self, dead_std: float) -> np.ndarray:
        """The within-net correlation matrix over all blocks (within-net moments)."""
        t = self.total()
        return within_correlation(t.count[0], t.sum_x[0], t.sum_xy[0], dead_std)


def block_bounds(n_images: int, blocks: int) -> list[tuple[int, int]]:
    """Contiguous image ranges of the ``blocks`` probe blocks (the probe is a random subset)."""
    edges = np.linspace(0, n_images, blocks + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:], strict=True))


def chunks(n_images: int, blocks: int, chunk_images: int) -> Iterator[tuple[int, int, int]]:
    """(block, start, stop) image ranges that never straddle a block boundary."""
    for block, (lo, hi) in enumerate(block_bounds(n_images, blocks)):
        for start in range(lo, hi, chunk_images):
            yield block, start, min(start + chunk_images, hi)


#: within X, within Y and cross moments of one pair of layers (the scatter route's input)
PairMoments = tuple[BlockMoments, BlockMoments, BlockMoments]


def empty_pair(blocks: int, p: int, q: int) -> PairMoments:
    return BlockMoments.zeros(blocks, p, p), BlockMoments.zeros(blocks, q, q), BlockMoments.zeros(
        blocks, p, q
    )


def add_pair(moments: PairMoments, block: int, x: np.ndarray, y: np.ndarray) -> None:
    """Accumulate one chunk of both sides into ``block``."""
    mxx, myy, mxy = moments
    mxx.add(block, x)
    myy.add(block, y)
    mxy.add(block, x, y)


def pair_moments_of_arrays(x: np.ndarray, y: np.ndarray, blocks: int) -> PairMoments:
    """The pair moments of in-memory (samples × features) arrays, per probe block."""
    moments = empty_pair(blocks, x.shape[1], y.shape[1])
    for block, (lo, hi) in enumerate(block_bounds(len(x), blocks)):
        add_pair(moments, block, x[lo:hi], y[lo:hi])
    return moments
