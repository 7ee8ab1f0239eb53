"""HDF5 helpers shared by every result file kind (:mod:`convergent.io.layouts` spells the
groups): one clear error for a missing, corrupt or foreign file, and atomic writes of
``{group: {name: array}}`` with root attributes.

A *block* file holds several results of one kind, each a member group laid out like a whole
file (its groups and attributes): per-pair results, one member per partner of the block's
model (:func:`convergent.study.blocks`).  Its root attribute ``members`` lists them in order."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
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


def check_format(f: h5py.File, kind: str, versions: tuple[int, ...] = (FORMAT_VERSION,)) -> None:
    """Refuse a file that is not of ``kind`` in one of the format ``versions`` read."""
    found_kind = f.attrs.get("kind")
    found_version = f.attrs.get("format_version")
    if found_kind != kind or found_version not in versions:
        shown = " or ".join(map(str, versions))
        raise InputError(
            f"{f.filename}: expected a {kind} file of format_version {shown}, found "
            f"kind={found_kind!r} format_version={found_version!r}; delete it and rerun snakemake"
        )


def check_model(path: str | os.PathLike, found: Any, expected: str | None) -> None:
    """Refuse a results file that holds another model than the one its reader was asked for."""
    if expected is not None and found != expected:
        raise InputError(
            f"{path}: holds model {found!r}, expected {expected!r} (moved or swapped by hand?); "
            "delete it and rerun snakemake to rebuild it"
        )


Groups = dict[str, dict[str, np.ndarray]]


def _fill(root: h5py.Group, groups: Groups, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        root.attrs[key] = value
    for group, arrays in groups.items():
        g = root.require_group(group)
        for name, array in arrays.items():
            g.create_dataset(name, data=array)


def _new(tmp: os.PathLike, kind: str) -> h5py.File:
    f = h5py.File(tmp, "w")
    f.attrs["kind"] = kind
    f.attrs["format_version"] = FORMAT_VERSION
    return f


def write_arrays(
    path: str | os.PathLike, kind: str, groups: Groups, attrs: dict[str, Any]
) -> None:
    """Write ``{group: {name: array}}`` plus root attributes atomically as a ``kind`` file."""
    with atomic_path(path) as tmp, _new(tmp, kind) as f:
        _fill(f, groups, attrs)


@contextlib.contextmanager
def block_writer(
    path: str | os.PathLike, kind: str
) -> Iterator[Callable[[str, Groups, dict[str, Any]], None]]:
    """Yield ``add(member, groups, attrs)``; the block file appears, atomically, when the block
    ends without error.  Members are written as they come, so a job holds one at a time."""
    names: list[str] = []
    with atomic_path(path) as tmp:
        with _new(tmp, kind) as f:

            def add(member: str, groups: Groups, attrs: dict[str, Any]) -> None:
                _fill(f.create_group(member), groups, attrs)
                names.append(member)

            yield add
            f.attrs["members"] = names


def _root(f: h5py.File, member: str | None) -> h5py.Group:
    if member is None:
        return f
    if member not in f.attrs.get("members", []):
        raise InputError(
            f"{f.filename}: holds no {member!r} (it holds "
            f"{', '.join(f.attrs.get('members', [])) or 'no members'}); the study's pairs "
            "changed since it was written — rerun snakemake to rebuild it"
        )
    return f[member]


def read_members(path: str | os.PathLike, kind: str) -> list[str]:
    """The members of a ``kind`` block file, in the order they were written."""
    with open_h5(path, f"{kind} file") as f:
        check_format(f, kind)
        return [str(m) for m in f.attrs.get("members", [])]


def read_group(
    path: str | os.PathLike, kind: str, group: str, member: str | None = None
) -> dict[str, np.ndarray]:
    """Read every dataset of one group of a ``kind`` file (of one ``member`` of a block file)."""
    with open_h5(path, f"{kind} file") as f:
        check_format(f, kind)
        root = _root(f, member)
        if group not in root:
            raise InputError(
                f"{path}: has no {group!r} (it holds {', '.join(root)}); the config's layers "
                "changed since it was written — rerun snakemake to rebuild it"
            )
        return {name: ds[()] for name, ds in root[group].items()}


def read_attrs(path: str | os.PathLike, kind: str, member: str | None = None) -> dict[str, Any]:
    with open_h5(path, f"{kind} file") as f:
        check_format(f, kind)
        return dict(_root(f, member).attrs)
