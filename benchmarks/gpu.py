"""Every GPU figure in one short run: training throughput, one default-study model, the whole
default study.  Prints tables; asserts nothing.

    python benchmarks/gpu.py                      # on the GPU (a few minutes on one H100/H200)
    python benchmarks/gpu.py --device cpu --quick # the same code path on the CPU (the test's)

Sections and the targets of issue 16 (one H100/H200):

1. training step throughput, Lightning against a plain loop (benchmarks/training.py);
2. one model of the default study (config/config.yaml, init seed 0) trained by
   ``convergent.training.fit``: target >= 91 % test accuracy in <= 5 s of training;
3. the whole default study (4 seeds -> figures) through the local profile in a fresh folder:
   target <= 60 s wall, with each rule's time (benchmarks/study_time.py).

``--quick`` shrinks every section (few steps; 1 epoch on 2,000 images; the study with two
models, 1 epoch, two layers, to its accuracy table and one figure), so that it ends in about a
minute on a CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

#: the study section's targets: everything (default) or, with --quick, a cheap subset
QUICK_TARGETS = ["results/tables/accuracy.csv", "results/figures/training_curves.png"]


def default_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def study_config(device: str, quick: bool) -> dict[str, Any]:
    """The default study on ``device``; with ``quick``, a tiny one of the same shape."""
    config = default_config()
    config["training"]["accelerator"] = "gpu" if device == "cuda" else "cpu"
    if quick:
        config["dataset"].update(train_subset=2000, test_subset=2000)
        config["models"] = config["models"][:2]
        config["training"].update(epochs=1, batch_size=128)
        config["probe"]["size"] = 200
        config["layers"] = ["conv1", "fc7"]
        config["analysis"]["sparse_layers"] = ["conv1"]
        config["similarity"]["enabled"] = False
    return config


def table(title: str, rows: list[tuple]) -> None:
    print(f"\n## {title}", flush=True)
    for row in rows:
        print("  " + " | ".join(f"{c:,.4g}" if isinstance(c, float) else str(c) for c in row))


def one_model(device: str, quick: bool) -> list[tuple]:
    """Train seed 0 of the (quick) default study with the workflow's fit(); its figures."""
    from convergent.study import validate
    from convergent.training import fit

    config = study_config(device, quick)
    validate(config, ROOT / "config" / "schema.yaml")
    spec = {
        "arch": config["architectures"][0],
        "name": "i0-d0",
        "init_seed": 0,
        "data_seed": 0,
        "replicate": 0,
        "dataset": config["dataset"],
        "training": config["training"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # Lightning's progress bar
            summary = fit(copy.deepcopy(spec), tmp)  # torch's threads (OMP_NUM_THREADS)
        total = time.perf_counter() - start
    t = config["training"]
    return [
        ("model", summary["model"], summary["device"],
         f"{t['epochs']} epochs, batch {t['batch_size']}"),
        ("test accuracy", f"{100 * summary['test_acc']:.2f} %", "target >= 91 %"),
        ("training (Trainer.fit)", summary["train_seconds_last_session"], "s",
         "target <= 5 s on one H100/H200"),
        ("fit() whole call (data load, setup, checkpoint)", total, "s"),
    ]


def whole_study(device: str, quick: bool, keep: Path | None) -> list[tuple]:
    """Run the (quick) default study in a fresh folder through the local profile; its times."""
    import study_time

    folder = Path(keep or tempfile.mkdtemp(prefix="convergent-gpu-"))
    folder.mkdir(parents=True, exist_ok=True)
    configfile = folder / "config.yaml"
    configfile.write_text(yaml.safe_dump(study_config(device, quick), sort_keys=False))
    bin_dir = Path(sys.executable).parent
    args = [str(bin_dir / "snakemake"), "-s", str(ROOT / "Snakefile"), "--configfile",
            str(configfile), "--directory", str(folder), "--profile", "workflow/profiles/local",
            *(QUICK_TARGETS if quick else [])]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        return [("study FAILED", f"exit {proc.returncode}", proc.stderr[-2000:])]
    with open(folder / "results" / "tables" / "accuracy.csv") as f:
        accuracy = [(r["model"], f"{float(r['test_acc_pct']):.2f} %") for r in csv.DictReader(f)]
    rows = [
        ("study", "quick (2 models, 1 epoch)" if quick else "default (4 seeds -> figures)",
         str(folder)),
        ("wall, snakemake start to end", wall, "s", "target <= 60 s on one H100/H200"),
        ("test accuracy", *(f"{m} {a}" for m, a in accuracy), "target: every model >= 90 %"),
    ]
    return rows + study_time.summary_rows(folder)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the code path in a minute")
    p.add_argument("--no-study", action="store_true", help="skip the whole-study section")
    p.add_argument("--keep", type=Path, help="run the study in this folder (kept)")
    args = p.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu.py: no CUDA device visible; run with --device cpu (--quick) instead")
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{os.cpu_count()} CPUs"
    print(f"# convergent GPU figures — {where}, torch {torch.__version__}", flush=True)

    from training import bench_training

    table("training step throughput (alexnet_small, Fashion-MNIST, device-resident batches)",
          bench_training(args.device, 10 if args.quick else 200, options=False))
    table("one default-study model (training.fit)", one_model(args.device, args.quick))
    if not args.no_study:
        table("the whole default study", whole_study(args.device, args.quick, args.keep))


if __name__ == "__main__":
    main()
