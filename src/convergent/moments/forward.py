"""Moments streamed from the networks' forward pass, for probe sets too big to dump (ImageNet).

With ``probe.stream: true`` no activation file is needed for the correlation analysis: the
``stream_moments`` rule runs one network over the probe images once and accumulates every
layer's within-net moments (:func:`network_moments`); the ``stream_compare`` rule runs a pair's
two networks on the same batches and accumulates their cross moments
(:func:`network_cross_moments`), then writes the pair files exactly as the ``compare`` rule
does.  Sums are float64 (as Li et al. did: conv1 means of ~100 over 1.5e8 samples) and are kept
on the networks' device.  Samples are images × positions for conv layers (images × tokens for
token layers: :mod:`convergent.moments.conventions`) and images are
assigned to the same probe blocks as in the dump-based path
(:func:`convergent.analysis.blocks.block_bounds`), so both paths give the same numbers up to
the order of floating-point summation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn

from convergent.analysis.blocks import BlockMoments, block_bounds
from convergent.models.readout import forward_layers
from convergent.moments.conventions import as_features, as_samples
from convergent.moments.sums import DeviceMoments


def block_pieces(start: int, stop: int, bounds: list[tuple[int, int]]) -> Iterator[tuple]:
    """(block, lo, hi) of the images ``start:stop`` of a batch, split at block boundaries;
    lo/hi are offsets into the batch."""
    for block, (b_lo, b_hi) in enumerate(bounds):
        lo, hi = max(start, b_lo), min(stop, b_hi)
        if lo < hi:
            yield block, lo - start, hi - start


def _check_count(seen: int, n_images: int) -> None:
    if seen != n_images:
        raise RuntimeError(f"probe yielded {seen} images, expected {n_images}")


def network_moments(
    network: nn.Module,
    readouts: dict[str, str],
    batches: Iterable[torch.Tensor],
    n_images: int,
    blocks: int,
    advance: Callable[[int], object] | None = None,
) -> dict[str, BlockMoments]:
    """Within-net moments of every read-out layer, in one pass of one network; ``advance(n)``
    (a progress bar's ``update``) is called with the images of each batch done."""
    return _stream([network], readouts, batches, n_images, blocks, advance)


def network_cross_moments(
    net_a: nn.Module,
    net_b: nn.Module,
    readouts: dict[str, str],
    batches: Iterable[torch.Tensor],
    n_images: int,
    blocks: int,
    advance: Callable[[int], object] | None = None,
) -> dict[str, BlockMoments]:
    """Cross moments (x from A, y from B) of every read-out layer: both nets see each batch
    (``advance`` as in :func:`network_moments`)."""
    return _stream([net_a, net_b], readouts, batches, n_images, blocks, advance)


def _stream(
    networks: list[nn.Module],
    readouts: dict[str, str],
    batches: Iterable[torch.Tensor],
    n_images: int,
    blocks: int,
    advance: Callable[[int], object] | None,
) -> dict[str, BlockMoments]:
    """Per-block moments of x (first network) against y (last network; x itself if one)."""
    bounds, acc, seen = block_bounds(n_images, blocks), {}, 0
    done = advance or (lambda _: None)
    for start, n, outs in forward_layers(networks, readouts, batches):
        for layer in readouts:
            for block, lo, hi in block_pieces(start, start + n, bounds):
                x = as_samples(outs[0][layer][lo:hi])
                y = as_samples(outs[-1][layer][lo:hi]) if len(outs) > 1 else x
                if layer not in acc:
                    acc[layer] = DeviceMoments(blocks, x.shape[1], y.shape[1], x.device)
                acc[layer].add(block, x, y)
        seen = start + n
        done(n)
    _check_count(seen, n_images)
    return {layer: m.numpy() for layer, m in acc.items()}


def device() -> torch.device:
    """Where the networks run and the sums accumulate: the GPU of the job if it has one."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ------------------------------------------------------------------ similarity of a pair
#: one batch of a pair: (first image, image count, A's read-outs, B's read-outs)
PairBatch = tuple[int, int, dict[str, torch.Tensor], dict[str, torch.Tensor]]


def forward_pair(
    net_a: nn.Module,
    readouts_a: dict[str, str],
    batches_a: Iterable[torch.Tensor],
    net_b: nn.Module,
    readouts_b: dict[str, str],
    batches_b: Iterable[torch.Tensor] | None = None,
) -> Iterator[PairBatch]:
    """A's and B's read-outs of each batch: both nets on A's batches (``batches_b`` None, one
    loader), or each net on its own batches of the same number of images (B's in another
    order, or another architecture's preprocessing)."""
    if batches_b is None:
        for start, n, (out_a, out_b) in forward_layers([net_a, net_b], [readouts_a, readouts_b],
                                                       batches_a):
            yield start, n, out_a, out_b
        return
    both = zip(forward_layers([net_a], readouts_a, batches_a),
               forward_layers([net_b], readouts_b, batches_b), strict=True)
    for (start, n, (out_a,)), (start_b, n_b, (out_b,)) in both:
        if (start, n) != (start_b, n_b):
            raise RuntimeError(f"batches of {n} and {n_b} images at image {start}: the two "
                               "probe loaders must batch alike")
        yield start, n, out_a, out_b


def features(x: torch.Tensor, convention: str) -> torch.Tensor:
    """Float64 (samples × features) of a read-out under a convention that sums: not
    ``flatten`` (:func:`convergent.moments.as_features`, as for a dump)."""
    if convention == "flatten" and x.ndim > 2:
        raise ValueError(f"no sums of a {x.ndim}-d read-out under the 'flatten' convention")
    return as_features(x, convention)


class PairPass:
    """What one pass of a pair over the probe accumulates per layer: the cross sums (x from A,
    y from B) under the layer's convention (none under ``flatten``), the within sums of the
    sides asked for, and the per-image features of the subsample images of the sides asked
    for (CPU float64, in subsample order).

    ``convention(layer, shape_a, shape_b)`` gives a layer's convention from its read-out shapes
    (seen in the first batch); ``within(side, layer, convention)`` and ``collect(side, layer)``
    (side 0 = A, 1 = B) say what to add beyond the cross sums."""

    def __init__(
        self,
        layers: list[str],
        n_images: int,
        blocks: int,
        convention: Callable[[str, tuple, tuple], str],
        within: Callable[[int, str, str], bool] = lambda *_: False,
        collect: Callable[[int, str], bool] = lambda *_: False,
        subsample: np.ndarray | None = None,
        image_convention: str = "flatten",
    ) -> None:
        self.layers, self.n_images, self.blocks = layers, n_images, blocks
        self._convention, self._within, self._collect = convention, within, collect
        self.subsample, self.image_convention = subsample, image_convention
        self.conventions: dict[str, str] = {}
        self._cross: dict[str, DeviceMoments] = {}
        self.shapes: dict[str, tuple[tuple, tuple]] = {}  # per layer: A's, B's read-out shape
        self._within_sums: dict[tuple[int, str], DeviceMoments | None] = {}
        self._feats: dict[tuple[int, str], list[np.ndarray]] = {}

    def run(self, batches: Iterable[PairBatch], advance: Callable[[int], object] | None = None
            ) -> PairPass:
        bounds, seen = block_bounds(self.n_images, self.blocks), 0
        done = advance or (lambda _: None)
        for start, n, out_a, out_b in batches:
            outs = out_a, out_b
            if not self.conventions:
                self._start(outs)
            for layer in self.layers:
                self._add(layer, outs, start, n, bounds)
            seen = start + n
            done(n)
        _check_count(seen, self.n_images)
        return self

    def _start(self, outs: tuple[dict[str, torch.Tensor], ...]) -> None:
        for layer in self.layers:
            shape_a, shape_b = self.shapes[layer] = tuple(tuple(o[layer].shape[1:]) for o in outs)
            self.conventions[layer] = conv = self._convention(layer, shape_a, shape_b)
            for side in (0, 1):
                if conv != "flatten" and self._within(side, layer, conv):
                    self._within_sums[side, layer] = None
                if self._collect(side, layer):
                    self._feats[side, layer] = []

    def _add(self, layer: str, outs, start: int, n: int, bounds) -> None:
        conv = self.conventions[layer]
        if conv != "flatten":
            xs = [features(o[layer], conv) for o in outs]
            per_image = xs[0].shape[0] // n  # positions per image (1 under mean or fc)
            for block, lo, hi in block_pieces(start, start + n, bounds):
                x, y = (v[lo * per_image : hi * per_image] for v in xs)
                if layer not in self._cross:
                    self._cross[layer] = DeviceMoments(self.blocks, x.shape[1], y.shape[1],
                                                       x.device)
                self._cross[layer].add(block, x, y)
                for side, v in ((0, x), (1, y)):
                    if (side, layer) in self._within_sums:
                        if self._within_sums[side, layer] is None:
                            self._within_sums[side, layer] = DeviceMoments(
                                self.blocks, v.shape[1], v.shape[1], v.device)
                        self._within_sums[side, layer].add(block, v, v)
        if self._feats and self.subsample is not None:
            sub = self.subsample
            rows = sub[(sub >= start) & (sub < start + n)] - start
            for side in (0, 1):
                if (side, layer) in self._feats and len(rows):
                    x = outs[side][layer][torch.as_tensor(rows, device=outs[side][layer].device)]
                    self._feats[side, layer].append(
                        as_features(x.cpu().numpy(), self.image_convention))

    def cross(self, layer: str) -> BlockMoments:
        return self._cross[layer].numpy()

    def within(self, side: int, layer: str) -> BlockMoments | None:
        m = self._within_sums.get((side, layer))
        return None if m is None else m.numpy()

    def features(self, side: int, layer: str) -> np.ndarray | None:
        parts = self._feats.get((side, layer))
        return None if parts is None else np.concatenate(parts)
