"""What a look at a dataset's files shows before any job starts (a truncated Fashion-MNIST
file, an empty ImageFolder class), so that a training job does not find it first.  No torch
here: the config check imports this module without the data stack."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np

from convergent.data.layout import (
    FASHION_MNIST_FILES,
    HOW_TO_GET_FASHION_MNIST,
    dataset_path_error,
    local_fashion_mnist,
)


def idx_error(path: Path) -> str | None:
    """Why the gzipped IDX file at ``path`` is not whole, or None: the size its header promises
    against the size gzip records at its end (a cut-off download fails this unread)."""
    try:
        with gzip.open(path) as f:
            head = f.read(4)
            dims = [int.from_bytes(f.read(4), "big") for _ in range(head[3])]
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            recorded = int.from_bytes(f.read(4), "little")
    except (OSError, EOFError, IndexError) as err:
        return f"{path}: not a gzipped IDX file ({err})"
    promised = 4 + 4 * len(dims) + int(np.prod(dims))
    if recorded != promised % 2**32:
        return f"{path}: truncated or damaged (its header promises {promised} bytes)"
    return None


def _fashion_mnist_error(path: str | None) -> str | None:
    """What is wrong with the Fashion-MNIST files a job would read, or None (also when there are
    none yet: a job downloads them)."""
    folders = [Path(path)] if path else local_fashion_mnist()
    folder = next((f for f in folders if dataset_path_error("fashion_mnist", f) is None), None)
    if folder is None:
        return None
    for split, (images, labels) in FASHION_MNIST_FILES.items():
        for name in (images, labels):
            problem = idx_error(folder / name)
            if problem:
                return problem
        counts = [_idx_count(folder / name) for name in (images, labels)]
        if counts[0] != counts[1]:
            return f"{folder}: the {split} split has {counts[0]} images but {counts[1]} labels"
    return None


def _idx_count(path: Path) -> int:
    with gzip.open(path) as f:
        return int.from_bytes(f.read(8)[4:], "big")


def _image_folder_error(path: str) -> str | None:
    """What is wrong with an ImageFolder tree, or None: a class folder without an image, or a
    val/ whose classes are not train/'s (ImageFolder numbers classes by their sorted names:
    a missing class would shift the labels of the others)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    classes = {}
    for split in ("train", "val"):
        folder = Path(path) / split
        classes[split] = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if not classes[split]:
            return f"{folder}: no class folders; put images in {folder}/<class>/"
        for name in classes[split]:
            if not any(f.lower().endswith(IMG_EXTENSIONS)
                       for _, _, files in os.walk(folder / name, followlinks=True)
                       for f in files):
                return (f"{folder / name}: a class folder without images; add its images or "
                        "remove it")
    if classes["train"] != classes["val"]:
        differ = sorted(set(classes["train"]) ^ set(classes["val"]))
        return (f"{path}: train/ and val/ have other classes ({', '.join(differ[:5])} in one "
                "only); give both the same class folders")
    return None


def data_error(dataset: dict[str, Any]) -> str | None:
    """One line saying what is wrong with the data of a config's ``dataset`` section, or None:
    what a look at the files shows before any job (a truncated Fashion-MNIST file, an empty
    ImageFolder class), so that it is not first found by a training job."""
    if dataset["name"] == "fashion_mnist":
        problem = _fashion_mnist_error(dataset.get("path"))
        fix = HOW_TO_GET_FASHION_MNIST
    elif dataset["name"] == "imagefolder" and dataset.get("path"):
        problem, fix = _image_folder_error(dataset["path"]), None
    else:  # CIFAR-10: torchvision checks its files' digests when a job loads them
        problem = None
    if problem is None:
        return None
    return f"dataset.path: {problem}" + (f"; {fix}" if fix else "")
