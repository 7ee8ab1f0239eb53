"""The public API's speed against one GEMM of the same shape (peer-free yardstick), one thread.

    python benchmarks/api.py [--quick]

* every shared measure at n × p = 10k × 256 and 50k × 512 (two layers of that shape, float64
  and float32 input): seconds and the ratio to ONE GEMM XᵀY of the pair's shape in that dtype
  (the product every measure needs at least once; a ratio ≤ 2 is what the within-layer
  products XᵀX, YᵀY cost on top);
* the 7 × 7 layer × layer CKA matrix at n = 10k (widths 64 … 512): ``layer_matrix`` against the
  49 GEMMs it needs and against 49 calls of ``linear_cka``;
* the API example of issue 22: resnet18-like layer2 at 64 px, 200 images × 8192 flattened
  features, linear CKA through the n × n Gram side against the p × p scatter route (seconds,
  peak MB);
* ``compare`` of two small CNNs over a loader: images/s against the two forward passes alone.

Shapes shrink with --quick (a smoke run).  Timings on a shared machine are noisy: read ratios.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import convergent
from convergent.analysis import similarity as sim
from convergent.analysis.scatter import Scatter

MEASURES: dict[str, Callable] = {
    "linear_cka": convergent.linear_cka,
    "debiased_cka": convergent.debiased_cka,
    "cca_rho": convergent.cca_rho,
    "svcca": convergent.svcca,
    "pwcca": convergent.pwcca,
    "procrustes": convergent.procrustes,
    "angular_shape": convergent.angular_shape,
    "regression_r2": convergent.regression_r2,
    "matching (corr + 1:1)": lambda x, y: convergent.one_to_one_matching(
        convergent.correlation_matrix(x, y)),
}
WIDTHS = (64, 64, 128, 128, 256, 256, 512)


def best(func: Callable[[], object], repeats: int = 3) -> float:
    out = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        out = min(out, time.perf_counter() - t)
    return out


def layers(rng: np.random.Generator, n: int, widths: tuple[int, ...], dtype) -> list[np.ndarray]:
    """ReLU layers of one latent signal (so that measures are away from their extremes)."""
    base = rng.standard_normal((n, 32))
    return [np.maximum(base @ rng.standard_normal((32, w)) + rng.standard_normal((n, w)), 0)
            .astype(dtype) for w in widths]


def bench_measures(shapes: list[tuple[int, int]]) -> list[tuple]:
    rng = np.random.default_rng(0)
    rows = []
    for n, p in shapes:
        for dtype in (np.float64, np.float32):
            x, y = layers(rng, n, (p, p), dtype)
            gemm = best(lambda x=x, y=y: x.T @ y)
            name = np.dtype(dtype).name
            rows.append((f"{n} x {p} {name}: one GEMM XtY", gemm, "s (yardstick)"))
            for measure, f in MEASURES.items():
                t = best(lambda f=f, x=x, y=y: f(x, y))
                rows.append((f"{n} x {p} {name}: {measure}", t, f"s = {t / gemm:.2f}x GEMM"))
    return rows


def bench_layer_matrix(n: int) -> list[tuple]:
    rng = np.random.default_rng(1)
    rows = []
    for dtype in (np.float64, np.float32):
        acts_a, acts_b = layers(rng, n, WIDTHS, dtype), layers(rng, n, WIDTHS, dtype)
        gemms = best(lambda la=acts_a, lb=acts_b: [a.T @ b for a in la for b in lb])
        t = best(lambda la=acts_a, lb=acts_b: convergent.layer_matrix(la, lb, "linear_cka"))
        pairs = best(lambda la=acts_a, lb=acts_b: [convergent.linear_cka(a, b) for a in la
                                                   for b in lb], 1)
        name = np.dtype(dtype).name
        rows += [
            (f"7x7 CKA n={n} {name}: the 49 GEMMs", gemms, "s (yardstick)"),
            (f"7x7 CKA n={n} {name}: layer_matrix", t, f"s = {t / gemms:.2f}x the 49 GEMMs"),
            (f"7x7 CKA n={n} {name}: 49 linear_cka calls", pairs,
             f"s = {pairs / t:.1f}x layer_matrix"),
        ]
    return rows


def bench_wide(features: int, scatter_route: bool) -> list[tuple]:
    """Linear CKA of 200 images × ``features`` flattened features, both routes."""
    rng = np.random.default_rng(2)
    x, y = layers(rng, 200, (features, features), np.float64)

    def peak(func: Callable[[], object]) -> tuple[float, float]:
        tracemalloc.start()
        t = time.perf_counter()
        func()
        seconds = time.perf_counter() - t
        mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return seconds, mb

    t, mb = peak(lambda: convergent.linear_cka(x, y))
    rows = [(f"linear_cka 200 x {features} (Gram side)", t, f"s, peak {mb:.0f} MB")]
    if scatter_route:
        t2, mb2 = peak(lambda: sim.linear_cka(Scatter.from_data(x, y)))
        rows.append((f"linear_cka 200 x {features} (p x p scatter route)", t2,
                     f"s, peak {mb2:.0f} MB: {t2 / t:.0f}x the Gram side"))
    return rows


def bench_compare(images: int) -> list[tuple]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    def cnn(seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)).eval()

    a, b = cnn(0), cnn(1)
    loader = DataLoader(TensorDataset(torch.randn(images, 3, 32, 32)), batch_size=250)

    def forward() -> None:
        with torch.inference_mode():
            for (x,) in loader:
                a(x), b(x)

    layer_names = ["1", "4", "7", "10"]
    t_forward = best(forward, 2)
    rows = [(f"2 CNNs forward only, {images} images 32 px", t_forward, "s (yardstick)")]
    for conv in ("mean", "positions"):
        t = best(lambda c=conv: convergent.compare(a, b, loader, layer_names, convention=c,
                                                   measures=["linear_cka", "cca_rho",
                                                             "procrustes"]), 2)
        rows.append((f"compare 4x4 layers ({conv}), {images} images", t,
                     f"s = {images / t:.0f} img/s, {t / t_forward:.2f}x the forward passes"))
    return rows


def bench_api(quick: bool = False) -> list[tuple]:
    """Every section, single-threaded (what one analysis job gets)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1):
        shapes = [(2000, 64), (5000, 128)] if quick else [(10_000, 256), (50_000, 512)]
        return (bench_measures(shapes) + bench_layer_matrix(2000 if quick else 10_000)
                + bench_wide(2048 if quick else 8192, scatter_route=True)
                + bench_compare(500 if quick else 5000))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller shapes (a smoke run)")
    args = p.parse_args()
    for name, seconds, note in bench_api(args.quick):
        print(f"{name:52s} {seconds:9.4f} {note}")


if __name__ == "__main__":
    main()
