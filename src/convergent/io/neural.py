"""Neural data: recorded responses of sites (IT, V4, ...) to stimuli of the study's dataset, one
HDF5 file that a user brings (``neural.path``) or that the demo's generator writes.

Layout (``kind="neural"``, ``format_version`` 1; docs/neural.md)::

    /attrs           kind, format_version, dataset (e.g. fashion_mnist), split (test | train),
                     source (who recorded what, or the generator); any other provenance
                     attributes (subject, date, units, ...) are kept and not read
    /stimuli/index   (S,) integer: dataset indices (in ``split``) of the stimuli, no repeats;
                     every one must be a probe image of the study (probe.split/size/seed)
    /responses       (S, sites, repetitions) real, finite; S ≥ 1, repetitions ≥ 2
    /sites/area      (sites,) string: each site's area label (e.g. "IT", "V4")
    /sites/name      (sites,) string, optional: site names (default site000, site001, ...)

:func:`read` checks all of it and refuses a malformed file in one line naming the file and the
fix (an :class:`~convergent.io.InputError`); it leaves out the sites whose mean response is the
same for every stimulus (nothing to predict, no ceiling), and refuses an area left without one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from convergent.io.files import InputError, atomic_path
from convergent.io.hdf5 import FORMAT_VERSION

KIND = "neural"
#: provenance attributes every file must carry
REQUIRED_ATTRS = ("dataset", "split", "source")
SPLITS = ("test", "train")
FIX = "see docs/neural.md for the format"


@dataclass(frozen=True)
class NeuralData:
    """A checked neural data file: stimuli (dataset indices), responses (stimuli × sites ×
    repetitions), each site's area and name, and the root attributes."""

    path: str
    index: np.ndarray
    responses: np.ndarray
    areas: np.ndarray
    names: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)
    #: sites of the file left out: their mean response is the same for every stimulus
    constant: tuple[str, ...] = ()

    @property
    def exclusion_note(self) -> str | None:
        """One line naming the sites left out (:attr:`constant`), or None."""
        if not self.constant:
            return None
        shown = ", ".join(self.constant[:5]) + (", ..." if len(self.constant) > 5 else "")
        return (f"{self.path}: {len(self.constant)} site(s) left out ({shown}): their mean "
                "response is the same for every stimulus, nothing to predict")

    @property
    def area_names(self) -> list[str]:
        """The areas, in the order of their first site."""
        return list(dict.fromkeys(self.areas.tolist()))

    def mean_response(self) -> np.ndarray:
        """(stimuli × sites): the mean over repetitions."""
        return self.responses.mean(axis=2)

    def probe_positions(self, probe_index: np.ndarray, probe_file: str) -> np.ndarray:
        """Each stimulus's row in a dump whose sorted probe indices are ``probe_index``;
        refuses stimuli that are not probe images (naming both files)."""
        pos = np.searchsorted(probe_index, self.index).clip(0, max(len(probe_index) - 1, 0))
        missing = self.index[(len(probe_index) == 0) | (probe_index[pos] != self.index)]
        if len(missing):
            shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
            raise InputError(
                f"{self.path}: {len(missing)} of {len(self.index)} stimuli (dataset indices "
                f"{shown}) are not probe images of {probe_file}; record on the probe images "
                "(their dataset indices: /probe/index of any activation file) or change probe "
                "in the config"
            )
        return pos


#: stimuli per fold below which a site's ceiling and predictivity rest on too few stimuli
MIN_STIMULI_PER_FOLD = 10


def few_stimuli(data: NeuralData, folds: int) -> str | None:
    """A warning line if each of ``folds`` cross-validation folds would test fewer than
    :data:`MIN_STIMULI_PER_FOLD` stimuli; InputError (naming neural.folds) if a fold would test
    none."""
    n = len(data.index)
    if n < folds:
        raise InputError(f"neural.folds: {folds} folds, but {data.path} has {n} stimuli; set "
                         f"neural.folds to at most {n}, or record more stimuli")
    if n < MIN_STIMULI_PER_FOLD * folds:
        return (f"{data.path}: {n} stimuli in {folds} folds, fewer than "
                f"{MIN_STIMULI_PER_FOLD} per fold: each site's predictivity and ceiling rest on "
                "too few stimuli to be trusted; record more stimuli")
    return None


def _fail(path: str | os.PathLike, problem: str, fix: str = FIX) -> InputError:
    return InputError(f"{path}: {problem}; {fix}")


