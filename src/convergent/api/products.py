"""The O(n·p·q) part of every measure: products of centred activations, computed where the
activations are (numpy on the CPU, a torch tensor on its device) and returned as float64 numpy
matrices for the measure functions of :mod:`convergent.analysis.similarity` (small: p × q,
never n × p).

Precision.  float64 input: one float64 product, as the workflow computes it.  float32 input:
each block of ``ROW_BLOCK`` rows is multiplied in float32 and the blocks are summed in float64,
so the error is that of a float32 dot product of ``ROW_BLOCK`` terms (relative ~1e-6 of the
entries' scale, float32 carries 7 digits) and does not grow with n.  Columns are centred with
float64 means before the product (raw sums would lose the digits a large mean cancels).
"""

from __future__ import annotations

import numpy as np

from convergent.api.inputs import Matrix, is_tensor

ROW_BLOCK = 4096


def f64(x: Matrix) -> Matrix:
    """``x`` as float64, in place where it already is."""
    return x.double() if is_tensor(x) else x.astype(np.float64, copy=False)


def _is64(x: Matrix) -> bool:
    return str(x.dtype).endswith("float64")


def numpy(x: Matrix) -> np.ndarray:
    """A float64 numpy array of a (small) result."""
    return f64(x).cpu().numpy() if is_tensor(x) else np.asarray(x, dtype=np.float64)


def like(a: np.ndarray, x: Matrix) -> Matrix:
    """The numpy array ``a`` where ``x`` is (its device, float64)."""
    if is_tensor(x):
        import torch

        return torch.from_numpy(np.ascontiguousarray(a)).to(x.device)
    return a


def column_mean(x: Matrix) -> Matrix:
    """Column means accumulated in float64, on ``x``'s device."""
    if is_tensor(x):
        import torch

        return x.mean(0, dtype=torch.float64)
    return x.mean(0, dtype=np.float64)


def centred(x: Matrix) -> Matrix:
    """``x`` with its columns centred (float64 means), in ``x``'s dtype and place."""
    mean = column_mean(x)
    return x - (mean.to(x.dtype) if is_tensor(x) else mean.astype(x.dtype))


def cross(a: Matrix, b: Matrix) -> np.ndarray:
    """aᵀb (p × q, float64 numpy) of two matrices of the same rows, in one place."""
    if a is b:
        return _accumulate(a, a)  # one operand: numpy's BLAS syrk, half a GEMM
    return _accumulate(*_one_place(a, b))


def gram(a: Matrix) -> np.ndarray:
    """a aᵀ (n × n, float64 numpy), summed over blocks of columns for float32."""
    t = a.T
    return _accumulate(t, t)


def column_squares(a: Matrix) -> np.ndarray:
    """Σ a² per column (float64 numpy)."""
    if is_tensor(a):
        import torch

        return numpy((a * a).sum(0, dtype=torch.float64))
    return np.einsum("ij,ij->j", a, a, dtype=np.float64)


def total_squares(a: Matrix) -> float:
    """Σ a² over every entry (float64)."""
    return float(column_squares(a).sum())


def _one_place(a: Matrix, b: Matrix) -> tuple[Matrix, Matrix]:
    if is_tensor(a) != is_tensor(b):
        a, b = (like(v, b if is_tensor(b) else a) if not is_tensor(v) else v for v in (a, b))
    if _is64(a) != _is64(b):
        a, b = f64(a), f64(b)
    return a, b


def _accumulate(a: Matrix, b: Matrix) -> np.ndarray:
    """aᵀb; float32 operands in float32 products over row blocks, summed in float64."""
    n = a.shape[0]
    if _is64(a) or n <= ROW_BLOCK:
        return numpy(a.T @ b)
    if is_tensor(a):
        import torch

        out = torch.zeros(a.shape[1], b.shape[1], dtype=torch.float64, device=a.device)
    else:
        out = np.zeros((a.shape[1], b.shape[1]))
    same = a is b
    for lo in range(0, n, ROW_BLOCK):
        block = a[lo : lo + ROW_BLOCK]
        out += f64(block.T @ (block if same else b[lo : lo + ROW_BLOCK]))
    return numpy(out)
