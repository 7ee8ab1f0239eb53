"""Every GPU figure of issue 27 in one short run: each section in its own process under its own
time cap, within one overall budget, its figures printed and flushed as they come.  Asserts
nothing: a section that fails or runs out of time is reported as such and the next one runs.

    bash scripts/device/run.sh                         # on the GPU machine: wheels, then this
    python benchmarks/gpu.py --out DIR                 # every section
    python benchmarks/gpu.py --sections b,d --out DIR  # some of them (a short rerun)
    python benchmarks/gpu.py --quick --out DIR         # tiny sizes: the code path, on the CPU

Sections, the most valuable first (targets of issues 16, 27 and 28 on one H100/H200):

a. environment: device, driver, torch and Lightning versions, the commit (CONVERGENT_COMMIT);
b. training throughput of alexnet_small (fp32/bf16 x channels_last; Lightning against a plain
   loop on the same device-resident batches: >= 0.9x) and one default-study model to >= 91 %
   test accuracy in <= 5 s (benchmarks/gpu_training.py);
e. the whole default study (4 seeds -> findings) through Snakemake in a fresh folder: <= 60 s
   wall, with each rule's time (benchmarks/study_time.py), or how far it got within its cap;
d. determinism: one config trained twice, with and without training.deterministic: identical
   or by how much, and what determinism costs in images/s (gpu_training.py);
h. the recipe sweep of issue 28: images to 91 % for all four seeds (benchmarks/recipe.py);
c. training jobs sharing one device: 1, 2, 4, 8 at once, their summed images/s
   (gpu_training.py);
f. streamed paper scale: CaffeNet's forward pass with the cross sums on a synthetic ImageNet-
   shaped ImageFolder, and the projection of Li et al.'s four CaffeNets in GPU-hours
   (benchmarks/gpu_scale.py);
g. the float64 sums of the similarity jobs: numpy against torch on the device (gpu_scale.py).

Output: the log on stdout; with --out, DIR/gpu_results.json (every figure, rewritten after each
section) -- scripts/device/run.sh tees stdout to DIR/gpu_log.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gpu_record import (  # noqa: E402
    RESULTS_ENV,
    ROOT,
    Options,
    emit,
    study_config,
)

#: overall budget in seconds on the GPU (the device run's 8 minutes, less set-up)
BUDGET_S = 480
#: a section is started only with at least this much of the budget left
MIN_START_S = 20


# ------------------------------------------------------------------ a: environment
def environment(opts: Options) -> None:
    import numpy as np
    import pytorch_lightning as pl
    import torch

    emit("a", "date (UTC)", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))
    emit("a", "commit", commit())
    emit("a", "device", torch.cuda.get_device_name() if opts.gpu else "cpu")
    if opts.gpu:
        query = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version,memory.total,clocks.max.sm",
             "--format=csv,noheader"], capture_output=True, text=True)
        emit("a", "driver, memory, max SM clock", query.stdout.strip() or query.stderr.strip())
        emit("a", "CUDA (torch's)", torch.version.cuda)
        emit("a", "multiprocessors", torch.cuda.get_device_properties(0).multi_processor_count)
    emit("a", "CPU cores", os.cpu_count())
    emit("a", "python", platform.python_version())
    pinned = next(line.split("==")[1] for line in (ROOT / "requirements.txt").read_text()
                  .splitlines() if line.startswith("torch=="))
    emit("a", "torch", torch.__version__,
         note="" if torch.__version__.startswith(pinned) else f"not the pinned {pinned}")
    emit("a", "pytorch-lightning", pl.__version__)
    emit("a", "numpy", np.__version__)
    try:
        import snakemake

        emit("a", "snakemake", snakemake.__version__)
    except ImportError:
        emit("a", "snakemake", "missing", note="section e needs it: the carried wheels")


def commit() -> str:
    """CONVERGENT_COMMIT (the device's copy of the checkout has no .git), else git's HEAD."""
    if os.environ.get("CONVERGENT_COMMIT"):
        return os.environ["CONVERGENT_COMMIT"]
    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    return proc.stdout.strip() or "unknown"


# ------------------------------------------------------------------ e: the whole study
#: the quick study's targets: its accuracy table and one figure (the rest is the workflow's
#: own tests' business)
QUICK_TARGETS = ["results/tables/accuracy.csv", "results/figures/training_curves.png"]
#: GPU jobs (train, dump) of the study at once on the one GPU: the local profile's default is
#: one per GPU; section c measures how many it holds
STUDY_GPU_SLOTS = 4


def snakemake_command() -> list[str]:
    """This Python's Snakemake (scripts/device/run.sh puts a `snakemake` of it on PATH)."""
    return [sys.executable, "-m", "snakemake"]


def whole_study(opts: Options) -> None:
    """The (quick) default study in a fresh folder through the local profile, stopped at the
    cap less a margin: wall time, how far it got, each model's accuracy and each rule's time."""
    import csv

    import study_time

    folder = Path(tempfile.mkdtemp(prefix="convergent-study-"))
    configfile = folder / "config.yaml"
    configfile.write_text(yaml.safe_dump(study_config(opts.device, opts.quick, opts.data),
                                         sort_keys=False))
    args = [*snakemake_command(), "-s", str(ROOT / "Snakefile"), "--configfile", str(configfile),
            "--directory", str(folder), "--profile", "workflow/profiles/local",
            "--cores", str(os.cpu_count()), "--scheduler", "greedy",
            *(["--resources", f"gpu={STUDY_GPU_SLOTS}"] if opts.gpu else []),
            *(QUICK_TARGETS if opts.quick else [])]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}{os.pathsep}{bin_dir}"}
    log = folder / "snakemake.log"
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        status = wait_or_stop(proc, opts.cap - 20)
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    progress = [line for line in text.splitlines() if " steps (" in line and " done" in line]
    emit("e", "study", "quick (2 models, 1 epoch)" if opts.quick else
         "default (4 seeds -> findings)", note=f"{folder}; --cores {os.cpu_count()}" + (
             f", {STUDY_GPU_SLOTS} GPU jobs at once" if opts.gpu else ""))
    emit("e", "snakemake", status, ok=status == "exit 0")
    emit("e", "jobs done", progress[-1].strip() if progress else "none finished")
    emit("e", "wall, snakemake start to end", round(wall, 1), "s", "<= 60 s",
         status == "exit 0" and wall <= 60)
    if status != "exit 0":
        print(text[-3000:], flush=True)
    table = folder / "results" / "tables" / "accuracy.csv"
    if table.exists():
        with open(table) as f:
            for row in csv.DictReader(f):
                accuracy = float(row["test_acc_pct"])
                emit("e", f"test accuracy {row['model']}", accuracy, "%", ">= 91 %",
                     accuracy >= 91.0)
    for row in study_time.summary_rows(folder, [configfile]):
        name = row[0].removeprefix("== ") if row[0].startswith("==") else f"rule {row[0]}"
        emit("e", name, " | ".join(str(c) for c in row[1:]))
    shutil.rmtree(folder, ignore_errors=True)


