"""Training throughput: Lightning against a plain PyTorch loop on the same device-resident
batches, in the same process, and the CPU options (threads, channels_last, batch size,
torch.compile, jobs in parallel, freed memory kept or returned).

    python benchmarks/training.py [--quick] [--device cpu|cuda] [--compile]

``bench_training(device, steps)`` returns (name, images/s, note) rows; benchmarks/bench.py and
benchmarks/gpu.py call it.  Both loops run the default study's step (alexnet_small, AdamW,
OneCycle, bf16 autocast on a GPU) after the same warm-up; images/s = batch / the median time
between step starts, so that a step preempted on a shared machine does not move it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

ARCH = "alexnet_small"
TRAINING: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 0.002,
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "label_smoothing": 0.0,
    "epochs": 8,
    "batch_size": 128,
    "augment_flip": False,
}
BATCH = TRAINING["batch_size"]
WARMUP = 5


@cache
def _data(device: str, data: str | None = None):
    """Fashion-MNIST's training split on ``device`` (``data``: its folder, else the default
    lookup), read once per process."""
    from convergent.data import DataSpec, ImageTensors

    train = DataSpec("fashion_mnist", data).tensors("train")
    return ImageTensors(train.images.to(device), train.labels.to(device))


def _module(channels_last: bool, device: str):
    from convergent.training import Classifier

    module = Classifier(ARCH, 10, 1, 28, 0, 0, TRAINING).to(device)
    return module.to(memory_format=torch.channels_last) if channels_last else module


def plain_step(device: str, batch: int = BATCH, channels_last: bool = False,
               compile_net: bool = False, bf16: bool | None = None, data: str | None = None
               ) -> Callable[[], None]:
    """One step of a plain PyTorch loop: the Classifier's step, AdamW + OneCycle, no Lightning,
    on device-resident batches (``bf16``: autocast, default on a GPU as training.fit does)."""
    from convergent.data.modules import DeviceBatches

    bf16 = device == "cuda" if bf16 is None else bf16
    module = _module(channels_last, device)
    net = torch.compile(module.net) if compile_net else module.net
    opt = torch.optim.AdamW(module.parameters(), TRAINING["lr"],
                            weight_decay=TRAINING["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, TRAINING["lr"], total_steps=10**6,
                                                pct_start=0.15)
    batches = DeviceBatches(_data(device, data), batch, 0, False)
    stream = iter(())

    def step() -> None:
        nonlocal stream
        try:
            x, y = next(stream)
        except StopIteration:  # the next epoch (a long timed window outlasts one)
            stream = iter(batches)
            x, y = next(stream)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    return step


def plain_loop(device: str, steps: int, batch: int = BATCH, channels_last: bool = False,
               compile_net: bool = False, bf16: bool | None = None, data: str | None = None
               ) -> float:
    """Images/s of :func:`plain_step` (median step after a warm-up)."""
    step = plain_step(device, batch, channels_last, compile_net, bf16, data)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(WARMUP):
        step()
    stamps = []
    for _ in range(steps + 1):
        sync()
        stamps.append(time.perf_counter())
        step()
    return batch / _median_step(stamps)


def _median_step(stamps: list[float]) -> float:
    """Median seconds between step starts: robust to a preempted step on a shared machine."""
    return float(np.median(np.diff(stamps)))


def lightning_loop(device: str, steps: int, batch: int = BATCH, data: str | None = None) -> float:
    """Images/s of convergent's Trainer setup (training.fit's options, validation off)."""
    import pytorch_lightning as pl

    from convergent.data import DataSpec
    from convergent.data.modules import TensorDataModule
    from convergent.training import precision, quiet_lightning

    quiet_lightning()
    gpu = device == "cuda"

    class Clock(pl.Callback):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_train_batch_start(self, trainer, *_):
            if trainer.global_step >= WARMUP:
                if gpu:
                    torch.cuda.synchronize()
                self.stamps.append(time.perf_counter())

    clock = Clock()
    trainer = pl.Trainer(
        max_steps=WARMUP + steps + 1,
        accelerator="gpu" if gpu else "cpu",
        devices=1,
        precision=precision({}, gpu),
        deterministic=not gpu,
        logger=False,
        enable_checkpointing=False,
        callbacks=[clock, pl.callbacks.TQDMProgressBar(refresh_rate=50)],
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        log_every_n_steps=1,
    )
    module = _module(True, device)  # as training.fit
    with contextlib.redirect_stdout(sys.stderr):  # the progress bar, as in a job log
        trainer.fit(module, TensorDataModule(DataSpec("fashion_mnist", data), batch, 0, False))
    return batch / _median_step(clock.stamps)


def _in_subprocess(threads: int, steps: int, copies: int, retain: bool = True) -> float:
    """Summed images/s of ``copies`` plain loops (channels_last, as training.fit) run at once,
    each with ``threads`` threads, keeping freed memory as the CLI does (``retain``) or with
    the C library's default malloc."""
    code = (
        ("from convergent.cli import retain_freed_memory; retain_freed_memory();" if retain
         else "")
        + f"import sys, torch; sys.path.insert(0, {str(Path(__file__).parent)!r});"
        f"torch.set_num_threads({threads}); import training;"
        f"print(training.plain_loop('cpu', {steps}, channels_last=True))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(copies)]
    return sum(float(p.communicate()[0].split()[-1]) for p in procs)


def bench_training(device: str = "cpu", steps: int = 30, compile_net: bool = False,
                   options: bool = True, data: str | None = None
                   ) -> list[tuple[str, float, str]]:
    """(name, images/s, note) rows: Lightning vs a plain loop with training.fit's options
    (channels_last; bf16 autocast on a GPU), then (``options``) the options tried: on a GPU
    fp32/bf16 x channels_last off/on and batch 512, on the CPU threads, channels_last, batch
    sizes and jobs in parallel."""
    if device == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))
    from convergent.cli import retain_freed_memory

    retain_freed_memory()  # as every convergent step's process (the rows' loops share it)
    gpu = device == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = True  # as training.fit sets it (not deterministic)
    where = torch.cuda.get_device_name() if gpu else f"{torch.get_num_threads()} threads"
    plain = plain_loop(device, steps, channels_last=True, data=data)
    light = lightning_loop(device, steps, data=data)
    fit_options = "bf16, channels_last" if gpu else "fp32, channels_last"
    rows = [
        (f"plain PyTorch loop, batch {BATCH}, {fit_options} ({where})", plain, "img/s"),
        ("Lightning (convergent's Trainer options)", light,
         f"img/s = {light / plain:.2f}x the plain loop (target >= 0.9x)"),
    ]
    if gpu and options:
        for bf16, cl in ((False, False), (False, True), (True, False)):
            name = (f"plain loop, {'bf16' if bf16 else 'fp32'}, "
                    f"channels_last {'on' if cl else 'off'}")
            value = plain_loop(device, steps, channels_last=cl, bf16=bf16, data=data)
            rows.append((name, value, f"img/s = {value / plain:.2f}x bf16 + channels_last"))
        rows.append(("plain loop, batch 512", plain_loop(device, steps, 512, channels_last=True,
                                                         data=data), "img/s"))
        if compile_net:
            rows.append(("plain loop, torch.compile(net)",
                         plain_loop(device, steps, channels_last=True, compile_net=True,
                                    data=data), "img/s (compile time excluded)"))
    if device == "cuda" or not options:
        return rows
    nchw = plain_loop(device, steps)
    rows.append(("plain loop, NCHW (channels_last off)", nchw,
                 f"img/s = {nchw / plain:.2f}x channels_last"))
    for batch in (256, 512):
        rows.append((f"plain loop, batch {batch}",
                     plain_loop(device, steps, batch, channels_last=True), "img/s"))
    if compile_net:
        rows.append(("plain loop, torch.compile(net)",
                     plain_loop(device, steps, channels_last=True, compile_net=True),
                     "img/s (compile time excluded)"))
    one = _in_subprocess(1, steps, 1)
    rows.append(("1 job x 1 thread", one, "img/s"))
    freeing = _in_subprocess(1, steps, 1, retain=False)
    rows.append(("1 job x 1 thread, freed memory returned (malloc's default)", freeing,
                 f"img/s = {freeing / one:.2f}x keeping it (convergent's CLI)"))
    rows.append(("1 job x 2 threads", _in_subprocess(2, steps, 1), "img/s"))
    two = _in_subprocess(1, steps, 2)
    rows.append(("2 jobs x 1 thread at once (sum)", two, f"img/s = {two / one:.2f}x one job"))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--compile", action="store_true", help="also time torch.compile")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args()
    rows = bench_training(args.device, 10 if args.quick else 60, args.compile)
    if args.json:
        print(json.dumps(rows))
        return
    for name, value, note in rows:
        print(f"{name:50s} {value:10,.0f} {note}")


if __name__ == "__main__":
    main()
