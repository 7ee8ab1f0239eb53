"""What a dataset's files must be called and where they must lie: read by the config check
before any job starts and by the loaders (:mod:`convergent.data.datasets`) when a job reads
them.  No torch here: the config check reads it without the data stack."""

from __future__ import annotations

import os
from pathlib import Path

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_ROOT = Path("data")
HOW_TO_GET_FASHION_MNIST = (
    "get Fashion-MNIST with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or set "
    "dataset.path to a folder with the four *-ubyte.gz files, or run once with internet access "
    "so that torchvision downloads it"
)
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: What a ``dataset.path`` the user names must hold (a trailing / marks a folder) and the fix if
#: it does not: checked before any job starts and again by the data loaders (no fallback).
DATASET_LAYOUT = {
    "fashion_mnist": (
        [name for pair in FASHION_MNIST_FILES.values() for name in pair],
        "point dataset.path at a folder with the four Fashion-MNIST *-ubyte.gz files, or set it "
        "to null (Debian package or download)",
    ),
    "cifar10": (
        ["cifar-10-batches-py/"],
        "point dataset.path at a torchvision CIFAR-10 root, or set it to null (download)",
    ),
    "imagefolder": (
        ["train/", "val/"],
        "point dataset.path at a folder with train/<class>/ and val/<class>/ image folders",
    ),
}


def dataset_path_error(name: str, path: str | os.PathLike) -> str | None:
    """One line saying what ``dataset.path`` lacks to hold dataset ``name`` and the fix, or None
    if it holds it.  A relative path is relative to the working directory (where jobs run)."""
    folder = Path(path)
    needed, fix = DATASET_LAYOUT[name]
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
    else:
        missing = [entry for entry in needed if not _holds(folder, entry)]
        if not missing:
            return None
        problem = f"lacks {', '.join(missing)}"
    where = "" if folder.is_absolute() else f" (relative to {Path.cwd()})"
    return f"dataset.path: {str(path)!r}{where} {problem}; {fix}"


def _holds(folder: Path, entry: str) -> bool:
    """Whether ``folder`` holds ``entry``: a folder if the name ends in /, else a file."""
    target = folder / entry
    return target.is_dir() if entry.endswith("/") else target.is_file()


def local_fashion_mnist() -> tuple[Path, Path]:
    """Where Fashion-MNIST is looked for when dataset.path is null, before a download."""
    return DEBIAN_FASHION_MNIST, DOWNLOAD_ROOT / "FashionMNIST" / "raw"
