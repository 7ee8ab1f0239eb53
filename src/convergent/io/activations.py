"""Activation dumps: one HDF5 file per model holding every read-out layer on the probe set.

Layout (``format_version`` 1, or 2 when a layer is ``tokens``)::

    /attrs   kind="activations", format_version, architecture, init_seed, data_seed, replicate,
             checkpoint_sha256, dataset, probe_set, probe_hash, readout, dtype, versions (JSON)
    /probe/index  (N,) int64   dataset indices of the probe images
    /probe/label  (N,) int64
    /layers/<name>  (N, C, H, W) conv, (N, C) fc or (N, T, D) tokens, chunked along N, gzip +
                    shuffle; attrs: kind = conv|fc|tokens, module = the hooked module's path

A reader of version 1 would take a token layer's tokens for its units, so a file with one is
version 2; a file of conv and fc layers only is version 1, as before token layers existed, and
readers take both.  The reader checks kind, version, the model it holds and the probe set, and
streams a layer as (samples × units) float64 blocks (:mod:`convergent.moments.conventions`:
samples are images × positions for conv layers, images × tokens for token layers), or reads
chosen images' rows and per-image features.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import h5py
import numpy as np

from convergent.io.files import InputError, atomic_path
from convergent.io.hdf5 import FORMAT_VERSION, check_format, check_model, open_h5
from convergent.moments.conventions import TOKENS, as_features, as_samples, kind_of
from convergent.moments.conventions import units as units_of

#: the format versions this reader takes: 2 = a layer may be of kind tokens
VERSIONS = (FORMAT_VERSION, 2)

READOUT = "post-ReLU, pre-pool (Li et al. 2016)"
CHUNK_BYTES = 4 << 20


def versions() -> str:
    from importlib.metadata import version

    import torch

    return json.dumps(
        {
            "python": platform.python_version(),
            "torch": torch.__version__,
            # from the package's metadata: importing Lightning takes seconds, and a dump needs
            # none of it
            "lightning": version("pytorch-lightning"),
            "numpy": np.__version__,
            "h5py": h5py.__version__,
        }
    )


def dump(
    network,
    readouts: dict[str, str],
    batches: Iterable,
    n_images: int,
    out: str | os.PathLike,
    attrs: dict[str, Any],
    index: np.ndarray | Callable[[], np.ndarray],
    label: np.ndarray | Callable[[], np.ndarray],
    dtype: str = "float32",
    compress: bool = True,
) -> None:
    """Run ``batches`` through ``network`` and write the read-out layers (``{layer: module
    path}``) to ``out`` atomically, batch by batch (memory bounded by one batch)."""
    from convergent.models.readout import forward_layers

    layers = (
        {name: output.float().cpu().numpy() for name, output in outs[0].items()}
        for _, _, outs in forward_layers([network], readouts, batches)
    )
    write(out, layers, n_images, attrs, index, label, dtype, readouts, compress)


def write(
    out: str | os.PathLike,
    batches: Iterable[dict[str, np.ndarray]],
    n_images: int,
    attrs: dict[str, Any],
    index: np.ndarray | Callable[[], np.ndarray],
    label: np.ndarray | Callable[[], np.ndarray],
    dtype: str = "float32",
    modules: dict[str, str] | None = None,
    compress: bool = True,
) -> None:
    """Write per-batch ``{layer: (n, ...) array}`` dicts as an activation file, atomically (a
    layer is (n, C), (n, C, H, W) or (n, T, D): :mod:`convergent.moments.conventions`).

    ``index``, ``label``: the probe images' dataset indices and labels, or functions returning
    them that are called once every batch is written (a loader tells its labels only as it
    runs: :func:`record`).  ``compress``: gzip level 1 + shuffle (portable, about 2x smaller on
    ReLU outputs) or none (several times faster to read back).
    """
    from convergent.progress import progress

    # No chunk cache: every write reaches the disk at once, whole chunks at a time (_Rows), so
    # a full disk fails the write that hit it; with a cache HDF5 meets it while closing, ignores
    # it and crashes the process later, leaving its temporary file behind.
    with atomic_path(out) as tmp, _disk_full_names(out), h5py.File(tmp, "w", rdcc_nbytes=0) as f:
        f.attrs.update(
            {
                "kind": "activations",
                "readout": READOUT,
                "dtype": dtype,
                "versions": versions(),
                **attrs,
            }
        )
        rows: dict[str, _Rows] = {}
        with progress(n_images, "img", f"dump {attrs.get('model', '')}") as bar:
            for layers in batches:
                for name, values in layers.items():
                    if name not in rows:
                        module = (modules or {}).get(name, name)
                        rows[name] = _Rows(_create_layer(f, name, module, n_images,
                                                         values.shape[1:], dtype, compress))
                    rows[name].add(values.astype(dtype))
                bar.update(len(next(iter(layers.values()))))
        written = {r.finish() for r in rows.values()} or {0}
        if written != {n_images}:
            raise RuntimeError(f"probe yielded {max(written)} images, expected {n_images}")
        kinds = {ds.attrs["kind"] for ds in f["layers"].values()}
        f.attrs["format_version"] = VERSIONS[1] if TOKENS.name in kinds else FORMAT_VERSION
        for key, values in (("index", index), ("label", label)):
            f[f"probe/{key}"] = np.asarray(values() if callable(values) else values, np.int64)


class _Rows:
    """A layer's rows, written to its dataset in whole chunks as they arrive (a chunk is
    compressed and written once, never read back to be completed)."""

    def __init__(self, ds: h5py.Dataset) -> None:
        self.ds, self.chunk = ds, ds.chunks[0]
        self.pending: list[np.ndarray] = []
        self.written = 0

    def add(self, values: np.ndarray) -> None:
        self.pending.append(values)
        held = sum(len(v) for v in self.pending)
        if held >= self.chunk:
            self._write(held - held % self.chunk)

    def finish(self) -> int:
        """Write what is left; the rows written."""
        self._write(sum(len(v) for v in self.pending))
        return self.written

    def _write(self, n: int) -> None:
        if n == 0:
            return
        held = np.concatenate(self.pending)
        self.ds[self.written : self.written + n] = held[:n]
        self.pending = [held[n:]] if n < len(held) else []
        self.written += n


@contextlib.contextmanager
def _disk_full_names(out: str | os.PathLike) -> Iterator[None]:
    """A full disk (or quota) while writing ``out`` as an OSError naming ``out``: HDF5's own
    names no file."""
    try:
        yield
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT) or err.filename:
            raise
        raise OSError(err.errno, os.strerror(err.errno), str(out)) from None


def _create_layer(
    f: h5py.File, name: str, path: str, n: int, shape: tuple, dtype: str, compress: bool
) -> h5py.Dataset:
    try:
        kind = kind_of(shape)
    except ValueError as err:
        raise ValueError(f"layer {name!r} (module {path}): {err}; read out another module"
                         ) from None
    per_image = int(np.prod(shape)) * np.dtype(dtype).itemsize
    rows = max(1, min(n, CHUNK_BYTES // per_image))
    filters = {"compression": "gzip", "compression_opts": 1, "shuffle": True} if compress else {}
    ds = f.create_dataset(
        f"layers/{name}", shape=(n, *shape), dtype=dtype, chunks=(rows, *shape), **filters
    )
    ds.attrs["kind"] = kind.name
    ds.attrs["module"] = path
    return ds


def record(
    model,
    layers: dict[str, str] | Iterable[str],
    loader: Iterable,
    out: str | os.PathLike,
    n_images: int | None = None,
    name: str | None = None,
    dtype: str = "float32",
    compress: bool = True,
) -> str:
    """Record named layers of any ``torch.nn.Module`` over a loader into an activation file
    (this module's layout, read by :class:`ActivationFile` and every step that reads dumps).

    ``layers``: ``{layer name: module path}`` (paths as ``model.get_submodule`` takes them,
    e.g. ``"features.0"``), or module paths that name themselves; each module's output must be
    (batch, C), (batch, C, H, W) or (batch, T, D) (the first element of a tuple output: a
    transformer block's hidden states): the forward hook keeps what the module returns.
    ``loader``: yields image tensors or (images, labels, ...) tuples, e.g. a DataLoader.  The
    file's probe is the images in loader order: ``probe/index`` is 0 … n − 1, ``probe/label``
    the integer labels (−1 where the loader gives none).  ``n_images``: the number of images
    the loader yields (default: the size of its dataset, less a dropped last batch).

    Streaming: each batch is written before the next one runs, so memory holds one batch.  The
    model runs in eval mode, on the device of its parameters (its mode is restored after);
    ``name`` is the file's model id (default: the model's class name).  Returns ``out``.
    """
    readouts = dict(layers) if isinstance(layers, dict) else {path: path for path in layers}
    modules = dict(model.named_modules())
    for layer, path in readouts.items():
        if path not in modules:
            have = ", ".join(k for k in list(modules)[1:8] if k)
            raise ValueError(
                f"layers[{layer!r}]: the model has no module {path!r}; name one of its module "
                f"paths ({have}, ...: see model.named_modules())"
            )
    n = _images_of(loader) if n_images is None else n_images
    labels: list[np.ndarray] = []

    def images() -> Iterable:
        for batch in loader:
            tagged = isinstance(batch, (tuple, list))
            x = batch[0] if tagged else batch
            y = np.asarray(batch[1]) if tagged and len(batch) > 1 else None
            integer = y is not None and y.shape == (len(x),) and np.issubdtype(y.dtype, np.integer)
            labels.append(y.astype(np.int64) if integer else np.full(len(x), -1, np.int64))
            yield x

    kind = type(model).__name__
    attrs = {
        "model": name or kind,
        "architecture": kind,
        "dataset": "loader",
        "probe_set": f"the {n} images of a loader, in its order",
        "readout": "outputs of the named modules",
    }
    was_training = model.training
    model.eval()
    try:
        dump(model, readouts, images(), n, out, attrs, np.arange(n),
             lambda: np.concatenate(labels) if labels else np.zeros(0, np.int64), dtype, compress)
    finally:
        model.train(was_training)
    return str(out)


def _images_of(loader: Iterable) -> int:
    """How many images a DataLoader yields: its dataset's size, less a dropped last batch."""
    dataset = getattr(loader, "dataset", None)
    if dataset is None or not hasattr(dataset, "__len__"):
        raise ValueError("n_images: the loader has no sized dataset; pass the number of images")
    n, batch = len(dataset), getattr(loader, "batch_size", None)
    return n - n % batch if getattr(loader, "drop_last", False) and batch else n


class ActivationFile:
    """A checked, read-only view of one activation dump."""

    def __init__(self, path: str | os.PathLike, model: str | None = None) -> None:
        """``model``: the model id (``arch/name``) the caller expects to find, e.g. the one its
        rule was asked for; a file that holds another model (moved or swapped by hand) is
        refused.  None accepts any model."""
        self.path = str(path)
        self.file = open_h5(path, "activation file")
        check_format(self.file, "activations", VERSIONS)
        self.attrs = dict(self.file.attrs)
        check_model(self.path, self.attrs.get("model"), model)

    def __enter__(self) -> ActivationFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    @property
    def n_images(self) -> int:
        return len(self.file["probe/index"])

    @property
    def probe_index(self) -> np.ndarray:
        """Dataset indices of the probe images (sorted)."""
        return self.file["probe/index"][()]

    @property
    def probe_label(self) -> np.ndarray:
        """The probe images' class labels (−1 where the loader gave none)."""
        return np.asarray(self.file["probe/label"][()])

    def layer(self, name: str) -> h5py.Dataset:
        if name not in self.file.get("layers", {}):
            have = ", ".join(self.file.get("layers", {})) or "none"
            raise InputError(
                f"{self.path}: no layer {name!r} (it holds {have}); add it to the "
                "config's layers and rerun snakemake to redump"
            )
        return self.file["layers"][name]

    def units(self, name: str) -> int:
        return units_of(self.layer(name).shape[1:])

    def samples(self, name: str, start: int, stop: int) -> np.ndarray:
        """Images ``start:stop`` of layer ``name`` as a (samples × units) float64 array."""
        try:
            x = self.layer(name)[start:stop]
        except OSError as err:
            raise InputError(
                f"{self.path}: layer {name!r} is unreadable ({err}); the file is "
                "corrupt — delete it and rerun snakemake"
            ) from None
        return as_samples(x)

    def rows(self, name: str, index: np.ndarray) -> np.ndarray:
        """Images ``index`` (any order, no repeats) of layer ``name``, in that order, as
        stored.

        Reads whole HDF5 chunks and selects in memory: h5py's point selection of scattered
        rows is an order of magnitude slower, and every chunk holding a wanted row is
        decompressed anyway.
        """
        ds = self.layer(name)
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
                f"{self.path}: layer {name!r} is unreadable ({err}); delete it and rerun "
                "snakemake"
            ) from None
        data = np.concatenate(parts)
        out = np.empty_like(data)
        out[order] = data
        return out

    def features(self, name: str, index: np.ndarray, convention: str) -> np.ndarray:
        """Per-image features (``mean``, ``flatten`` or ``cls``) of the probe images ``index``
        of layer ``name``."""
        if convention == "positions":
            raise ValueError("per-image features need the 'mean', 'flatten' or 'cls' convention")
        return as_features(self.rows(name, index), convention)


def check_same_probe(a: ActivationFile, b: ActivationFile) -> None:
    """Two dumps can be compared only if they probed the same images with the same read-out."""
    for key in ("probe_hash", "readout", "dataset"):
        if a.attrs.get(key) != b.attrs.get(key):
            raise InputError(
                f"{a.path} and {b.path} differ in {key} ({a.attrs.get(key)!r} vs "
                f"{b.attrs.get(key)!r}); redump both with the same probe config"
            )
