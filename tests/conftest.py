"""Shared fixtures: planted activation files and a tiny study config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from convergent import activations

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = str(Path(sys.executable).parent)


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


@pytest.fixture
def env() -> dict[str, str]:
    """The environment for subprocesses: the venv's CLIs first on PATH."""
    return {**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")}


TINY_CONFIG = {
    "dataset": {"name": "fashion_mnist", "train_subset": 512, "test_subset": 500},
    "architectures": ["alexnet_small"],
    "models": [{"init_seed": 0}, {"init_seed": 1}],
    "training": {"epochs": 1, "batch_size": 64},
    "probe": {"size": 96, "batch_size": 48},
    "layers": ["conv1", "conv3", "fc7"],
    "analysis": {"blocks": 3, "chunk_images": 32},
    "resources": {"train": {"threads": 1}, "dump": {"threads": 1}},
}


@pytest.fixture
def tiny_config() -> dict:
    import copy

    return copy.deepcopy(TINY_CONFIG)
