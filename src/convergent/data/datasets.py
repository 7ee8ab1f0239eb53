"""Datasets: Fashion-MNIST and CIFAR-10 (whole splits as uint8 tensors), ImageFolder trees
(ImageNet and the like, through torchvision transforms), and what a job needs to know about the
data (:class:`DataSpec`).  A ``dataset.path`` the user names is used or the job fails: no
fallback to another copy."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from convergent.data import layout
from convergent.data.layout import (
    FASHION_MNIST_FILES,
    HOW_TO_GET_FASHION_MNIST,
    dataset_path_error,
)
from convergent.io import InputError
from convergent.models import image_size


@dataclass
class ImageTensors:
    """A whole split in memory: images (N, C, H, W) uint8 and labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor


# ---------------------------------------------------------------- Fashion-MNIST
def read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST format) into a uint8 array."""
    try:
        with gzip.open(path) as f:
            data = f.read()
        ndim = data[3]
        dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    except (OSError, EOFError, ValueError, IndexError) as err:
        raise InputError(
            f"{path}: not a valid gzipped IDX file ({err}); {HOW_TO_GET_FASHION_MNIST}"
        ) from None


def _named_path(name: str, path: str) -> Path:
    """``dataset.path`` as the user named it, if it holds dataset ``name``; otherwise the one-line
    error of the load-time check: a named path is used or the run fails, never replaced."""
    message = dataset_path_error(name, path)
    if message:
        raise InputError(message)
    return Path(path)


def _fashion_mnist_folder(path: str | None) -> Path:
    """``dataset.path`` if given, else the first of the Debian package and a download."""
    if path:
        return _named_path("fashion_mnist", path)
    for folder in layout.local_fashion_mnist():
        if dataset_path_error("fashion_mnist", folder) is None:
            return folder
    try:
        return download_fashion_mnist()
    except Exception as err:  # any download failure ends in the same advice
        raise InputError(
            f"{layout.DEBIAN_FASHION_MNIST}: no Fashion-MNIST files there, and the download failed "
            f"({type(err).__name__}); {HOW_TO_GET_FASHION_MNIST}"
        ) from None


def download_fashion_mnist() -> Path:
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(layout.DOWNLOAD_ROOT), train=True, download=True)
    return layout.DOWNLOAD_ROOT / "FashionMNIST" / "raw"


def load_fashion_mnist(path: str | None, split: str) -> ImageTensors:
    folder = _fashion_mnist_folder(path)
    images_file, labels_file = FASHION_MNIST_FILES[split]
    images = torch.from_numpy(read_idx(folder / images_file).copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(folder / labels_file).astype(np.int64))
    return ImageTensors(images, labels)


# ---------------------------------------------------------------- CIFAR-10
def load_cifar10(path: str | None, split: str) -> ImageTensors:
    from torchvision.datasets import CIFAR10

    root = _named_path("cifar10", path) if path else "data"
    try:
        ds = CIFAR10(root, train=split == "train", download=not path)
    except Exception as err:
        raise InputError(
            f"CIFAR-10 not found under {root} and could not be downloaded ({err}); "
            "set dataset.path to a torchvision CIFAR-10 root (holding cifar-10-batches-py/)"
        ) from None
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return ImageTensors(images, torch.tensor(ds.targets, dtype=torch.int64))


TENSOR_DATASETS = {"fashion_mnist": load_fashion_mnist, "cifar10": load_cifar10}


# ---------------------------------------------------------------- ImageFolder
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: Architectures fed the Caffe way: images warped to 256×256, random (train) or centre (probe)
#: crops of the input size, mirrored in training, mean pixel subtracted on the 0–255 scale.
CAFFE_STYLE = {"caffenet"}
CAFFE_RESIZE = 256


def image_transforms(arch: str | None, size: int, train: bool) -> list:
    """The torchvision transforms of one architecture's input (training or probing)."""
    from torchvision import transforms

    if arch in CAFFE_STYLE:
        crop = transforms.RandomCrop(size) if train else transforms.CenterCrop(size)
        tf = [transforms.Resize((CAFFE_RESIZE, CAFFE_RESIZE)), crop]
        if train:
            tf.append(transforms.RandomHorizontalFlip())
        # ToTensor scales to [0, 1]; std 1/255 brings (x - mean) back to the 0-255 scale
        return tf + [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, (1 / 255,) * 3)]
    resize = int(round(size * 256 / 224))
    if train:
        tf = [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()]
    else:
        tf = [transforms.Resize(resize), transforms.CenterCrop(size)]
    return tf + [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


def image_folder(
    path: str, split: str, train: bool, size: int, arch: str | None = None
) -> Dataset:
    """``path/train`` or ``path/val`` as a torchvision ImageFolder, checked for images."""
    from torchvision import datasets, transforms

    folder = _named_path("imagefolder", path) / ("train" if split == "train" else "val")
    tf = image_transforms(arch, size, train)
    try:
        ds = datasets.ImageFolder(folder, transform=transforms.Compose(tf), loader=_load_image)
    except (FileNotFoundError, RuntimeError) as err:
        raise InputError(
            f"{folder}: no images found ({err}); put images in {folder}/<class>/"
        ) from None
    return ds


def _load_image(path: str):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError) as err:
        raise InputError(
            f"{path}: corrupt or truncated image ({err}); remove or replace it"
        ) from None


