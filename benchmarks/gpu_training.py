"""The training sections of benchmarks/gpu.py: throughput and one default-study model (b),
determinism (d), and training jobs sharing one device (c).  Each takes gpu.Options and emits
its figures through gpu.emit.

    python benchmarks/gpu_training.py --worker K ...   # one job of section c (gpu.py starts them)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gpu_record import Options, emit, study_config, train_spec  # noqa: E402

TARGET_ACC = 91.0  # % test accuracy of every default-study model (issue 28)
TARGET_FIT_S = 5.0  # seconds of training per model on one H100/H200 (issue 16)


# ------------------------------------------------------------------ b: training
def training(opts: Options) -> None:
    """Images/s of the default model's step (Lightning against a plain loop with fit's options;
    on a GPU also fp32/bf16 x channels_last and batch 512), then one default-study model."""
    from training import bench_training

    rows = bench_training(opts.device, 10 if opts.quick else 100, options=opts.gpu,
                          data=opts.data)
    (plain_name, plain, _), (light_name, light, _) = rows[:2]
    emit("b", plain_name, plain, "img/s")
    emit("b", light_name, light, "img/s")
    emit("b", "Lightning / plain loop", round(light / plain, 3), "x", ">= 0.9x",
         light / plain >= 0.9)
    for name, value, note in rows[2:]:
        emit("b", name, value, "img/s", note=note.removeprefix("img/s").strip(" ="))
    one_model(opts)


def one_model(opts: Options) -> None:
    """Seed 0 of the (quick) default study trained by the workflow's fit()."""
    from convergent.training import fit

    config = study_config(opts.device, opts.quick, opts.data)
    spec = train_spec(config)
    t = config["training"]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # Lightning's progress bar
            summary = fit(copy.deepcopy(spec), tmp)
        total = time.perf_counter() - start
    accuracy = 100 * summary["test_acc"]
    seconds = summary["train_seconds_last_session"]
    emit("b", "default-study model", f"{summary['model']} on {summary['device']}",
         note=f"{t['epochs']} epochs, batch {t['batch_size']}")
    emit("b", "its test accuracy", round(accuracy, 2), "%", f">= {TARGET_ACC:g} %",
         accuracy >= TARGET_ACC)
    emit("b", "its training (Trainer.fit)", seconds, "s", f"<= {TARGET_FIT_S:g} s",
         seconds <= TARGET_FIT_S)
    emit("b", "its fit() call (data, set-up, checkpoints)", round(total, 2), "s")
    emit("b", "its training images/s", round(epoch_images(config) * t["epochs"] / seconds),
         "img/s")


def epoch_images(config: dict) -> int:
    """Images one training epoch sees (the last partial batch is dropped)."""
    n = config["dataset"].get("train_subset") or 60_000
    batch = config["training"]["batch_size"]
    return n // batch * batch


