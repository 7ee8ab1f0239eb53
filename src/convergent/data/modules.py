"""The Lightning data modules of training.

Fashion-MNIST and CIFAR-10 fit in memory, so they are held as uint8 tensors on the training
device and served by :class:`DeviceBatches` (no worker processes, flips and crops on the
device).
ImageFolder trees go through a standard DataLoader.

Randomness: the minibatch order, the augmentation and (via the LightningModule) the dropout
masks of epoch ``e`` are drawn from a generator seeded by ``(data_seed, e)``, so a run resumed
from an epoch checkpoint repeats exactly what an uninterrupted run does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from convergent.data.datasets import (
    DataSpec,
    ImageTensors,
    image_folder,
    normalise,
    with_random_labels,
)


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed for one epoch of a run, independent across (seed, epoch)."""
    digest = hashlib.sha256(f"{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class DeviceBatches:
    """Minibatches drawn from a device-resident uint8 tensor, augmented on the device."""

    def __init__(
        self,
        data: ImageTensors,
        batch_size: int,
        seed: int | None,
        flip: bool,
        epoch_of: Callable[[], int] = lambda: 0,
        crop: int = 0,
    ) -> None:
        self.data, self.batch_size, self.seed, self.flip = data, batch_size, seed, flip
        self.epoch_of, self.crop = epoch_of, crop

    def __len__(self) -> int:
        n = len(self.data.labels)
        return n // self.batch_size if self.seed is not None else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images, labels = self.data.images, self.data.labels
        n, device = len(labels), labels.device
        if self.seed is None:  # evaluation: fixed order, every image
            for i in range(0, n, self.batch_size):
                yield normalise(images[i : i + self.batch_size]), labels[i : i + self.batch_size]
            return
        gen = torch.Generator(device=device).manual_seed(epoch_seed(self.seed, self.epoch_of()))
        order = torch.randperm(n, generator=gen, device=device)
        for k in range(len(self)):  # drop the last partial batch: fixed shapes
            idx = order[k * self.batch_size : (k + 1) * self.batch_size]
            batch = images[idx]
            if self.crop:
                batch = random_crop(batch, self.crop, gen)
            x = normalise(batch)
            if self.flip:
                mirror = torch.rand(len(idx), generator=gen, device=device) < 0.5
                x = torch.where(mirror[:, None, None, None], x.flip(3), x)
            yield x, labels[idx]


def random_crop(images: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Each image (N, C, H, W) padded by ``pad`` zeros and cropped back to H × W at its own
    random offset: a random translation by up to ``pad`` pixels."""
    n, _, h, w = images.shape
    device = images.device
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy, dx = (torch.randint(0, 2 * pad + 1, (n,), generator=gen, device=device) for _ in "yx")
    rows = (dy[:, None] + torch.arange(h, device=device))[:, :, None]  # (N, H, 1)
    cols = (dx[:, None] + torch.arange(w, device=device))[:, None, :]  # (N, 1, W)
    out = padded[torch.arange(n, device=device)[:, None, None], :, rows, cols]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


class TensorDataModule(pl.LightningDataModule):
    """A dataset that fits in device memory, held there for the whole fit."""

    def __init__(
        self, spec: DataSpec, batch_size: int, data_seed: int, flip: bool, crop: int = 0,
        random_labels: float = 0.0, classes: int = 10,
    ) -> None:
        super().__init__()
        self.spec, self.batch_size, self.data_seed, self.flip = spec, batch_size, data_seed, flip
        self.crop, self.random_labels, self.classes = crop, random_labels, classes

    def setup(self, stage: str) -> None:
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        move = lambda d: ImageTensors(d.images.to(device), d.labels.to(device))  # noqa: E731
        train = self.spec.training_tensors("train")
        self.train_data = move(with_random_labels(train, self.random_labels, self.classes))
        self.test_data = move(self.spec.training_tensors("test"))

    def train_dataloader(self) -> DeviceBatches:
        return DeviceBatches(
            self.train_data,
            self.batch_size,
            self.data_seed,
            self.flip,
            epoch_of=lambda: self.trainer.current_epoch,
            crop=self.crop,
        )

    def val_dataloader(self) -> DeviceBatches:
        return DeviceBatches(self.test_data, 1000, None, False)


class ImageFolderDataModule(pl.LightningDataModule):
    """An image tree on disk (ImageNet style), loaded by worker processes."""

    def __init__(
        self, spec: DataSpec, arch: str, batch_size: int, data_seed: int, num_workers: int
    ) -> None:
        super().__init__()
        self.spec, self.arch, self.batch_size = spec, arch, batch_size
        self.data_seed, self.num_workers = data_seed, num_workers

    def setup(self, stage: str) -> None:
        _, _, size = self.spec.shape(self.arch)
        self.train_set = image_folder(self.spec.path, "train", True, size, arch=self.arch)
        self.val_set = image_folder(self.spec.path, "test", False, size, arch=self.arch)

    def _loader(self, ds: Dataset, shuffle: bool) -> DataLoader:
        gen = torch.Generator().manual_seed(self.data_seed)
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=gen,
            num_workers=min(self.num_workers, os.cpu_count() or 1),
            drop_last=shuffle,
            persistent_workers=False,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)


def make_datamodule(
    spec: DataSpec, arch: str, training: dict[str, Any], data_seed: int
) -> pl.LightningDataModule:
    if spec.in_memory:
        return TensorDataModule(spec, training["batch_size"], data_seed, training["augment_flip"],
                                training["augment_crop"], training["random_labels"],
                                spec.shape(arch)[0])
    return ImageFolderDataModule(
        spec, arch, training["batch_size"], data_seed, training["num_workers"]
    )
