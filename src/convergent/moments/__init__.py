"""Float64 block moments of the probe set: the container and probe blocks, streamed from
activation dumps, from in-memory arrays, or from the networks' forward pass
(:mod:`convergent.moments.forward`, imports torch), and the conv-layer conventions; where the
sums are accumulated (:mod:`convergent.moments.sums`: numpy, or torch on a GPU)."""

from convergent.analysis.blocks import (
    BlockMoments,
    PairMoments,
    block_bounds,
    chunks,
    pair_moments_of_arrays,
)
from convergent.moments import sums
from convergent.moments.conventions import CONVENTIONS, as_features
from convergent.moments.dumps import (
    cross_moments,
    layer_moments,
    pair_moments,
    paired_cross_moments,
)

__all__ = [
    "BlockMoments",
    "PairMoments",
    "block_bounds",
    "chunks",
    "pair_moments_of_arrays",
    "CONVENTIONS",
    "as_features",
    "cross_moments",
    "layer_moments",
    "pair_moments",
    "paired_cross_moments",
    "sums",
]
