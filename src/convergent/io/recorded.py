"""Activations recorded elsewhere (JAX, TensorFlow, a brain): the minimal file format, its writer
and its checked reader.

A file is ``.npz`` (``numpy.savez``) or HDF5 (``.h5``/``.hdf5``) holding named arrays:

* one array per layer, (N, C) fc, (N, C, H, W) conv or (N, T, D) tokens, row i for stimulus i;
  its name is the one the architecture's ``layers`` give the layer (an npz key; in HDF5 a
  dataset path, groups allowed);
* ``stimuli`` (N,): which images the rows are, in order — integers: the images' indices in the
  probe split of the dataset; or strings: their ids (for an image folder the image's path
  relative to the split's folder, e.g. ``n01440764/ILSVRC2012_val_00000293.JPEG``; for an
  in-memory dataset the index as text).

Channels-last conv arrays (N, H, W, C), as JAX and TensorFlow make them, are transposed to
(N, C, H, W) before saving (:func:`save_activations` does it with ``channels_last``).  The
workflow imports such a file as the model's activation dump (rule ``import_activations``),
after checking that its stimuli are the study's probe images in the probe's order.

This is not the activation dump of :mod:`convergent.io.activations` (which the workflow writes
and reads); it is what a user writes by hand, so it asks for nothing but the arrays.  (Its
own module: io/activations.py holds the dump, and both together would pass 350 lines.)
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from convergent.io.files import InputError, atomic_path

#: the array of stimulus ids (or probe indices) beside the layers
STIMULI = "stimuli"
SUFFIXES = (".npz", ".h5", ".hdf5")


def save_activations(
    path: str | os.PathLike,
    layers: Mapping[str, Any],
    stimuli: Sequence[int] | Sequence[str] | np.ndarray,
    channels_last: bool | Sequence[str] = False,
) -> str:
    """Write activations recorded elsewhere in the minimal format (the module doc), atomically.

    ``layers``: ``{name: array (N, ...)}``, e.g. ``{"block1": jax_array, ...}`` (anything
    ``numpy.asarray`` takes; kept in its dtype); ``stimuli``: the N probe images the rows are,
    as probe-split indices or string ids; ``channels_last``: True (every 4-d array) or the names
    of the 4-d arrays that are (N, H, W, C), transposed to (N, C, H, W).  The suffix of ``path``
    chooses the container: ``.npz`` or ``.h5``/``.hdf5``.  Returns ``path``.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: name the file .npz, .h5 or .hdf5")
    ids = _stimuli_array(stimuli)
    last = set(layers) if channels_last is True else set(channels_last or ())
    arrays = {}
    for name, values in layers.items():
        x = np.asarray(values)
        if name == STIMULI:
            raise ValueError(f"layer name {STIMULI!r} is the stimuli's; rename the layer")
        if name in last:
            if x.ndim != 4:
                raise ValueError(
                    f"layers[{name!r}]: channels-last needs (N, H, W, C), not {x.shape}")
            x = x.transpose(0, 3, 1, 2)
        problem = _layer_problem(x.shape, len(ids))
        if problem:
            raise ValueError(f"layers[{name!r}]: {problem}")
        arrays[name] = x
    with atomic_path(path) as tmp:
        if suffix == ".npz":
            with open(tmp, "wb") as f:  # a file object: numpy would append .npz to the name
                np.savez(f, **arrays, **{STIMULI: ids})
        else:
            with h5py.File(tmp, "w") as f:
                for name, x in arrays.items():
                    f.create_dataset(name, data=x)
                strings = ids.dtype.kind == "U"  # HDF5 stores text as variable-length UTF-8
                f.create_dataset(STIMULI, data=ids.astype(object) if strings else ids,
                                 dtype=h5py.string_dtype() if strings else None)
    return str(path)


def _stimuli_array(stimuli: Any) -> np.ndarray:
    ids = np.asarray(stimuli)
    if ids.ndim != 1 or not len(ids):
        raise ValueError("stimuli: give one id or probe index per row, a 1-d list")
    if np.issubdtype(ids.dtype, np.integer):
        return ids.astype(np.int64)
    if ids.dtype.kind in "US" or ids.dtype == object:
        return np.asarray([str(s) for s in ids], dtype=str)
    raise ValueError(f"stimuli: integers (probe-split indices) or strings, not {ids.dtype}")


