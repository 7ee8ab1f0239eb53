"""The LightningModule and the fit entry point: one call trains one model of the study.

Seeds: ``init_seed`` alone draws the initial weights; ``data_seed`` draws everything stochastic
during training (minibatch order, flips, dropout masks), one stream per epoch, so that a run
killed and resumed from its last epoch checkpoint ends with the weights of an uninterrupted run
(on CPU, where the kernels are deterministic).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import platform
import shutil
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException
from torch import nn
from torch.nn import functional as F

from convergent import models
from convergent.data import DataSpec, epoch_seed, make_datamodule
from convergent.io import InputError, atomic_path, sha256, write_json
from convergent.models.checkpoints import load_file, load_network, load_weights
from convergent.study import with_later_options

#: outdir/resume/: what a killed run needs to resume (see :func:`fit`)
RESUME_DIR = "resume"
#: outdir/tensorboard/: the TensorBoard event file of ``training.logger: tensorboard``
TENSORBOARD_DIR = "tensorboard"
TENSORBOARD_EVENTS = "events.out.tfevents.convergent"
#: the checkpoint key holding the hash of the training spec that wrote it
SPEC_KEY = "convergent_spec_sha256"


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


#: the per-epoch metrics of metrics.csv (logged by Classifier)
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


class EpochCheckpoint(pl.Callback):
    """Save the full training state after every epoch, atomically (a kill never leaves a
    half-written checkpoint; Lightning's ModelCheckpoint writes in place), stamped with the hash
    of the training spec that made it, so that a run is only ever resumed by the same spec.

    The epochs' metrics travel inside the checkpoint (the callback's state), so the history of
    a resumed run is exactly that of the checkpoint it resumed, whenever the kill came."""

    def __init__(self, path: Path, spec_sha256: str) -> None:
        self.path, self.spec_sha256 = path, spec_sha256
        self.history: list[dict[str, float]] = []

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict["history"])

    def on_save_checkpoint(
        self, trainer: pl.Trainer, module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[SPEC_KEY] = self.spec_sha256

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # validation has run: the epoch's training and test metrics are all in callback_metrics
        metrics = trainer.callback_metrics
        self.history.append(
            {"epoch": trainer.current_epoch, **{k: float(metrics[k]) for k in METRICS}}
        )
        with atomic_path(self.path) as tmp:
            trainer.save_checkpoint(tmp, weights_only=False)  # the full state: resumable


class CheckpointFile(TorchCheckpointIO):
    """Lightning's checkpoint writer without its staging copy in the system's temporary folder:
    the checkpoint goes straight to the path given (our atomic temporary file beside the
    output), so that a full disk is the results' file system, named in the error."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        try:
            with open(path, "wb") as f:
                f.write(buffer.getbuffer())
        except OSError as err:  # a full disk's write error names no file
            raise OSError(err.errno, err.strerror, str(path)) from None