def _strings(values: np.ndarray) -> np.ndarray:
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def read(path: str | os.PathLike, areas: list[str] | None = None) -> NeuralData:
    """Read and check a neural data file; ``areas``: the areas the study asks for (None: all),
    each of which must have a site."""
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise _fail(path, "neural data file not found", "check neural.path") from None
    except OSError as err:
        raise _fail(path, f"not a readable HDF5 file ({err})") from None
    with f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        if attrs.get("kind") != KIND or attrs.get("format_version") != FORMAT_VERSION:
            raise _fail(path, f"expected kind={KIND!r} format_version={FORMAT_VERSION}, found "
                        f"kind={attrs.get('kind')!r} format_version="
                        f"{attrs.get('format_version')!r}", "write it with "
                        "convergent.io.neural.write, " + FIX)
        missing = [a for a in REQUIRED_ATTRS if a not in attrs]
        if missing:
            raise _fail(path, f"lacks the attribute(s) {', '.join(missing)}",
                        "add them to the file's root attributes (" + FIX + ")")
        if attrs["split"] not in SPLITS:
            raise _fail(path, f"attribute split={attrs['split']!r}", "set it to test or train")
        for name in ("stimuli/index", "responses", "sites/area"):
            if name not in f or not isinstance(f[name], h5py.Dataset):
                raise _fail(path, f"has no dataset /{name}")
        index = f["stimuli/index"][()]
        responses = f["responses"][()]
        area = _strings(f["sites/area"][()])
        names = (_strings(f["sites/name"][()]) if "sites/name" in f
                 else np.array([f"site{k:03d}" for k in range(len(area))], dtype=object))
    _check(path, index, responses, area, names, areas)
    responses = responses.astype(np.float64)
    varies = np.ptp(responses.mean(axis=2), axis=0) > 0
    silent = [a for a in (areas or dict.fromkeys(area)) if not varies[area == a].any()]
    if silent:
        raise _fail(path, f"no site of area(s) {', '.join(silent)} varies: each responds the "
                    "same to every stimulus", "check the recordings, or leave the area out of "
                    "neural.areas")
    return NeuralData(str(path), index.astype(np.int64), responses[:, varies], area[varies],
                      names[varies], attrs, tuple(names[~varies]))


def _check(path, index, responses, area, names, wanted) -> None:
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise _fail(path, f"/stimuli/index is {index.dtype} of shape {index.shape}",
                    "store the stimuli's dataset indices as a 1-d integer array")
    if len(np.unique(index)) != len(index) or (index < 0).any():
        raise _fail(path, "/stimuli/index has repeated or negative indices",
                    "list each stimulus once (average its repetitions into /responses)")
    if responses.ndim != 3 or not np.issubdtype(responses.dtype, np.number):
        raise _fail(path, f"/responses has shape {responses.shape}",
                    "store a numeric (stimuli, sites, repetitions) array")
    if np.issubdtype(responses.dtype, np.complexfloating):
        raise _fail(path, f"/responses is complex ({responses.dtype})",
                    "store real responses (integer or float): the imaginary part is no response")
    s, n_sites, reps = responses.shape
    if s != len(index):
        raise _fail(path, f"/responses has {s} stimuli but /stimuli/index {len(index)}",
                    "give one row of /responses per stimulus")
    if s == 0:
        raise _fail(path, "has no stimuli", "record responses to the study's probe images")
    if reps < 2:
        raise _fail(path, f"/responses has {reps} repetition(s)",
                    "the noise ceiling needs at least 2 repetitions per stimulus")
    if not np.isfinite(responses).all():
        raise _fail(path, "/responses holds NaN or infinite values",
                    "keep complete repetitions only (the same number per stimulus)")
    if area.shape != (n_sites,) or names.shape != (n_sites,):
        raise _fail(path, f"/sites/area (or /sites/name) has {len(area)} entries for {n_sites} "
                    "sites", "give one label per site (the second axis of /responses)")
    if any(not a for a in area):
        raise _fail(path, "/sites/area has empty labels", "label every site with its area")
    absent = [a for a in wanted or [] if a not in set(area)]
    if absent:
        raise _fail(path, f"has no sites of area(s) {', '.join(absent)} (it holds "
                    f"{', '.join(dict.fromkeys(area))})", "fix neural.areas in the config")


def write(
    path: str | os.PathLike,
    index: np.ndarray,
    responses: np.ndarray,
    areas: list[str] | np.ndarray,
    attrs: dict[str, Any],
    names: list[str] | np.ndarray | None = None,
) -> None:
    """Write a neural data file atomically (``attrs``: at least dataset, split, source)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["kind"] = KIND
        f.attrs["format_version"] = FORMAT_VERSION
        for key, value in attrs.items():
            f.attrs[key] = value
        f["stimuli/index"] = np.asarray(index, dtype=np.int64)
        f["responses"] = np.asarray(responses, dtype=np.float64)
        f["sites/area"] = np.array([str(a).encode() for a in areas], dtype="S")
        if names is not None:
            f["sites/name"] = np.array([str(n).encode() for n in names], dtype="S")
