"""Block moments streamed from activation dumps, chunk by chunk (memory does not grow with the
probe set): one model's within-net moments, a pair's cross moments, and a pair of layers under
a conv convention for the similarity measures.  ``advance(n)``, if given, is called with the
images of each chunk done (a progress bar's ``update``); ``sums_device`` says where the sums
are accumulated (:mod:`convergent.moments.sums`: numpy, or torch on a GPU)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from convergent.analysis.blocks import BlockMoments, PairMoments, chunks
from convergent.io import InputError
from convergent.moments import sums
from convergent.moments.conventions import as_features

if TYPE_CHECKING:  # io.activations imports the conventions of this package
    from convergent.io.activations import ActivationFile

#: called with the number of images just done
Advance = Callable[[int], object] | None


def layer_moments(
    f: ActivationFile,
    layer: str,
    blocks: int,
    chunk_images: int,
    advance: Advance = None,
    convention: str = "positions",
    sums_device: str = "cpu",
) -> BlockMoments:
    """Within-net moments of one layer (samples: images × positions, or images under the
    ``mean`` convention)."""
    if convention == "flatten":
        raise ValueError("flattened conv features are too wide for moments; use the Gram route")
    m = None
    done = advance or (lambda _: None)
    for block, start, stop in chunks(f.n_images, blocks, chunk_images):
        if convention == "positions":
            x = f.samples(layer, start, stop)
        else:
            x = as_features(f.layer(layer)[start:stop], convention)
        if m is None:
            m = sums.zeros(blocks, x.shape[1], x.shape[1], sums_device,
                           _samples(x, start, stop, f.n_images))
        m.add(block, x)
        done(stop - start)
    return sums.result(m)


def _samples(x: np.ndarray, start: int, stop: int, n_images: int) -> int:
    """The samples of the whole probe set, from one chunk's (images start:stop)."""
    return len(x) // (stop - start) * n_images


def cross_moments(
    a: ActivationFile,
    b: ActivationFile,
    layer: str,
    blocks: int,
    chunk_images: int,
    advance: Advance = None,
    sums_device: str = "cpu",
) -> BlockMoments:
    """Between-net moments: the same probe chunks read from both files."""
    positions = int(np.prod(a.layer(layer).shape[2:]))
    m = sums.zeros(blocks, a.units(layer), b.units(layer), sums_device,
                   a.n_images * positions)
    done = advance or (lambda _: None)
    for block, start, stop in chunks(a.n_images, blocks, chunk_images):
        m.add(block, a.samples(layer, start, stop), b.samples(layer, start, stop))
        done(stop - start)
    return sums.result(m)


#: stored bytes of B's shuffled rows read at once: each read decompresses every HDF5 chunk that
#: holds one of the rows, i.e. nearly the whole layer, so one window per chunk_images chunk would
#: decompress B once per chunk (8x for 2000 probe images in chunks of 256)
PAIRED_WINDOW_BYTES = 256 * 2**20


class PairedRows:
    """Rows ``pairing[start:stop]`` of B's layer, read in windows of many chunks."""

    def __init__(self, f: ActivationFile, layer: str, pairing: np.ndarray, chunk: int) -> None:
        ds = f.layer(layer)
        row_bytes = ds.dtype.itemsize * int(np.prod(ds.shape[1:]))
        self.f, self.layer, self.pairing = f, layer, pairing
        self.size = max(chunk, PAIRED_WINDOW_BYTES // max(row_bytes, 1))
        self.lo, self.data = 0, None

    def rows(self, start: int, stop: int) -> np.ndarray:
        if self.data is None or not (self.lo <= start and stop <= self.lo + len(self.data)):
            self.lo = start
            self.data = self.f.rows(self.layer, self.pairing[start : start + self.size])
        return self.data[start - self.lo : stop - self.lo]


def _paired_chunks(
    fa: ActivationFile,
    la: str,
    fb: ActivationFile,
    lb: str,
    convention: str,
    blocks: int,
    chunk_images: int,
    pairing: np.ndarray | None,
    advance: Advance,
) -> Iterator[tuple[int, np.ndarray, np.ndarray, int]]:
    """(block, features of A, features of B, samples of the whole probe set) of each probe
    chunk, B's rows ``pairing``."""
    if convention == "flatten":
        raise ValueError("flattened conv features are too wide for moments; use the Gram route")
    done = advance or (lambda _: None)
    window = PairedRows(fb, lb, pairing, chunk_images) if pairing is not None else None
    for block, start, stop in chunks(fa.n_images, blocks, chunk_images):
        x = as_features(fa.layer(la)[start:stop], convention)
        if window is None:
            y = as_features(fb.layer(lb)[start:stop], convention)
        else:
            y = as_features(window.rows(start, stop), convention)
        if len(x) != len(y):
            raise InputError(
                f"{fa.path} [{la}] and {fb.path} [{lb}]: {len(x)} vs {len(y)} samples per chunk; "
                "the layers' spatial grids differ — use the 'mean' convention"
            )
        yield block, x, y, _samples(x, start, stop, fa.n_images)
        done(stop - start)


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
    sums_device: str = "cpu",
) -> PairMoments:
    """(within A, within B, cross) moments of layer ``la`` of A and ``lb`` of B under a conv
    ``convention``, per block, in one pass (nothing but p × q sums is held); ``pairing`` meets
    image i of A with image pairing[i] of B (the shuffled-pairing null)."""
    moments = None
    for block, x, y, n in _paired_chunks(fa, la, fb, lb, convention, blocks, chunk_images,
                                         pairing, advance):
        if moments is None:
            p, q = x.shape[1], y.shape[1]
            moments = [sums.zeros(blocks, a, b, sums_device, n) for a, b in ((p, p), (q, q),
                                                                            (p, q))]
        mxx, myy, mxy = moments
        mxx.add(block, x)
        myy.add(block, y)
        mxy.add(block, x, y)
    return tuple(sums.result(m) for m in moments)


def paired_cross_moments(
    fa: ActivationFile,
    la: str,
    fb: ActivationFile,
    lb: str,
    convention: str,
    blocks: int,
    chunk_images: int,
    pairing: np.ndarray | None = None,
    advance: Advance = None,
    sums_device: str = "cpu",
) -> BlockMoments:
    """The cross moments alone of ``pair_moments`` (optionally with ``pairing``): the within-net
    sums are per-model work (a moments file, read once per model); and a permutation of B's
    images leaves B's (and A's) within-net sums over all blocks as they are, so a null that uses
    all blocks takes those from the pair's own and pays one product per chunk, not three."""
    cross = None
    for block, x, y, n in _paired_chunks(fa, la, fb, lb, convention, blocks, chunk_images,
                                         pairing, advance):
        if cross is None:
            cross = sums.zeros(blocks, x.shape[1], y.shape[1], sums_device, n)
        cross.add(block, x, y)
    return sums.result(cross)
