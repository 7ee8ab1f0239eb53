"""The LightningModule that trains a network of the registry for classification, the
perturbation control's bit flip, and the hash of a network's weights."""

from __future__ import annotations

import hashlib
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

from convergent import models
from convergent.data import epoch_seed


class Classifier(pl.LightningModule):
    """A network of the registry trained for classification; hyper-parameters are saved."""

    def __init__(
        self,
        arch: str,
        num_classes: int,
        in_channels: int,
        image_size: int,
        init_seed: int,
        data_seed: int,
        training: dict[str, Any],
        perturb: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.net = models.build(arch, num_classes, in_channels, image_size)
        if perturb:
            flip_one_bit(self.net, perturb)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def on_train_epoch_start(self) -> None:
        torch.manual_seed(epoch_seed(self.hparams.data_seed + 1_000_003, self.current_epoch))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.hparams.training["label_smoothing"])
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("test_loss", F.cross_entropy(logits, y), on_epoch=True, prog_bar=False)
        self.log("test_acc", (logits.argmax(1) == y).float().mean(), on_epoch=True, prog_bar=True)

    def configure_optimizers(self) -> dict[str, Any]:
        t = self.hparams.training
        if t["optimizer"] == "sgd":
            opt = torch.optim.SGD(
                self.parameters(),
                lr=t["lr"],
                momentum=t["momentum"],
                weight_decay=t["weight_decay"],
            )
        else:
            opt = torch.optim.AdamW(self.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])
        if t["schedule"] == "onecycle":
            total = int(self.trainer.estimated_stepping_batches)
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, t["lr"], total_steps=total, pct_start=0.15
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        if t["schedule"] == "step":
            sched = torch.optim.lr_scheduler.StepLR(opt, t["step_epochs"], gamma=0.1)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
        return {"optimizer": opt}


def flip_one_bit(net: nn.Module, seed: int) -> dict[str, Any]:
    """The perturbation control of Summers & Dinneen (2021): flip the least significant bit of
    one float32 weight, drawn uniformly over all of them by ``seed``; returns which and how."""
    params = [(name, p) for name, p in net.named_parameters() if p.dtype == torch.float32]
    sizes = torch.tensor([p.numel() for _, p in params])
    flat = int(torch.randint(int(sizes.sum()), (1,),
                             generator=torch.Generator().manual_seed(seed)))
    k = int(torch.searchsorted(torch.cumsum(sizes, 0), flat, right=True))
    name, p = params[k]
    index = flat - int(sizes[:k].sum())
    with torch.no_grad():
        bits = p.data.view(-1).view(torch.int32)
        before = float(p.data.view(-1)[index])
        bits[index] ^= 1
    return {"parameter": name, "index": index, "before": before,
            "after": float(p.data.view(-1)[index])}


def weights_sha256(net: nn.Module) -> str:
    """A hash of the network's weights alone (names, shapes and bytes): equal for networks
    whose every parameter and buffer is bit-identical, whatever file holds them."""
    h = hashlib.sha256()
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
