"""Shared fixtures: planted activation files and a tiny study config."""

from __future__ import annotations

import gzip
import os
from collections import Counter
from pathlib import Path

import numpy as np
from workflow_runs import ROOT  # noqa: F401  (re-exported for the tests)

from convergent.data.layout import FASHION_MNIST_FILES
from convergent.io import activations

# pytest puts tests/ on this process's path; the jobs the tests start get it too (they import
# the test builders, builders:tiny_cnn), and the config check asks what jobs import
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent), *filter(None, [os.environ.get("PYTHONPATH")])])


def pytest_collection_modifyitems(items: list) -> None:
    """The files that run Snakemake studies (minutes each) first, those with the most such tests
    first of all, then those that start training processes (seconds each): ``make test`` hands
    whole files to its workers in this order, and a long file started last would keep one worker
    busy while the others idle."""
    def marked(*names: str) -> Counter:
        return Counter(item.path for item in items
                       if any(item.get_closest_marker(name) for name in names))

    studies, trainings = marked("workflow", "slurm"), marked("trains")
    items.sort(key=lambda item: (-studies[item.path], -trainings[item.path]))


def write_planted(
    path: Path,
    layers: dict[str, np.ndarray],
    *,
    arch: str = "alexnet_small",
    model: str = "alexnet_small/i0-d0",
    probe_hash: str = "p0",
    batch: int = 7,
) -> Path:
    """An activation file holding exactly ``layers`` ({name: (N, ...) array}), in batches."""
    n = len(next(iter(layers.values())))
    batches = ({k: v[i : i + batch] for k, v in layers.items()} for i in range(0, n, batch))
    attrs = {
        "model": model,
        "architecture": arch,
        "init_seed": 0,
        "data_seed": 0,
        "replicate": 0,
        "checkpoint_sha256": "0" * 64,
        "dataset": "planted",
        "probe_set": "planted",
        "probe_hash": probe_hash,
    }
    activations.write(path, batches, n, attrs, np.arange(n), np.zeros(n, dtype=int))
    return path


def write_fashion_mnist(folder: Path, images: int = 3, drop: tuple[str, ...] = ()) -> Path:
    """``folder`` with small whole Fashion-MNIST files (``images`` per split of random pixels
    and labels), less those named in ``drop``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for images_file, labels_file in FASHION_MNIST_FILES.values():
        files = ((images_file, (images, 28, 28), 256), (labels_file, (images,), 10))
        for name, shape, top in files:
            if name not in drop:
                header = bytes([0, 0, 8, len(shape)]) + b"".join(
                    n.to_bytes(4, "big") for n in shape)
                with gzip.open(folder / name, "wb") as f:
                    f.write(header + rng.integers(0, top, shape, dtype=np.uint8).tobytes())
    return folder
