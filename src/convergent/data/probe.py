"""The probe set: the images every network is probed with (a seeded random subset of one
split, sorted), and its normalised batches in index order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from convergent.data.datasets import DataSpec, image_folder, normalise
from convergent.io import InputError


@dataclass
class Probe:
    """The images every network is probed with: their dataset indices, labels and pixels."""

    index: np.ndarray
    label: np.ndarray
    name: str

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.index.astype(np.int64).tobytes()).hexdigest()[:16]


def probe_indices(n_available: int, size: int, seed: int) -> np.ndarray:
    """A seeded random subset of ``size`` indices, sorted (so reads are sequential)."""
    if size > n_available:
        raise InputError(f"probe.size = {size}: the split has only {n_available} images")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_available, size=size, replace=False))


def stimulus_ids(spec: DataSpec, split: str, index: np.ndarray) -> np.ndarray:
    """The string ids of the images ``index`` of a split (activations recorded elsewhere name
    their stimuli so): an image folder's image paths relative to the split's folder, the
    index as text for an in-memory dataset."""
    if spec.in_memory:
        return np.asarray([str(i) for i in index])
    ds = image_folder(spec.path, split, train=False, size=1)
    return np.asarray([Path(ds.samples[i][0]).relative_to(ds.root).as_posix() for i in index])


def probe_index(spec: DataSpec, probe_cfg: dict[str, Any]) -> np.ndarray:
    """The probe set's dataset indices, without its images (what the config check compares
    neural stimuli with)."""
    if spec.in_memory:
        available = len(spec.tensors(probe_cfg["split"]).labels)
    else:
        available = len(image_folder(spec.path, probe_cfg["split"], train=False, size=1))
    return probe_indices(available, probe_cfg["size"], probe_cfg["seed"])


def probe_batches(
    spec: DataSpec, probe_cfg: dict[str, Any], arch: str, order: np.ndarray | None = None
) -> tuple[Probe, Iterator[torch.Tensor]]:
    """The probe set and an iterator over its normalised image batches, in index order (or
    the probe images ``order``, positions in the probe set, in that order: a shuffled pairing)."""
    split, size, seed, bs = (
        probe_cfg["split"],
        probe_cfg["size"],
        probe_cfg["seed"],
        probe_cfg["batch_size"],
    )
    name = f"{spec.name}:{split}:{size}:seed{seed}"
    if spec.in_memory:
        data = spec.tensors(split)
        index = probe_indices(len(data.labels), size, seed)
        probe = Probe(index, data.labels[index].numpy(), name)
        images = data.images[torch.from_numpy(index if order is None else index[order])]
        return probe, (normalise(images[i : i + bs]) for i in range(0, size, bs))
    _, _, image_size = spec.shape(arch)
    ds = image_folder(spec.path, split, train=False, size=image_size, arch=arch)
    index = probe_indices(len(ds), size, seed)
    probe = Probe(index, np.array([ds.targets[i] for i in index]), name)
    chosen = index if order is None else index[order]
    loader = DataLoader(Subset(ds, chosen.tolist()), batch_size=bs, shuffle=False)
    return probe, (x for x, _ in loader)