def wait_or_stop(proc: subprocess.Popen, seconds: float) -> str:
    """Wait for ``proc`` at most ``seconds``; then stop it and everything it started (SIGTERM:
    Snakemake ends its jobs; SIGKILL after 10 s).  The outcome in words."""
    try:
        return f"exit {proc.wait(timeout=max(seconds, 1.0))}"
    except subprocess.TimeoutExpired:
        stop_tree(proc)
        return f"stopped at its cap ({seconds:.0f} s)"


def stop_tree(proc: subprocess.Popen) -> None:
    """SIGTERM to ``proc``'s process group and every descendant, SIGKILL to what is left
    after 10 s (the next section's timings must not share the device with it)."""
    import psutil

    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for p in family:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(family, timeout=10)
        if not alive:
            break
    proc.wait()


# ------------------------------------------------------------------ the driver
@dataclass(frozen=True)
class Section:
    key: str
    title: str
    run: Callable[[Options], None]
    cap_gpu: float  # seconds on the GPU
    cap_quick: float  # seconds of --quick on a CPU


def sections() -> dict[str, Section]:
    import gpu_scale
    import gpu_training
    import recipe

    listed = [
        Section("a", "environment", environment, 25, 60),
        Section("b", "training throughput and one default-study model",
                gpu_training.training, 70, 300),
        Section("e", "the whole default study through Snakemake", whole_study, 180, 400),
        Section("d", "determinism: one config trained twice", gpu_training.determinism,
                70, 300),
        Section("h", "recipe sweep: images to 91 % for four seeds", recipe.section, 90, 300),
        Section("c", "training jobs sharing one device", gpu_training.sharing, 40, 200),
        Section("f", "streamed paper scale (CaffeNet, synthetic ImageNet)",
                gpu_scale.paper_scale, 50, 240),
        Section("g", "float64 sums: numpy against torch", gpu_scale.sums, 35, 120),
    ]
    return {s.key: s for s in listed}


def run_section(key: str, opts: Options) -> None:
    """One section in this process (the driver's child)."""
    section = sections()[key]
    print(f"\n## {key}. {section.title} (cap {opts.cap:.0f} s, {opts.device})", flush=True)
    section.run(opts)


