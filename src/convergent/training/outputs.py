"""What a training job leaves on disk, each file written atomically: the epoch checkpoint a
killed run resumes from (keyed to the hash of its training spec), the model's checkpoint,
metrics.csv and the TensorBoard events (both from the epochs' history, so a resumed run writes
the same bytes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io import TorchCheckpointIO
from torch import nn

from convergent.io import atomic_path
from convergent.models.checkpoints import load_file

#: outdir/resume/: what a killed run needs to resume (see :func:`fit`)
RESUME_DIR = "resume"
#: outdir/tensorboard/: the TensorBoard event file of ``training.logger: tensorboard``
TENSORBOARD_DIR = "tensorboard"
TENSORBOARD_EVENTS = "events.out.tfevents.convergent"
#: the checkpoint key holding the hash of the training spec that wrote it
SPEC_KEY = "convergent_spec_sha256"


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


def write_checkpoint(net: nn.Module, hparams: dict[str, Any], out: str | os.PathLike) -> None:
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