def spec_sha256(spec: dict[str, Any]) -> str:
    """The hash that binds resume state to one training spec (every key of it)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def resume_point(resume_dir: Path, digest: str) -> Path | None:
    """``resume_dir/last.ckpt`` if a killed run of this very spec left it; otherwise the resume
    state (checkpoint and epoch logs) of another spec or a damaged checkpoint is discarded."""
    last = resume_dir / "last.ckpt"
    if last.exists():
        try:
            stored = load_file(last, mmap=True).get(SPEC_KEY)
        except Exception:  # a damaged checkpoint is not resumable, whatever torch raises
            stored = None
        if stored == digest:
            return last
        print(
            f"train: {last} was written for another training spec (or is damaged); "
            "discarding it and starting afresh",
            file=sys.stderr,
        )
    shutil.rmtree(resume_dir, ignore_errors=True)
    return None


#: Lightning's notices that say nothing about this run: its advertising tips, a deprecation
#: inside Lightning itself, and the SLURM hint (our jobs are single-process, srun or not)
HARMLESS_WARNINGS = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The `srun` command is available on your system but is not used",
)


class _NoTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("💡 Tip")


def quiet_lightning() -> None:
    """Silence the known-harmless notices at their source, so the job logs show the run."""
    for message in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(_NoTips())


@contextlib.contextmanager
def failing_on_sigterm(model: str, rerun: str) -> Iterator[None]:
    """Lightning ends a run on SIGTERM (Slurm's time limit, scancel, a stopped Snakemake) with a
    SystemExit of status 0, which would pass for a finished job without outputs: fail with
    status 128 + SIGTERM and one line saying how to carry on (``rerun``)."""
    try:
        yield
    except SIGTERMException:
        print(f"{model}: stopped by SIGTERM; {rerun}", file=sys.stderr)
        raise SystemExit(128 + signal.SIGTERM) from None


def use_gpu(accelerator: str) -> bool:
    return accelerator != "cpu" and torch.cuda.is_available()


def device_name(gpu: bool) -> str:
    """The GPU's name, or the CPU's kind: its model, architecture and the instruction set
    torch's kernels use — CPU kernels round differently per instruction set and vendor, so the
    same spec gives bit-identical weights only on the same kind of processor."""
    if gpu:
        return torch.cuda.get_device_name()
    model = platform.processor()
    with contextlib.suppress(OSError):  # Linux: the model name the kernel reports
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    return f"CPU: {model or 'unknown'} ({platform.machine()}, "\
           f"{torch.backends.cpu.get_cpu_capability()})"


def precision(t: dict[str, Any], gpu: bool) -> str:
    """Lightning's precision of ``training.precision``; ``auto``: bf16-mixed on a GPU, 32-true
    on the CPU (where Lightning has no float16 autocast)."""
    chosen = t.get("precision", "auto")
    if chosen == "auto":
        return "bf16-mixed" if gpu else "32-true"
    if chosen == "16-mixed" and not gpu:
        raise InputError(
            "training.precision: 16-mixed needs a GPU and this job runs on the CPU; "
            "use auto, 32-true or bf16-mixed"
        )
    return chosen


def fit(spec: dict[str, Any], outdir: str | os.PathLike) -> dict[str, Any]:
    """Train one model; resume from ``outdir/resume/`` if a killed run of the same spec left it.

    The training math runs on ``training.threads`` threads, a part of the spec: the rounding of
    a parallel reduction depends on the thread count, so the weights are the same whatever
    threads the job is given.

    Writes ``model.ckpt`` (final weights), ``metrics.csv`` (one row per epoch) and
    ``summary.json`` (test accuracy, timing, provenance) into ``outdir``, each atomically, and
    with ``training.logger: tensorboard`` the same rows as a TensorBoard event file in
    ``outdir/tensorboard/`` (from the history too, so a resumed run writes the same bytes).
    ``outdir/resume/`` (the last epoch checkpoint, with the epochs' metrics) lives only while
    training is unfinished: it is keyed to the spec's hash and removed once the outputs exist.
    """
    quiet_lightning()
    outdir = Path(outdir)
    t, data = with_later_options(spec["training"]), DataSpec.from_config(spec["dataset"])
    gpu = use_gpu(t["accelerator"])
    torch.set_num_threads(t["threads"])
    # the CPU's kernels are deterministic; on a GPU only with training.deterministic (cuDNN's
    # autotuning and atomics-based kernels off: docs/gpu.md measures what that costs)
    deterministic = not gpu or t["deterministic"]
    if gpu:
        torch.backends.cudnn.benchmark = not deterministic
    num_classes, in_channels, image_size = data.shape(spec["arch"])
    pl.seed_everything(spec["data_seed"], workers=True, verbose=False)
    module = Classifier(
        spec["arch"], num_classes, in_channels, image_size, spec["init_seed"], spec["data_seed"], t,
        spec.get("perturb", 0),
    )
    # channels_last on every device: oneDNN's CPU convolutions train alexnet_small 1.3x faster
    # in it (benchmarks/training.py), cuDNN's tensor cores need it
    module = module.to(memory_format=torch.channels_last)
    resume_dir = outdir / RESUME_DIR
    digest = spec_sha256(spec)
    start_from = resume_point(resume_dir, digest)
    epochs = EpochCheckpoint(resume_dir / "last.ckpt", digest)
    trainer = pl.Trainer(
        max_epochs=t["epochs"],
        accelerator="gpu" if gpu else "cpu",
        devices=t.get("devices", 1),
        precision=precision(t, gpu),
        deterministic=deterministic,  # Lightning sets cuBLAS's fixed workspace for it
        default_root_dir=resume_dir,
        logger=False,  # metrics.csv comes from EpochCheckpoint's history (resume-safe)
        enable_checkpointing=False,  # EpochCheckpoint is the only checkpoint (atomic, keyed)
        plugins=[CheckpointFile()],
        callbacks=[
            epochs,
            # a log file (Slurm, CI) gets a line now and then, a terminal a live bar
            pl.callbacks.TQDMProgressBar(refresh_rate=1 if sys.stderr.isatty() else 50),
        ],
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,  # metrics are logged per epoch; no step interval to warn about
    )
    datamodule = make_datamodule(data, spec["arch"], t, spec["data_seed"])
    start = time.perf_counter()
    with failing_on_sigterm(f"{spec['arch']}/{spec['name']}",
                            "the same command resumes from the last epoch checkpoint"):
        trainer.fit(module, datamodule, ckpt_path=start_from)
    seconds = time.perf_counter() - start
    if trainer.interrupted:
        raise RuntimeError("training was interrupted; rerun to resume from the last checkpoint")

    with atomic_path(outdir / "model.ckpt") as tmp:
        trainer.save_checkpoint(tmp, weights_only=True)
    history = epochs.history
    write_rows(outdir / "metrics.csv", history)
    if t.get("logger", "csv") == "tensorboard":
        write_events(outdir / TENSORBOARD_DIR / TENSORBOARD_EVENTS, history)
    else:  # the event file of an earlier spec is no output of this one
        shutil.rmtree(outdir / TENSORBOARD_DIR, ignore_errors=True)
    final = history[-1]
    summary = {
        "model": f"{spec['arch']}/{spec['name']}",
        **{k: spec[k] for k in ("arch", "init_seed", "data_seed", "replicate")},
        "dataset": data.name,
        "epochs": t["epochs"],
        "test_acc": float(final["test_acc"]),
        "test_loss": float(final["test_loss"]),
        "train_seconds_last_session": round(seconds, 2),
        "device": device_name(gpu),
        "parameters": sum(p.numel() for p in module.parameters()),
        "num_classes": num_classes,
        "perturb": spec.get("perturb", 0),
        "weights_sha256": weights_sha256(module.net),
        "checkpoint_sha256": sha256(outdir / "model.ckpt"),
        "torch": torch.__version__,
        "lightning": pl.__version__,
    }
    write_json(outdir / "summary.json", summary)
    shutil.rmtree(resume_dir, ignore_errors=True)
    return summary


def write_rows(path: Path, rows: list[dict[str, float]]) -> None:
    fields = ["epoch", *METRICS]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_events(path: Path, rows: list[dict[str, float]]) -> None:
    """The epochs' metrics as a TensorBoard event file (one scalar per metric and epoch, step =
    epoch).  Its wall times are the epoch numbers, not the clock: the file is a function of the
    history, like metrics.csv."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.record_writer import RecordWriter

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        writer = RecordWriter(f)
        writer.write(Event(wall_time=0.0, file_version="brain.Event:2").SerializeToString())
        for row in rows:
            values = [Summary.Value(tag=k, simple_value=float(row[k])) for k in METRICS]
            event = Event(wall_time=float(row["epoch"]), step=int(row["epoch"]),
                          summary=Summary(value=values))
            writer.write(event.SerializeToString())
        writer.flush()


def _write_checkpoint(net: nn.Module, hparams: dict[str, Any], out: str | os.PathLike) -> None:
    """A checkpoint :func:`load_network` reads (the layout of a trained model's), byte-
    reproducible: the same weights and hyper-parameters give the same file."""
    checkpoint = {
        "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
        "hyper_parameters": hparams,
        "pytorch-lightning_version": pl.__version__,
    }
    # through a file object: torch.save names the archive after a path (the random temporary
    # name), which would make the bytes, and every dump's checkpoint_sha256, differ run to run
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        torch.save(checkpoint, f)


def save_untrained(spec: dict[str, Any], out: str | os.PathLike) -> None:
    """A loadable checkpoint of ``spec['arch']`` at its initialisation with ``init_seed``
    (exactly the starting weights of a trained model with that init seed)."""
    num_classes, in_channels, image_size = DataSpec.from_config(spec["dataset"]).shape(
        spec["arch"]
    )
    seed = spec["init_seed"]
    module = Classifier(spec["arch"], num_classes, in_channels, image_size, seed, seed, {})
    _write_checkpoint(module.net, dict(module.hparams), out)


def import_checkpoint(spec: dict[str, Any], out: str | os.PathLike) -> None:
    """A user's trained network (``spec['checkpoint']``: a state_dict file or a Lightning
    checkpoint, only read) as a convergent checkpoint of ``spec['arch']`` on the study's
    dataset; keys or shapes that do not fit end in one line naming the file."""
    source = spec["checkpoint"]
    shape = DataSpec.from_config(spec["dataset"]).shape(spec["arch"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # overwritten by the file's weights; seeded for a fixed build
        net = models.build(spec["arch"], *shape)
    load_weights(source, net, spec["arch"])
    num_classes, in_channels, image_size = shape
    hparams = {
        "arch": spec["arch"],
        "num_classes": num_classes,
        "in_channels": in_channels,
        "image_size": image_size,
        "init_seed": None,  # trained elsewhere: seeds unknown
        "data_seed": None,
        "training": {},
        "source": str(source),
        "source_sha256": sha256(source),
    }
    _write_checkpoint(net, hparams, out)


def evaluate(spec: dict[str, Any], checkpoint: str | os.PathLike, out: str | os.PathLike) -> dict:
    """``summary.json`` of an imported network: its test accuracy and loss measured as training
    measures them (Classifier.validation_step on the test split, ``test_subset`` applied)."""
    quiet_lightning()
    net, hp = load_network(checkpoint, spec["arch"])
    t = {**spec["training"], "augment_flip": False, "augment_crop": 0, "random_labels": False}
    gpu = use_gpu(t["accelerator"])
    module = Classifier(
        hp["arch"], hp["num_classes"], hp["in_channels"], hp["image_size"], 0, 0, t
    )
    module.net = net
    trainer = pl.Trainer(
        accelerator="gpu" if gpu else "cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    data = DataSpec.from_config(spec["dataset"])
    with failing_on_sigterm(spec["model"], "run the same command again"):
        (metrics,) = trainer.validate(module, make_datamodule(data, hp["arch"], t, 0),
                                      verbose=False)
    summary = {
        "model": spec["model"],
        "arch": hp["arch"],
        "init_seed": None,
        "data_seed": None,
        "replicate": 0,
        "dataset": data.name,
        "epochs": None,
        "test_acc": float(metrics["test_acc"]),
        "test_loss": float(metrics["test_loss"]),
        "device": device_name(gpu),
        "parameters": sum(p.numel() for p in net.parameters()),
        "num_classes": hp["num_classes"],
        "perturb": 0,
        "weights_sha256": weights_sha256(net),
        "checkpoint_sha256": sha256(checkpoint),
        "source": hp.get("source"),
        "source_sha256": hp.get("source_sha256"),
        "torch": torch.__version__,
        "lightning": pl.__version__,
    }
    write_json(out, summary)
    return summary
