"""Speed and memory figures of the pipeline; prints tables, asserts nothing.

    python benchmarks/bench.py [--quick]

Sections: training throughput, Lightning against a plain loop and the CPU options
(benchmarks/training.py; CPU, and GPU when present), the streamed correlation pass
against one in-memory BLAS product of the same shape and against np.corrcoef, matching,
peak memory of an analysis job at two probe-set sizes, scaling with the number of seeds, and the
per-analysis lines of benchmarks/analyses.py, benchmarks/similarity.py and the public API's
(benchmarks/api.py) when present.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
rng = np.random.default_rng(0)


def timed(fn: Callable, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def table(title: str, rows: list[tuple]) -> None:
    print(f"\n## {title}")
    for row in rows:
        print("  " + " | ".join(f"{c:.4g}" if isinstance(c, float) else str(c) for c in row))


def planted_file(path: Path, n: int, c: int, hw: int, compress: bool = True) -> Path:
    from convergent.io import activations

    def batches():
        for i in range(0, n, 250):
            m = min(250, n - i)
            yield {"L": np.maximum(rng.normal(size=(m, c, hw, hw)), 0).astype(np.float32)}

    attrs = {
        "model": path.stem,
        "architecture": "bench",
        "dataset": "planted",
        "probe_set": "planted",
        "probe_hash": "p",
    }
    activations.write(path, batches(), n, attrs, np.arange(n), np.zeros(n, int), compress=compress)
    return path


# ------------------------------------------------------------------ correlation pass
def bench_correlation(n: int, c: int, hw: int, compress: bool = True) -> list[tuple]:
    from convergent.io.activations import ActivationFile, as_samples
    from convergent.moments import cross_moments, layer_moments

    with tempfile.TemporaryDirectory() as tmp:
        fa = planted_file(Path(tmp) / "a.h5", n, c, hw, compress)
        fb = planted_file(Path(tmp) / "b.h5", n, c, hw, compress)
        with ActivationFile(fa) as a, ActivationFile(fb) as b:
            t_within = timed(lambda: layer_moments(a, "L", 10, 256), 2)
            t_cross = timed(lambda: cross_moments(a, b, "L", 10, 256), 2)
            xa = as_samples(a.layer("L")[()])
            xb = as_samples(b.layer("L")[()])
        t_blas = timed(lambda: xa.T @ xb)
        t_read = timed(lambda: as_samples(h5read(fa)), 2)
        t_corrcoef = timed(lambda: np.corrcoef(np.hstack([xa, xb]), rowvar=False), 2)
    samples = xa.shape[0]
    return [
        (
            "shape",
            f"{samples:,} samples x {c} units ({n} images x {hw}x{hw} positions), "
            f"{'gzip' if compress else 'uncompressed'} HDF5",
        ),
        ("in-memory BLAS XaᵀXb (float64)", t_blas, "s"),
        ("HDF5 read + float64 conversion of one file", t_read, "s"),
        (
            "streamed within-net moments (one model)",
            t_within,
            "s",
            f"{t_within / (t_blas + t_read):.2f}x (BLAS + read)",
        ),
        (
            "streamed cross moments (one pair)",
            t_cross,
            "s",
            f"{t_cross / (t_blas + 2 * t_read):.2f}x (BLAS + 2 reads)",
            f"{t_cross / t_blas:.2f}x BLAS alone",
        ),
        (
            "naive np.corrcoef on [Xa Xb] (in memory)",
            t_corrcoef,
            "s",
            f"streamed pair pass (within reused) is {t_corrcoef / t_cross:.1f}x faster",
        ),
    ]


def h5read(path: Path) -> np.ndarray:
    import h5py

    with h5py.File(path) as f:
        return f["layers/L"][()]


# ------------------------------------------------------------------ matching
def bench_matching() -> list[tuple]:
    from convergent.analysis.matching import one_to_one_matching, semi_matching

    rows = []
    for c in (16, 32, 48, 96, 256, 384, 1024):
        x = rng.normal(size=(4 * c, c))
        y = x @ rng.normal(size=(c, c)) * 0.3 + rng.normal(size=x.shape)
        corr = np.corrcoef(x, y, rowvar=False)[:c, c:]
        one = timed(lambda corr=corr: one_to_one_matching(corr))
        semi = timed(lambda corr=corr: semi_matching(corr))
        rows.append((f"{c} units", f"one-to-one {one * 1e3:.2f} ms", f"semi {semi * 1e3:.3f} ms"))
    return rows


# ------------------------------------------------------------------ memory and scale
def run_step(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one CLI step in a fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "convergent", *args])
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise RuntimeError(f"convergent {args[0]} failed")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def bench_memory(sizes: tuple[int, ...], c: int, hw: int) -> list[tuple]:
    analysis = {"blocks": 10, "chunk_images": 256, "dead_unit_std": 1e-6}
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            files = [planted_file(tmp / f"{k}.h5", n, c, hw) for k in "ab"]
            t_m, mem_m = 0.0, 0.0
            for f in files:
                t, mem = run_step(
                    [
                        "moments",
                        "--spec",
                        json.dumps({"model": f.stem, "layers": ["L"], "analysis": analysis}),
                        "--activations",
                        str(f),
                        "--out",
                        str(f.with_suffix(".m.h5")),
                    ]
                )
                t_m, mem_m = t_m + t, max(mem_m, mem)
            t_c, mem_c = run_step(
                [
                    "compare",
                    "--spec",
                    json.dumps({"models": ["a", "b"], "layers": ["L"], "analysis": analysis}),
                    "--a",
                    str(files[0]),
                    "--b",
                    str(files[1]),
                    "--moments-a",
                    str(files[0].with_suffix(".m.h5")),
                    "--moments-b",
                    str(files[1].with_suffix(".m.h5")),
                    "--layer",
                    "L",
                    "--out",
                    str(tmp / "pair.h5"),
                ]
            )
            size = files[0].stat().st_size / 2**20
        rows.append(
            (
                f"{n} probe images ({n * hw * hw:,} samples, {size:.0f} MB file)",
                f"moments {t_m / 2:.2f} s/model, peak {mem_m:.0f} MB",
                f"compare {t_c:.2f} s/pair, peak {mem_c:.0f} MB",
            )
        )
    return rows


def bench_seeds(counts: tuple[int, ...], n: int, c: int, hw: int) -> list[tuple]:
    """Work for k seeds: k moments jobs + k(k-1)/2 compare jobs (per-model work never redone)."""
    from convergent.io.activations import ActivationFile
    from convergent.moments import cross_moments, layer_moments

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = [planted_file(Path(tmp) / f"{k}.h5", n, c, hw) for k in range(max(counts))]
        with ActivationFile(files[0]) as a, ActivationFile(files[1]) as b:
            t_model = timed(lambda: layer_moments(a, "L", 10, 256), 2)
            t_pair = timed(lambda: cross_moments(a, b, "L", 10, 256), 2)
    for k in counts:
        pairs = k * (k - 1) // 2
        rows.append(
            (
                f"{k} seeds",
                f"{k} models x {t_model:.2f} s + {pairs} pairs x {t_pair:.2f} s",
                f"= {k * t_model + pairs * t_pair:.1f} s per layer",
            )
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller shapes (a smoke run)")
    args = p.parse_args()
    q = args.quick
    import torch

    print(
        f"# convergent benchmarks — {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"numpy {np.__version__}, cuda={torch.cuda.is_available()}"
    )
    from training import bench_training  # benchmarks/training.py

    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        table(
            f"training step throughput on {device} (alexnet_small, Fashion-MNIST, img/s)",
            bench_training(device, 10 if q else 50, options=not q),
        )
    for compress in (True, False):
        table(
            "streamed correlation pass vs in-memory (conv1-like layer)",
            bench_correlation(200 if q else 2000, 16, 28, compress),
        )
    table(
        "streamed correlation pass vs in-memory (fc-like layer)",
        bench_correlation(2000 if q else 20000, 256, 1),
    )
    table("matching per pair and layer", bench_matching())
    table(
        "peak memory does not grow with the probe set (conv 32 units, 14x14)",
        bench_memory((250, 1000) if q else (1000, 4000), 32, 14),
    )
    table(
        "scaling with the number of seeds (conv 32 units, 14x14, 2000 images)",
        bench_seeds((2, 4, 8), 200 if q else 2000, 32, 14),
    )
    table(
        "layer width (2000 images x 49 positions)",
        [
            (f"{c} units",) + bench_correlation(200 if q else 2000, c, 7)[4][1:3]
            for c in (32, 64, 128, 256)
        ],
    )
    # --quick: 200 probe images (a 100-image subsample) instead of the default study's 2000 (500),
    # sparse prediction on the default study's conv layers only (a 256-unit fc layer's lasso
    # takes minutes on a busy 2-core machine whatever the probe set)
    sections = (("analyses", "bench_li_analyses",
                 {"images": 200, "sparse_layers": ("conv1", "conv2", "conv3", "conv5")}),
                ("similarity", "bench_similarity", {"images": 200, "subsample": 100}),
                ("api", "bench_api", {"quick": True}))
    for module, func, quick_size in sections:
        size = quick_size if q else {}
        try:
            rows = getattr(__import__(module), func)(**size)
        except ModuleNotFoundError:
            continue
        shapes = "200 probe images" if q else "default-study shapes"
        table(f"{module}: seconds per pair and layer ({shapes})", rows)


if __name__ == "__main__":
    main()
