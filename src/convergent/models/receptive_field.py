"""Receptive fields of read-out units, computed from the architecture.

Walking the modules in forward order up to the read-out module, every Conv2d / MaxPool2d /
AvgPool2d with kernel k, stride s and padding p updates (per axis)

    size  ← size + (k − 1)·jump        (pixels of input one output unit sees)
    first ← first − p·jump             (input coordinate of the top-left pixel of unit (0, 0))
    jump  ← jump·s                      (input pixels between neighbouring output units)

(dilation d replaces k by d(k − 1) + 1).  Element-wise modules (ReLU, BatchNorm, LRN, dropout)
leave it unchanged.  Unit (i, j) of the read-out sees input rows first + i·jump … + size − 1
(some of which may lie in the padding).  After a Linear layer (fc units) the field is the whole
image; :func:`receptive_field` returns None.  So it does for a kernel, stride or padding that is
not square, and for a network that is not a chain: the walk assumes modules run in registration
order, which holds when every module above a layer (below the root) is an ``nn.Sequential``; a
residual or branching network (torchvision ResNets, a transformer, a custom ``forward``) gets
None, and its units' patches show the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn


@dataclass(frozen=True)
class ReceptiveField:
    """Square receptive field: ``size`` pixels, ``stride`` (jump) and top-left ``first``."""

    size: int
    stride: int
    first: int

    def window(self, i: int, j: int) -> tuple[int, int]:
        """Top-left input coordinate (row, col) of the field of output position (i, j)."""
        return self.first + i * self.stride, self.first + j * self.stride


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _spatial_ops(network: nn.Module, readout: str) -> list[nn.Module] | None:
    """The modules executed up to and including ``readout`` (with everything inside it, if it
    is a container), in order (leaf modules only); None if some module above one of them is not
    a Sequential (the order is then unknown)."""
    modules = dict(network.named_modules())
    if readout not in modules:
        raise ValueError(f"module {readout!r} not found in the network")
    ops, seen = [], False
    for name, module in modules.items():
        inside = name == readout or name.startswith(readout + ".")
        if seen and not inside:
            break
        seen = seen or inside
        if len(list(module.children())) == 0:
            parents = name.split(".")[:-1]
            above = [".".join(parents[: k + 1]) for k in range(len(parents))]
            if not all(isinstance(modules[p], nn.Sequential) for p in above):
                return None
            ops.append(module)
    return ops


def receptive_field(network: nn.Module, readout: str) -> ReceptiveField | None:
    """The receptive field of the units read at module ``readout`` (None: the whole image).

    The network's modules must run in registration order (true for the Sequential-built
    architectures of :mod:`convergent.models`); None where that cannot be assumed (see above).
    """
    size, jump, first = 1, 1, 0
    ops = _spatial_ops(network, readout)
    if ops is None:
        return None
    for m in ops:
        if isinstance(m, nn.Linear | nn.Flatten | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            return None
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
            d = _pair(getattr(m, "dilation", 1))
            if k[0] != k[1] or s[0] != s[1] or p[0] != p[1] or d[0] != d[1]:
                return None  # a field that is not square: not computed (whole images shown)
            k_eff = d[0] * (k[0] - 1) + 1
            size += (k_eff - 1) * jump
            first -= p[0] * jump
            jump *= s[0]
    return ReceptiveField(size, jump, first)


def crop(image: np.ndarray, rf: ReceptiveField | None, i: int, j: int, fill: float = 0.0):
    """The (C, size, size) patch of ``image`` (C, H, W) seen by output position (i, j).

    Pixels of the field outside the image (the zero padding) are filled with ``fill``; ``rf``
    None returns the whole image.
    """
    if rf is None:
        return image
    c, h, w = image.shape
    out = np.full((c, rf.size, rf.size), fill, dtype=image.dtype)
    top, left = rf.window(i, j)
    r0, r1 = max(top, 0), min(top + rf.size, h)
    c0, c1 = max(left, 0), min(left + rf.size, w)
    if r0 < r1 and c0 < c1:
        out[:, r0 - top : r1 - top, c0 - left : c1 - left] = image[:, r0:r1, c0:c1]
    return out
