"""Block moments streamed from activation dumps, chunk by chunk (memory does not grow with the
probe set): one model's within-net moments, a pair's cross moments, and a pair of layers under
a conv convention for the similarity measures.  ``advance(n)``, if given, is called with the
images of each chunk done (a progress bar's ``update``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convergent.analysis.blocks import BlockMoments, PairMoments, add_pair, chunks, empty_pair
from convergent.io import InputError
from convergent.io.activations import ActivationFile
from convergent.moments.conventions import as_features, read_rows

#: called with the number of images just done
Advance = Callable[[int], object] | None


def layer_moments(
    f: ActivationFile, layer: str, blocks: int, chunk_images: int, advance: Advance = None
) -> BlockMoments:
    """Within-net moments of one layer (samples: images × positions)."""
    c = f.units(layer)
    m = BlockMoments.zeros(blocks, c, c)
    done = advance or (lambda _: None)
    for block, start, stop in chunks(f.n_images, blocks, chunk_images):
        m.add(block, f.samples(layer, start, stop))
        done(stop - start)
    return m



def cross_moments(
    a: ActivationFile,
    b: ActivationFile,
    layer: str,
    blocks: int,
    chunk_images: int,
    advance: Advance = None,
) -> BlockMoments:
    """Between-net moments: the same probe chunks read from both files."""
    m = BlockMoments.zeros(blocks, a.units(layer), b.units(layer))
    done = advance or (lambda _: None)
    for block, start, stop in chunks(a.n_images, blocks, chunk_images):
        m.add(block, a.samples(layer, start, stop), b.samples(layer, start, stop))
        done(stop - start)
    return m


def pair_moments(
    fa: ActivationFile,
    la: str,
    fb: ActivationFile,
    lb: str,
    convention: str,
    blocks: int,
    chunk_images: int,
    pairing: np.ndarray | None = None,
    advance: Advance = None,
) -> PairMoments:
    """(within A, within B, cross) moments of layer ``la`` of A and ``lb`` of B under a conv
    ``convention``, per block, in one pass (nothing but p × q sums is held); ``pairing`` meets
    image i of A with image pairing[i] of B (the shuffled-pairing null)."""
    if convention == "flatten":
        raise ValueError("flattened conv features are too wide for moments; use the Gram route")
    moments = None
    done = advance or (lambda _: None)
    for block, start, stop in chunks(fa.n_images, blocks, chunk_images):
        x = as_features(fa.layer(la)[start:stop], convention)
        if pairing is None:
            y = as_features(fb.layer(lb)[start:stop], convention)
        else:
            y = as_features(read_rows(fb, lb, pairing[start:stop]), convention)
        if len(x) != len(y):
            raise InputError(
                f"{fa.path} [{la}] and {fb.path} [{lb}]: {len(x)} vs {len(y)} samples per chunk; "
                "the layers' spatial grids differ — use the 'mean' convention"
            )
        if moments is None:
            moments = empty_pair(blocks, x.shape[1], y.shape[1])
        add_pair(moments, block, x, y)
        done(stop - start)
    return moments
