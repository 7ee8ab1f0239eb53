"""Per-layer features of the probe images under a stated conv-layer convention, streamed.

Conventions for a conv layer (N, C, H, W); a fc layer (N, C) is the same under all three:

* ``positions``: a channel is a feature, images × positions are samples — (N·H·W) × C, the
  convention of Li et al.'s unit correlations;
* ``mean``: spatially averaged, N × C;
* ``flatten``: N × (C·H·W), Kornblith et al.'s convention for CKA.

``positions`` needs both layers on one spatial grid (:func:`effective_convention`).
"""

from __future__ import annotations

import numpy as np

from convergent.io import InputError
from convergent.io.activations import ActivationFile

CONVENTIONS = ("positions", "mean", "flatten")


def as_features(x: np.ndarray, convention: str) -> np.ndarray:
    """(N, C, H, W) or (N, C) activations -> float64 (samples × features) under ``convention``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        return x
    if convention == "positions":
        return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
    if convention == "mean":
        return x.mean(axis=(2, 3))
    if convention == "flatten":
        return x.reshape(len(x), -1)
    raise ValueError(f"unknown conv convention {convention!r}; choose one of {CONVENTIONS}")


def effective_convention(
    fa: ActivationFile, la: str, fb: ActivationFile, lb: str, conv: str
) -> str:
    """``positions`` needs both layers on the same spatial grid; otherwise fall back to
    ``mean`` (the choice is recorded with every number)."""
    return grid_convention(conv, fa.layer(la).shape[1:], fb.layer(lb).shape[1:])


def grid_convention(conv: str, shape_a: tuple, shape_b: tuple) -> str:
    """:func:`effective_convention` of two layers' per-image shapes ((C, H, W) or (C,))."""
    if conv != "positions":
        return conv
    return conv if tuple(shape_a[1:]) == tuple(shape_b[1:]) else "mean"


def read_rows(f: ActivationFile, layer: str, index: np.ndarray) -> np.ndarray:
    """Images ``index`` (any order, no repeats) of a layer, in that order, as stored.

    Reads whole HDF5 chunks and selects in memory: h5py's point selection of scattered rows is
    an order of magnitude slower, and every chunk holding a wanted row is decompressed anyway.
    """
    ds = f.layer(layer)
    order = np.argsort(index)
    wanted = index[order]
    step = ds.chunks[0] if ds.chunks else len(ds)
    parts = []
    try:
        for lo in range(wanted[0] // step * step, wanted[-1] + 1, step):
            sel = wanted[(wanted >= lo) & (wanted < lo + step)]
            if len(sel):
                parts.append(ds[lo : lo + step][sel - lo])
    except OSError as err:
        raise InputError(
            f"{f.path}: layer {layer!r} is unreadable ({err}); delete it and rerun snakemake"
        ) from None
    data = np.concatenate(parts)
    out = np.empty_like(data)
    out[order] = data
    return out


def image_features(f: ActivationFile, layer: str, index: np.ndarray, convention: str) -> np.ndarray:
    """Per-image features (``mean`` or ``flatten``) of the probe images ``index``."""
    if convention == "positions":
        raise ValueError("per-image features need the 'mean' or 'flatten' convention")
    return as_features(read_rows(f, layer, index), convention)