def _layer_problem(shape: tuple[int, ...], n: int) -> str | None:
    """What is wrong with a layer array of ``shape`` for ``n`` stimuli (None: nothing)."""
    from convergent.moments.conventions import SHAPES, kind_of

    if not shape or shape[0] != n:
        return f"{shape[0] if shape else 0} rows for {n} stimuli; give one row per stimulus"
    try:
        kind_of(tuple(shape[1:]))
    except ValueError:
        return f"shape {tuple(shape)} is none of {SHAPES}"
    return None


def check_stimuli(path: str, found: np.ndarray, want: np.ndarray, probe: str) -> None:
    """The file's stimuli ``found`` are the probe images ``want`` in the probe's order (their
    probe-split indices, or their string ids); else one line naming the file."""
    if len(found) == len(want) and np.array_equal(found, want):
        return
    if len(found) != len(want):
        detail = f"{len(found)} stimuli, the probe set has {len(want)}"
    elif np.array_equal(np.sort(found), np.sort(want)):
        detail = "the probe's images in another order; order the rows as the probe (by index)"
    else:
        row = int(np.flatnonzero(found != want)[0])
        detail = f"row {row} is {found[row]!r}, the probe's image {want[row]!r}"
    raise InputError(
        f"{path}: its stimuli are not the study's probe images ({detail}); record the "
        f"probe set {probe} (docs/own_networks.md: which images, in which order)"
    )


class RecordedFile:
    """A checked, read-only view of a file of activations recorded elsewhere."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        suffix = Path(path).suffix.lower()
        if suffix not in SUFFIXES:
            raise InputError(f"{path}: not a .npz, .h5 or .hdf5 file of recorded activations")
        if not Path(path).is_file():
            raise InputError(f"{path}: file of recorded activations not found")
        self.npz = suffix == ".npz"
        try:
            self._file = zipfile.ZipFile(path) if self.npz else h5py.File(path, "r")
        except (OSError, zipfile.BadZipFile) as err:
            raise InputError(f"{path}: not a readable {suffix[1:]} file ({err})") from None
        self.stimuli = self.array(STIMULI)
        if self.stimuli.ndim != 1:
            raise InputError(f"{path}: {STIMULI} is {self.stimuli.shape}, not one id per row")
        if self.stimuli.dtype.kind in "SO":  # HDF5 strings come back as bytes
            self.stimuli = self.stimuli.astype(str)

    def __enter__(self) -> RecordedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def names(self) -> list[str]:
        """Every array the file holds (layers and ``stimuli``)."""
        if self.npz:
            return [n.removesuffix(".npy") for n in self._file.namelist()]
        found: list[str] = []
        self._file.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
        return found

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of array ``name``, without reading it."""
        self._require(name)
        if not self.npz:
            return tuple(self._file[name].shape)
        with self._file.open(name + ".npy") as f:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            return tuple(read(f)[0])

    def array(self, name: str) -> np.ndarray:
        """Array ``name``, read whole."""
        self._require(name)
        if not self.npz:
            return self._file[name][()]
        with self._file.open(name + ".npy") as f:
            return np.lib.format.read_array(f, allow_pickle=False)

    def check_layers(self, arrays: Mapping[str, str]) -> None:
        """Each layer's array (``{layer: array name}``) exists with one row per stimulus and the
        shape of a layer kind; else one line naming the file and the layer."""
        for layer, name in arrays.items():
            problem = _layer_problem(self.shape(name), len(self.stimuli))
            if problem:
                raise InputError(f"{self.path}: layer {layer!r} (array {name!r}): {problem}")

    def _require(self, name: str) -> None:
        if name not in self.names():
            have = ", ".join(n for n in self.names() if n != STIMULI) or "none"
            raise InputError(
                f"{self.path}: no array {name!r} (it holds {have}); name the arrays as the "
                "architecture's layers do (docs/own_networks.md)"
            )
