"""Layer kinds, and the conventions that make a layer a (samples × features) matrix: one table.

A read-out layer is one of three kinds, told by the shape of one image's read-out:

======  =========  =========  ==========================================================
kind    per image  units      positions (the samples one image gives under ``positions``)
======  =========  =========  ==========================================================
fc      (C,)       C          1
conv    (C, H, W)  C          H·W, ordered row, column
tokens  (T, D)     D          T tokens, in order (a ViT's token 0 is its class token)
======  =========  =========  ==========================================================

Every convention is defined for every kind, so that two layers of different kinds (a CNN's
conv layer and a ViT block) are compared under one name:

==========  ========  =================  ===============================
convention  fc        conv               tokens
==========  ========  =================  ===============================
positions   N × C     (N·H·W) × C        (N·T) × D: every token a sample
mean        N × C     N × C (spatial)    N × D (mean over the T tokens)
flatten     N × C     N × (C·H·W)        N × (T·D)
cls         N × C     N × C (as mean)    N × D (token 0)
==========  ========  =================  ===============================

``positions`` is Li et al.'s convention for conv units, ``flatten`` Kornblith et al.'s for CKA;
``positions`` needs both layers of a pair on one grid of positions (the same H × W, or the same
T: :func:`grid_convention` falls back to ``mean`` otherwise, and the choice is recorded with
every number).  A conv layer has no class token: under ``cls`` it is averaged, as under
``mean``.  The functions take numpy arrays and torch tensors alike (the streamed path runs
them on the networks' device).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

CONVENTIONS = ("positions", "mean", "flatten", "cls")


@dataclass(frozen=True)
class LayerKind:
    """A kind of read-out: its name and the axis of one image's read-out that holds units
    (the other axes are positions)."""

    name: str
    unit_axis: int
    ndim: int

    def position_axes(self) -> tuple[int, ...]:
        """The position axes of a batch (N, ...) of this kind."""
        return tuple(1 + a for a in range(self.ndim) if a != self.unit_axis)


FC, CONV, TOKENS = LayerKind("fc", 0, 1), LayerKind("conv", 0, 3), LayerKind("tokens", 1, 2)
#: the kinds by the number of axes of one image's read-out
KINDS = {k.ndim: k for k in (FC, CONV, TOKENS)}
SHAPES = "(N, C), (N, C, H, W) or (N, T, D)"


def kind_of(shape: tuple[int, ...]) -> LayerKind:
    """The kind of a layer whose read-out of one image has ``shape``."""
    found = KINDS.get(len(shape))
    if found is None:
        raise ValueError(
            f"a read-out of shape (N, {', '.join(map(str, shape))}) is none of {SHAPES}"
        )
    return found


def units(shape: tuple[int, ...]) -> int:
    """Units of a layer whose read-out of one image has ``shape``."""
    return int(shape[kind_of(shape).unit_axis])


def grid(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The grid of positions of one image's read-out: (H, W), (T,) or () for fc."""
    k = kind_of(shape)
    return tuple(int(s) for a, s in enumerate(shape) if a != k.unit_axis)


def positions(shape: tuple[int, ...]) -> int:
    """Samples one image gives under ``positions`` (H·W, T, or 1)."""
    return int(np.prod(grid(shape), dtype=np.int64))


def _is_tensor(x: Any) -> bool:
    return not isinstance(x, np.ndarray) and hasattr(x, "movedim")


def _f64(x: Any) -> Any:
    return x.double() if _is_tensor(x) else np.asarray(x, dtype=np.float64)


def by_units(x: Any) -> Any:
    """A batch (N, ...) as (N, units, positions), positions in grid order."""
    k = kind_of(tuple(x.shape[1:]))
    unit = 1 + k.unit_axis
    x = x.movedim(unit, 1) if _is_tensor(x) else np.moveaxis(x, unit, 1)
    return x.reshape(x.shape[0], x.shape[1], -1)


def as_samples(x: Any) -> Any:
    """A batch (N, ...) under ``positions``: (samples × units) float64, samples ordered image,
    then position; fc (N, C) unchanged.

    For numpy, the result is a transposed view of a C-contiguous (units × samples) array: the
    copy moves whole position planes (cheap), and BLAS reads the view without another copy, so
    ``x.T @ y`` runs at full speed.
    """
    k = kind_of(tuple(x.shape[1:]))
    if k is FC:
        return _f64(x)
    unit, c = 1 + k.unit_axis, x.shape[1 + k.unit_axis]
    if _is_tensor(x):
        return x.movedim(unit, -1).reshape(-1, c).double()
    return np.ascontiguousarray(np.moveaxis(x, unit, 0), dtype=np.float64).reshape(c, -1).T


def as_features(x: Any, convention: str) -> Any:
    """A batch (N, ...) of any kind -> float64 (samples × features) under ``convention``."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; choose one of {CONVENTIONS}")
    k = kind_of(tuple(x.shape[1:]))
    if k is FC:
        return _f64(x)
    if convention == "positions":
        return as_samples(x)
    if convention == "flatten":
        return _f64(x.reshape(len(x), -1))
    if convention == "cls" and k is TOKENS:
        return _f64(x[:, 0])
    return _f64(x).mean(k.position_axes())


def grid_convention(conv: str, shape_a: tuple, shape_b: tuple) -> str:
    """``positions`` needs both layers on the same grid of positions (their per-image shapes
    ``shape_a``, ``shape_b``); otherwise fall back to ``mean`` (the choice is recorded with
    every number)."""
    if conv != "positions":
        return conv
    return conv if grid(tuple(shape_a)) == grid(tuple(shape_b)) else "mean"
