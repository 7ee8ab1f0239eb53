"""HDF5 helpers shared by every result file kind (:mod:`convergent.io.layouts` spells the
groups): one clear error for a missing, corrupt or foreign file, and atomic writes of
``{group: {name: array}}`` with root attributes."""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np

from convergent.io.files import InputError, atomic_path

FORMAT_VERSION = 1


def open_h5(path: str | os.PathLike, what: str) -> h5py.File:
    """Open an HDF5 file for reading, or raise one clear error if it is missing or corrupt."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found; rerun the rule that makes it") from None
    except OSError as err:
        raise InputError(
            f"{path}: not a readable HDF5 {what} ({err}); the file is truncated or corrupt — "
            "delete it and rerun snakemake to rebuild it"
        ) from None


def check_format(f: h5py.File, kind: str) -> None:
    found_kind = f.attrs.get("kind")
    found_version = f.attrs.get("format_version")
    if found_kind != kind or found_version != FORMAT_VERSION:
        raise InputError(
            f"{f.filename}: expected a {kind} file of format_version {FORMAT_VERSION}, found "
            f"kind={found_kind!r} format_version={found_version!r}; delete it and rerun snakemake"
        )


def check_model(path: str | os.PathLike, found: Any, expected: str | None) -> None:
    """Refuse a results file that holds another model than the one its reader was asked for."""
    if expected is not None and found != expected:
        raise InputError(
            f"{path}: holds model {found!r}, expected {expected!r} (moved or swapped by hand?); "
            "delete it and rerun snakemake to rebuild it"
        )


def write_arrays(
    path: str | os.PathLike,
    kind: str,
    groups: dict[str, dict[str, np.ndarray]],
    attrs: dict[str, Any],
) -> None:
    """Write ``{group: {name: array}}`` plus root attributes atomically as a ``kind`` file."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["kind"] = kind
        f.attrs["format_version"] = FORMAT_VERSION
        for key, value in attrs.items():
            f.attrs[key] = value
        for group, arrays in groups.items():
            g = f.require_group(group)
            for name, array in arrays.items():
                g.create_dataset(name, data=array)


def read_group(path: str | os.PathLike, kind: str, group: str) -> dict[str, np.ndarray]:
    """Read every dataset of one group of a ``kind`` file written by :func:`write_arrays`."""
    with open_h5(path, f"{kind} file") as f:
        check_format(f, kind)
        if group not in f:
            raise InputError(
                f"{path}: has no {group!r} (it holds {', '.join(f)}); the config's layers changed "
                "since it was written — rerun snakemake to rebuild it"
            )
        return {name: ds[()] for name, ds in f[group].items()}


def read_attrs(path: str | os.PathLike, kind: str) -> dict[str, Any]:
    with open_h5(path, f"{kind} file") as f:
        check_format(f, kind)
        return dict(f.attrs)
