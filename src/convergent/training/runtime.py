"""How a training job runs Lightning: its harmless notices silenced, SIGTERM a failure, the
device (and the kind of CPU, which decides the bits) and the precision."""

from __future__ import annotations

import contextlib
import logging
import platform
import signal
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from convergent.io import InputError

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
