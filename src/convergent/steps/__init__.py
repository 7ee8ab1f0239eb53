"""The steps the Snakemake rules call (``convergent <step>``), one module per .smk file of
workflow/rules/: each reads its inputs through :mod:`convergent.io`, calls the pure functions
of :mod:`convergent.analysis` (and friends) and writes its outputs through :mod:`convergent.io`.

Every module has ``register(step)``: ``step(name, func, help)`` adds a subcommand and returns its
parser, to which the module adds the arguments its functions read.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: the type of ``step``: adds a subcommand running ``func`` and returns its parser
Step = Callable[[str, Callable[[argparse.Namespace], None], str], argparse.ArgumentParser]


def add_spec(parser: argparse.ArgumentParser, keys: str) -> None:
    """The ``--spec`` argument: the JSON options a rule passes (``keys`` says which)."""
    parser.add_argument("--spec", type=json.loads, required=True, help=f"JSON: {keys}")


def modules() -> list:
    """The step modules (imported lazily by the parser: each imports its heavy packages inside
    its functions, so that ``convergent <step>`` starts fast)."""
    from convergent.steps import (
        activations,
        claims,
        compare,
        figures,
        li_analyses,
        neural,
        report,
        similarity,
        stream,
        tables,
        train,
        validation,
    )

    return [train, activations, compare, stream, tables, li_analyses, similarity, claims,
            validation, neural, figures, report]


#: where the GPU jobs of one machine take their slots (one lock file per device); default: a
#: folder of this user's in the temporary directory
GPU_LOCKS = "CONVERGENT_GPU_LOCKS"
_held: list = []  # this job's slot lock: the kernel releases it when the job ends, even killed


def visible_gpus() -> list[str]:
    """The GPUs a job may use: CUDA_VISIBLE_DEVICES if set (Slurm sets it), else nvidia-smi's."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
    return [str(k) for k, _ in enumerate(x for x in out.splitlines() if x.startswith("GPU "))]


def claim_gpu() -> str | None:
    """Give this job a GPU of its own: the first visible device whose slot no other running
    job holds becomes its only visible device (call before CUDA starts).  A slot is an flock
    on a file, released when the job ends, even by ``kill -9``.  With every slot taken (more
    concurrent GPU jobs than GPUs) it waits for one.  None without GPUs; a single visible GPU
    is used as it is."""
    devices = visible_gpus()
    if len(devices) <= 1:
        return devices[0] if devices else None
    default = Path(tempfile.gettempdir()) / f"convergent-gpus-{os.getuid()}"
    folder = Path(os.environ.get(GPU_LOCKS) or default)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for device in devices:
            lock = open(folder / f"gpu-{device}.lock", "w")  # held open for the whole job
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            _held.append(lock)
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            return device
        time.sleep(1.0)