# ---------------------------------------------------------------- common description
@dataclass(frozen=True)
class DataSpec:
    """What a job needs to know about the data."""

    name: str
    path: str | None = None
    train_subset: int | None = None
    test_subset: int | None = None

    @classmethod
    def from_config(cls, dataset: dict[str, Any]) -> DataSpec:
        return cls(
            dataset["name"],
            dataset.get("path"),
            dataset.get("train_subset"),
            dataset.get("test_subset"),
        )

    @property
    def in_memory(self) -> bool:
        return self.name in TENSOR_DATASETS

    def tensors(self, split: str) -> ImageTensors:
        """A whole split, in dataset order (probe indices refer to this)."""
        return TENSOR_DATASETS[self.name](self.path, split)

    def training_tensors(self, split: str) -> ImageTensors:
        """The split used for fitting/evaluation: ``train_subset``/``test_subset`` applied."""
        data = self.tensors(split)
        subset = self.train_subset if split == "train" else self.test_subset
        if subset:
            keep = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(0))
            keep = keep[:subset].sort().values
            data = ImageTensors(data.images[keep], data.labels[keep])
        return data

    def shape(self, arch: str) -> tuple[int, int, int]:
        """(num_classes, in_channels, image_size) of this dataset for ``arch``."""
        if self.name == "fashion_mnist":
            return 10, 1, 28
        if self.name == "cifar10":
            return 10, 3, 32
        train = _named_path("imagefolder", self.path) / "train"
        classes = sorted(p.name for p in train.iterdir() if p.is_dir())
        if not classes:
            raise InputError(f"dataset.path = {self.path}: train/ has no class folders")
        return len(classes), 3, image_size(arch)


def with_random_labels(data: ImageTensors, fraction: float, classes: int) -> ImageTensors:
    """``data`` with a fixed ``fraction`` of its images relabelled uniformly at random (Zhang et
    al. 2017's partially random labels): the images and labels are drawn once (seed 0, not the
    model's seeds), so every network of a condition learns the same corrupted training set."""
    if fraction <= 0:
        return data
    gen = torch.Generator().manual_seed(0)
    n = len(data.labels)
    pick = torch.randperm(n, generator=gen)[: int(round(fraction * n))]
    labels = data.labels.clone()
    labels[pick] = torch.randint(classes, (len(pick),), generator=gen)
    return ImageTensors(data.images, labels)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in about [-1, 1] (a fixed map, identical for every dataset/seed)."""
    return images.float().div_(127.5).sub_(1.0)
