"""Training beside a CPU hog: an epoch's time quiet and beside busy processes on every core, for
the train job as it ran before (2 threads as Snakemake gave them, OpenMP's default spinning
wait) and as it runs now (``convergent train``: ``training.threads`` = 1, passive waiting).

    python benchmarks/contention.py [--images 6000] [--hogs N] [--configs before,now,now-2]

Each configuration trains the default study's recipe on ``--images`` Fashion-MNIST images for one
epoch in a fresh process and reports ``train_seconds_last_session`` of its summary (Trainer.fit:
the epoch and its test pass, no start-up); then again beside ``--hogs`` busy Python processes
(default: one per core, a hog using every core).  The hogs run at the benchmark's own niceness,
so a job waiting passively gets its fair share: with 1 training thread and one hog per core
that is cores / (cores + 1) of a core (1.5x its quiet time on 2 cores; with 2 x cores hogs
2.5x); spinning barriers make it far worse.  The machine's load (``uptime``) is printed first:
on a shared machine every figure is noisy, the quiet one too.  Target: the ratio of ``now``
<= 2.5.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: the job environment Snakemake sets for a rule's threads (snakemake/shell.py)
SNAKEMAKE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                              "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: before this benchmark's fix the train step took its threads from Snakemake (2 by default)
#: and called fit() with them, OpenMP waiting as it does by default
BEFORE = """
import json, sys, torch
from convergent import training
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["training"]["threads"])
training.fit(spec, sys.argv[2])
"""
#: name -> (training.threads, through today's CLI?)
CONFIGS = {"before": (2, False), "now": (1, True), "now-2": (2, True)}


def spec(images: int, threads: int) -> dict:
    """Seed 0 of the default study, one epoch on ``images`` training images, CPU."""
    from convergent.study import validate

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["dataset"].update(train_subset=images, test_subset=1000)
    config["training"].update(epochs=1, accelerator="cpu", threads=threads)
    validate(config, ROOT / "config" / "schema.yaml")
    return {"arch": config["architectures"][0], "name": "i0-d0", "init_seed": 0, "data_seed": 0,
            "replicate": 0, "dataset": config["dataset"], "training": config["training"]}


def train_seconds(config: str, images: int) -> tuple[float, float]:
    """(seconds of Trainer.fit, CPU seconds of the whole process) of one training run."""
    threads, cli = CONFIGS[config]
    env = {**os.environ, **dict.fromkeys(SNAKEMAKE_THREAD_VARIABLES, str(threads))}
    env.pop("OMP_WAIT_POLICY", None)
    text = json.dumps(spec(images, threads))
    with tempfile.TemporaryDirectory() as out:
        command = ([sys.executable, "-m", "convergent", "train", "--spec", text, "--outdir", out]
                   if cli else [sys.executable, "-c", BEFORE, text, out])
        before = _children_cpu()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        summary = json.loads((Path(out) / "summary.json").read_text())
        return summary["train_seconds_last_session"], _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spin() -> None:
    while True:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=6000, help="training images of the epoch")
    p.add_argument("--hogs", type=int, default=os.cpu_count(), help="busy processes")
    p.add_argument("--configs", default="before,now", help=f"of {', '.join(CONFIGS)}")
    args = p.parse_args()
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"{os.cpu_count()} cores, {args.hogs} hogs, one epoch of {args.images} images")
    print("seconds of Trainer.fit (CPU seconds of the whole process in brackets)")
    print(f"{'config':8} {'threads':>7} {'quiet':>14} {'hogged':>14} {'ratio':>6}")
    for config in args.configs.split(","):
        quiet, quiet_cpu = train_seconds(config, args.images)
        hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.hogs)]
        for hog in hogs:
            hog.start()
        try:
            time.sleep(1.0)  # the hogs are running
            hogged, hogged_cpu = train_seconds(config, args.images)
        finally:
            for hog in hogs:
                hog.terminate()
                hog.join()
        print(f"{config:8} {CONFIGS[config][0]:>7} {quiet:6.1f} ({quiet_cpu:5.1f}) "
              f"{hogged:6.1f} ({hogged_cpu:5.1f}) {hogged / quiet:6.2f}", flush=True)


if __name__ == "__main__":
    main()
