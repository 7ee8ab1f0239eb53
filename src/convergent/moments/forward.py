"""Moments streamed from the networks' forward pass, for probe sets too big to dump (ImageNet).

With ``probe.stream: true`` no activation file is needed for the correlation analysis: the
``stream_moments`` rule runs one network over the probe images once and accumulates every
layer's within-net moments (:func:`network_moments`); the ``stream_compare`` rule runs a pair's
two networks on the same batches and accumulates their cross moments
(:func:`network_cross_moments`), then writes the pair files exactly as the ``compare`` rule
does.  Sums are float64 (as Li et al. did: conv1 means of ~100 over 1.5e8 samples) and are kept
on the networks' device.  Samples are images × positions for conv layers and images are
assigned to the same probe blocks as in the dump-based path
(:func:`convergent.analysis.blocks.block_bounds`), so both paths give the same numbers up to
the order of floating-point summation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from convergent.analysis.blocks import BlockMoments, block_bounds
from convergent.models.readout import forward_layers


class DeviceMoments:
    """:class:`BlockMoments` accumulated as float64 tensors on a device."""

    def __init__(self, blocks: int, p: int, q: int, device: torch.device) -> None:
        f64 = {"dtype": torch.float64, "device": device}
        self.count = torch.zeros(blocks, **f64)
        self.sum_x = torch.zeros(blocks, p, **f64)
        self.sum_y = torch.zeros(blocks, q, **f64)
        self.sum_xy = torch.zeros(blocks, p, q, **f64)

    def add(self, block: int, x: torch.Tensor, y: torch.Tensor) -> None:
        """Accumulate (samples × units) float64 rows of both sides into ``block``."""
        self.count[block] += x.shape[0]
        self.sum_x[block] += x.sum(0)
        self.sum_y[block] += y.sum(0)
        self.sum_xy[block] += x.T @ y

    def numpy(self) -> BlockMoments:
        c = lambda t: t.cpu().numpy()  # noqa: E731
        return BlockMoments(c(self.count), c(self.sum_x), c(self.sum_y), c(self.sum_xy))


def _samples(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N·H·W, C); (N, C) unchanged; float64 (the accumulation type)."""
    if x.ndim == 4:
        x = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    return x.to(torch.float64)


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
                x = _samples(outs[0][layer][lo:hi])
                y = _samples(outs[-1][layer][lo:hi]) if len(outs) > 1 else x
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
