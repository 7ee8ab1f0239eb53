"""The training jobs: train one model (:func:`fit`, resumable), the checkpoint of an
untrained network or of one trained elsewhere, and the test accuracy of an imported one."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from convergent import models
from convergent.data import DataSpec, make_datamodule
from convergent.io import atomic_path, sha256, write_json
from convergent.models.checkpoints import load_network, load_weights
from convergent.study import with_later_options
from convergent.training.classifier import Classifier, weights_sha256
from convergent.training.outputs import (
    RESUME_DIR,
    TENSORBOARD_DIR,
    TENSORBOARD_EVENTS,
    CheckpointFile,
    EpochCheckpoint,
    resume_point,
    spec_sha256,
    write_checkpoint,
    write_events,
    write_rows,
)
from convergent.training.runtime import (
    device_name,
    failing_on_sigterm,
    precision,
    quiet_lightning,
    use_gpu,
)


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


def save_untrained(spec: dict[str, Any], out: str | os.PathLike) -> None:
    """A loadable checkpoint of ``spec['arch']`` at its initialisation with ``init_seed``
    (exactly the starting weights of a trained model with that init seed)."""
    num_classes, in_channels, image_size = DataSpec.from_config(spec["dataset"]).shape(
        spec["arch"]
    )
    seed = spec["init_seed"]
    module = Classifier(spec["arch"], num_classes, in_channels, image_size, seed, seed, {})
    write_checkpoint(module.net, dict(module.hparams), out)


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
    write_checkpoint(net, hparams, out)


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