def drive(keys: list[str], opts: Options, budget: float, out: Path | None,
          caps: dict[str, float] | None = None) -> dict[str, Any]:
    """Each section in a child process under min(its cap, what is left of the budget);
    gpu_results.json rewritten after each; the summary table at the end.  ``caps``: seconds
    per section key over the sections' own."""
    if out is not None:
        results_file = out / "gpu_results.jsonl"
        results_file.unlink(missing_ok=True)
    else:
        results_file = Path(tempfile.mkstemp(prefix="gpu-results-", suffix=".jsonl")[1])
    deadline = time.monotonic() + budget
    report: dict[str, Any] = {"device": opts.device, "quick": opts.quick, "commit": commit(),
                              "budget_s": budget, "sections": []}
    known = sections()
    for key in keys:
        section = known[key]
        own = section.cap_quick if opts.quick else section.cap_gpu
        cap = min((caps or {}).get(key, own), deadline - time.monotonic())
        entry = {"key": key, "title": section.title, "cap_s": round(cap, 1)}
        if cap < min(MIN_START_S, (caps or {}).get(key, MIN_START_S)):
            entry.update(status="skipped: the budget is spent", seconds=0.0)
            print(f"\n## {key}. {section.title}: skipped (the budget is spent)", flush=True)
        else:
            child = Options(**{**asdict(opts), "cap": cap})
            start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, __file__, "--run-section", key, "--json-options",
                 json.dumps(asdict(child))],
                env={**os.environ, RESULTS_ENV: str(results_file)}, start_new_session=True)
            status = wait_or_stop(proc, cap)
            entry.update(status=status, seconds=round(time.monotonic() - start, 1))
            print(f"## {key}: {status} after {entry['seconds']} s", flush=True)
        report["sections"].append(entry)
        _save(report, results_file, out)
    summary(report, _rows(results_file))
    return report


def _rows(results_file: Path) -> list[dict[str, Any]]:
    if not results_file.exists():
        return []
    return [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]


def _save(report: dict[str, Any], results_file: Path, out: Path | None) -> None:
    if out is None:
        return
    rows = _rows(results_file)
    for entry in report["sections"]:
        entry["figures"] = [r for r in rows if r["section"] == entry["key"]]
    tmp = out / "gpu_results.json.tmp"
    tmp.write_text(json.dumps(report, indent=1, default=str))
    tmp.replace(out / "gpu_results.json")


def summary(report: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Every section's outcome and every figure that has a target, against it."""
    print("\n# summary: sections", flush=True)
    for entry in report["sections"]:
        print(f"  {entry['key']}. {entry['title']}: {entry['status']} "
              f"({entry.get('seconds', 0)} s of {entry['cap_s']} s)")
    print("\n# summary: figures against their targets")
    for r in rows:
        if r.get("target"):
            value = f"{r['value']:,.4g}" if isinstance(r["value"], float) else r["value"]
            verdict = "-" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
            print(f"  {r['section']}. {r['name']}: {value} {r['unit']} (target {r['target']}) "
                  f"{verdict}")
    print(flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                   help="auto: cuda if torch sees one, else cpu")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the code path in minutes")
    p.add_argument("--sections", default="abedhcfg", help="which, in this order (e.g. b,d)")
    p.add_argument("--budget", type=float, help=f"overall seconds (default {BUDGET_S} on a "
                   "GPU; none with --quick)")
    p.add_argument("--caps", default="", help="seconds per section over its own cap, e.g. "
                   "e=240,h=60")
    p.add_argument("--data", help="Fashion-MNIST's folder (default: the usual lookup)")
    p.add_argument("--out", type=Path, help="write gpu_results.json here")
    p.add_argument("--run-section", help=argparse.SUPPRESS)  # the driver's child
    p.add_argument("--json-options", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run_section:
        run_section(args.run_section, Options(**json.loads(args.json_options)))
        return
    import torch

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu.py: no CUDA device visible; run with --device cpu (--quick) instead")
    keys = [k for k in args.sections.replace(",", "") if k.strip()]
    unknown = set(keys) - set(sections())
    if unknown:
        sys.exit(f"gpu.py: --sections: unknown {sorted(unknown)}; choose from abcdefgh")
    caps = {k: float(v) for k, v in (c.split("=") for c in args.caps.split(",") if c)}
    budget = args.budget or (BUDGET_S if not args.quick else 3600.0)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    print(f"# convergent GPU figures: {device}{' (quick)' if args.quick else ''}, sections "
          f"{''.join(keys)}, budget {budget:.0f} s", flush=True)
    drive(keys, Options(device, args.quick, args.data, budget), budget, args.out, caps)


if __name__ == "__main__":
    main()
