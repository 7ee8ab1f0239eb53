"""What the public API accepts: numpy arrays (or anything ``np.asarray`` takes) and torch tensors
on any device, checked once, with a one-line error naming the argument and the shape expected.

A matrix is (samples × units): rows are the same samples on both sides of a measure.  Tensors
keep their device (the measures compute there where their algebra allows) and are detached;
float32 stays float32 (see :mod:`convergent.api.products` for its precision), float16/bfloat16
become float32, integers and booleans float64.  torch is imported only when a tensor is given,
so numpy users never load it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: a checked matrix: a numpy array or a torch tensor, float32 or float64, 2-D
Matrix = Any


def is_tensor(x: object) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch)."""
    return any(c.__module__.startswith("torch") and c.__name__ in ("Tensor", "Parameter")
               for c in type(x).__mro__)


def _floating(x: Matrix) -> Matrix:
    if is_tensor(x):
        import torch

        x = x.detach()
        if x.is_complex():
            raise TypeError("complex tensors are not supported; pass real activations")
        if x.dtype in (torch.float16, torch.bfloat16):
            return x.float()
        return x if x.dtype in (torch.float32, torch.float64) else x.double()
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise TypeError("complex arrays are not supported; pass real activations")
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def _shape_error(name: str, shape: tuple[int, ...]) -> str:
    shown = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    expected = f"{name}: expected a (samples × units) matrix, got shape {shown}"
    if len(shape) == 0:
        return f"{expected}: a scalar"
    if len(shape) == 1:
        return f"{expected}: for a single unit pass {name}[:, None]"
    if len(shape) == 3:
        return f"{expected}: a batch of matrices? pass one (n × p) matrix per call ({name}[b])"
    if len(shape) == 4:
        return (f"{expected}: conv activations (N, C, H, W)? make them a matrix with "
                "convergent.features(x, 'positions' | 'mean' | 'flatten')")
    return expected


def _finite(x: Matrix) -> bool:
    """All values finite; the sum is a cheap first check (NaN and inf survive summation)."""
    if is_tensor(x):
        return bool(x.sum().isfinite()) or bool(x.isfinite().all())
    return bool(np.isfinite(x.sum())) or bool(np.isfinite(x).all())


def matrix(x: Any, name: str = "x", min_rows: int = 2) -> Matrix:
    """``x`` as a checked (samples × units) float matrix (numpy, or a tensor on its device)."""
    x = _floating(x)
    shape = tuple(x.shape)
    if len(shape) != 2:
        raise ValueError(_shape_error(name, shape))
    if shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} samples (rows), got shape {shape}")
    if shape[1] < 1:
        raise ValueError(f"{name}: has no units (columns), shape {shape}")
    if not _finite(x):
        raise ValueError(f"{name}: holds NaN or infinite values; measures need finite "
                         "activations")
    return x


def pair(x: Any, y: Any, min_rows: int = 2) -> tuple[Matrix, Matrix]:
    """``x`` and ``y`` checked as matrices of the same samples, on one device, one dtype
    (a numpy side joins the tensor's device; float32 meets float64 as float64)."""
    x, y = matrix(x, "x", min_rows), matrix(y, "y", min_rows)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y: x has {x.shape[0]} rows (samples) and y has {y.shape[0]}; rows must be "
            "the same samples, in the same order"
        )
    return same_place(x, y)


def same_place(x: Matrix, y: Matrix) -> tuple[Matrix, Matrix]:
    """``x`` and ``y`` on one device with one dtype (see :func:`pair`)."""
    if is_tensor(x) or is_tensor(y):
        import torch

        device = (x if is_tensor(x) else y).device
        x, y = (v if is_tensor(v) else torch.from_numpy(np.ascontiguousarray(v)).to(device)
                for v in (x, y))
        if x.device != y.device:
            raise ValueError(f"x and y: x is on {x.device} and y on {y.device}; put both on "
                             "one device")
        if x.dtype != y.dtype:
            x, y = x.double(), y.double()
        return x, y
    if x.dtype != y.dtype:
        x, y = x.astype(np.float64), y.astype(np.float64)
    return x, y


def numpy64(x: Matrix) -> np.ndarray:
    """A float64 numpy copy of a matrix (for the measures that run on the CPU)."""
    if is_tensor(x):
        return x.double().cpu().numpy()
    return np.asarray(x, dtype=np.float64)
