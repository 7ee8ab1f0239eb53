"""Where the float64 block sums of a job are accumulated: numpy on the CPU, or torch on a
device (``analysis.sums_device``).

A dump-based job's sums (one model's within sums XᵀX, a pair's cross sums XᵀY, per probe block)
are GEMMs over every sample of the probe set: at paper scale (50,000 images × positions, up to
4,096 units) they are most of a similarity job's arithmetic.  With ``sums_device``

* ``cpu``: numpy (BLAS on the job's threads), as always;
* ``cuda``: torch, float64 on the job's GPU (the chunks are copied there; only the p × q sums
  come back);
* ``auto``: ``cuda`` where torch and a CUDA device are there and a layer's products are at least
  :data:`AUTO_MIN_FLOP` (below it, starting CUDA and copying the chunks cost more than the
  products save: benchmarks/gpu.py section g), else ``cpu``.

Both give the same sums up to the order of floating-point summation (about 1e-15 relative).
The analysis environment has no torch: ``auto`` then stays on numpy, and torch is imported only
when a layer goes to a device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convergent.analysis.blocks import BlockMoments
from convergent.io import InputError

SUMS_DEVICES = ("auto", "cpu", "cuda")
#: ``auto`` accumulates a layer on the GPU from this many FLOP of products (2·samples·p·q) on;
#: measured on an H200 against 16 CPU cores (benchmarks/gpu.py, section g)
AUTO_MIN_FLOP = 2e11


def spec_sums_device(spec: dict[str, Any]) -> str:
    """A step spec's ``sums_device``: common.smk leaves it out at the schema's default, auto."""
    return spec.get("sums_device", "auto")


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def backend(sums_device: str, flop: float) -> str | None:
    """Where one layer's sums go: None for numpy, else a torch device name."""
    if sums_device == "cpu":
        return None
    if sums_device == "cuda":
        if not _cuda():
            raise InputError(
                "analysis.sums_device: cuda, but this job sees no CUDA device (or has no torch); "
                "use auto or cpu, or give the job a GPU"
            )
        return "cuda"
    if sums_device == "auto":
        return "cuda" if flop >= AUTO_MIN_FLOP and _cuda() else None
    if sums_device.startswith("torch:"):  # torch on a named device (the tests: torch:cpu)
        return sums_device.removeprefix("torch:")
    raise ValueError(f"unknown sums device {sums_device!r}; choose one of {SUMS_DEVICES}")


class DeviceMoments:
    """:class:`BlockMoments` accumulated as float64 tensors on a torch device."""

    def __init__(self, blocks: int, p: int, q: int, device: Any) -> None:
        import torch

        self.device = torch.device(device)
        f64 = {"dtype": torch.float64, "device": self.device}
        self.count = torch.zeros(blocks, **f64)
        self.sum_x = torch.zeros(blocks, p, **f64)
        self.sum_y = torch.zeros(blocks, q, **f64)
        self.sum_xy = torch.zeros(blocks, p, q, **f64)

    def _tensor(self, x: Any) -> Any:
        import torch

        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(self.device, torch.float64)

    def add(self, block: int, x: Any, y: Any = None) -> None:
        """Accumulate one chunk of (samples × units) rows (numpy arrays or tensors) of both
        sides into ``block`` (``y`` None: x's within sums)."""
        x = self._tensor(x)
        y = x if y is None else self._tensor(y)
        self.count[block] += x.shape[0]
        self.sum_x[block] += x.sum(0)
        self.sum_y[block] += y.sum(0)
        self.sum_xy[block] += x.T @ y

    def numpy(self) -> BlockMoments:
        c = lambda t: t.cpu().numpy()  # noqa: E731
        return BlockMoments(c(self.count), c(self.sum_x), c(self.sum_y), c(self.sum_xy))


Sums = BlockMoments | DeviceMoments


def zeros(blocks: int, p: int, q: int, sums_device: str = "cpu", samples: int = 0) -> Sums:
    """Empty sums of ``blocks`` blocks of p × q products over ``samples`` samples in all, where
    ``sums_device`` puts them."""
    device = backend(sums_device, 2.0 * samples * p * q)
    return BlockMoments.zeros(blocks, p, q) if device is None else DeviceMoments(
        blocks, p, q, device)


def result(sums: Sums) -> BlockMoments:
    """The sums as numpy :class:`BlockMoments` (from a device: copied back)."""
    return sums.numpy() if isinstance(sums, DeviceMoments) else sums
