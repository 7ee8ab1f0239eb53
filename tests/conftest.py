"""Shared fixtures: planted activation files and a tiny study config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from workflow_runs import ROOT  # noqa: F401  (re-exported for the tests)

from convergent.io import activations


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