# ------------------------------------------------------------------ d: determinism
def determinism(opts: Options) -> None:
    """Seed 0 of the (quick) default study trained twice by `convergent train` (a fresh
    process each: cuBLAS reads its workspace setting once), with training.deterministic off and
    on: identical weights or by how much, the accuracies, and the images/s of each setting."""
    import torch

    deadline = time.monotonic() + opts.cap - 5
    config = study_config(opts.device, opts.quick, opts.data)
    speed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for deterministic in (False, True):
            config["training"]["deterministic"] = deterministic
            spec = train_spec(config)
            label = f"deterministic {'on' if deterministic else 'off'}"
            runs = []
            for k in (1, 2):
                outdir = Path(tmp) / f"{deterministic}-{k}"
                proc = subprocess.run(
                    [sys.executable, "-m", "convergent", "train", "--spec", json.dumps(spec),
                     "--outdir", str(outdir)], capture_output=True, text=True,
                    timeout=max(deadline - time.monotonic(), 1))
                if proc.returncode:
                    last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
                    emit("d", f"{label}, run {k}", f"FAILED (exit {proc.returncode})",
                         note=last[:300])
                    break
                runs.append(json.loads((outdir / "summary.json").read_text()))
                runs[-1]["weights"] = torch.load(outdir / "model.ckpt", map_location="cpu",
                                                 weights_only=False)["state_dict"]
            if len(runs) < 2:
                continue
            (a, b) = runs
            diff = max(float((a["weights"][k].double() - b["weights"][k].double()).abs().max())
                       for k in a["weights"])
            same = all(torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"])
            emit("d", f"{label}: the two runs' weights", "identical" if same else "differ",
                 note=f"max |dw| = {diff:.3g}")
            emit("d", f"{label}: test accuracy, run 1 / run 2",
                 f"{100 * a['test_acc']:.2f} / {100 * b['test_acc']:.2f} %",
                 note=f"difference {100 * abs(a['test_acc'] - b['test_acc']):.2f} pp")
            seconds = min(a["train_seconds_last_session"], b["train_seconds_last_session"])
            speed[deterministic] = epoch_images(config) * config["training"]["epochs"] / seconds
            emit("d", f"{label}: training images/s (the faster run)", round(speed[deterministic]),
                 "img/s")
    if len(speed) == 2:
        emit("d", "cost of determinism", round(speed[True] / speed[False], 3),
             "x the images/s without it")


# ------------------------------------------------------------------ c: sharing one device
def sharing(opts: Options) -> None:
    """1, 2, 4, 8 training jobs at once on one device (quick: 1, 2): started together, each
    warms up, then all run their timed windows at the same moments; the summed images/s per
    count, and where it stops growing (the default for the per-job GPU slots)."""
    counts = (1, 2) if opts.quick else (1, 2, 4, 8)
    window, gap = (2.0, 0.5) if opts.quick else (3.0, 0.5)
    args = ["--device", opts.device, "--counts", ",".join(map(str, counts)),
            "--window", str(window), "--gap", str(gap)] + (["--data", opts.data] if opts.data
                                                            else [])
    workers = [subprocess.Popen([sys.executable, __file__, "--worker", str(k), *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for k in range(max(counts))]
    try:
        for w in workers:  # each prints "ready" after its warm-up
            line = w.stdout.readline().strip()
            if line != "ready":
                emit("c", "a job failed to start", line or f"exit {w.wait()}")
                return
        start_at = time.time() + 1.0
        for w in workers:
            w.stdin.write(f"{start_at}\n")
            w.stdin.flush()
        rates = [json.loads(w.stdout.readline()) for w in workers]
    finally:
        for w in workers:
            w.kill()
    total = {n: sum(r.get(str(n), 0.0) for r in rates) for n in counts}
    for n in counts:
        emit("c", f"{n} job{'s' if n > 1 else ''} at once: summed images/s", round(total[n]),
             "img/s", note=f"{total[n] / total[counts[0]]:.2f}x one job")
    recommended, growing = counts[-1], True
    for fewer, more in zip(counts, counts[1:], strict=False):
        if total[more] < 1.1 * total[fewer]:
            recommended, growing = fewer, False
            break
    emit("c", "jobs per device beyond which the summed images/s grows < 10 %", recommended,
         note="still growing at the largest count" if growing else "")


def worker(index: int, device: str, counts: list[int], window: float, gap: float,
           data: str | None) -> None:
    """One job of :func:`sharing`: warm up, say "ready", read the start time, then time each
    round whose job count exceeds ``index``; print {count: images/s} as JSON."""
    import torch
    import training

    if device == "cpu":
        torch.set_num_threads(1)
    step = training.plain_step(device, channels_last=True, data=data)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(training.WARMUP):
        step()
    sync()
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    rates = {}
    for r, n in enumerate(counts):
        begin = start_at + r * (window + gap)
        time.sleep(max(0.0, begin - time.time()))
        if index >= n:
            continue
        steps = 0
        while time.time() < begin + window:
            step()
            steps += 1
        sync()
        rates[n] = steps * training.BATCH / (time.time() - begin)
    print(json.dumps(rates), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", type=int, required=True, help="this job's index")
    p.add_argument("--device", required=True)
    p.add_argument("--counts", required=True, help="job counts of the rounds, e.g. 1,2,4,8")
    p.add_argument("--window", type=float, required=True, help="seconds timed per round")
    p.add_argument("--gap", type=float, required=True, help="seconds between rounds")
    p.add_argument("--data")
    a = p.parse_args()
    worker(a.worker, a.device, [int(n) for n in a.counts.split(",")], a.window, a.gap, a.data)


if __name__ == "__main__":
    main()
