"""The API's device path on a GPU (or, with --device cpu, the same code on the CPU): measures
on tensors where they are, layer_matrix, and compare() of two resnet18s over a loader; each
checked against the float64 CPU numbers and timed against one GEMM on the device.

    python benchmarks/api_gpu.py [--device cuda|cpu] [--quick]

Prints one line per figure; exits 1 if a device result disagrees with the CPU's (float64:
1e-9, float32: 1e-4).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

import convergent

MEASURES = ("linear_cka", "debiased_cka", "cca_rho", "svcca", "pwcca", "procrustes",
            "regression_r2")


def timed(func: Callable[[], object], device: torch.device, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        func()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def layer(g: torch.Generator, n: int, p: int, base: torch.Tensor) -> torch.Tensor:
    w = torch.randn(base.shape[1], p, generator=g, dtype=torch.float64)
    return torch.relu(base @ w + torch.randn(n, p, generator=g, dtype=torch.float64))


def measures(device: torch.device, shapes: list[tuple[int, int]]) -> list[str]:
    """Each measure on device tensors (float64, float32) against numpy float64 on the CPU."""
    bad, g = [], torch.Generator().manual_seed(0)
    for n, p in shapes:
        base = torch.randn(n, 32, generator=g, dtype=torch.float64)
        x, y = layer(g, n, p, base), layer(g, n, p, base)
        reference = {m: getattr(convergent, m)(x.numpy(), y.numpy()) for m in MEASURES}
        for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
            dx, dy = x.to(device, dtype), y.to(device, dtype)
            gemm = timed(lambda dx=dx, dy=dy: dx.T @ dy, device)
            print(f"{n} x {p} {dtype} on {device}: one GEMM XtY {gemm:.5f} s")
            for m in MEASURES:
                value = getattr(convergent, m)(dx, dy)
                t = timed(lambda m=m, dx=dx, dy=dy: getattr(convergent, m)(dx, dy), device)
                error = abs(value - reference[m])
                print(f"  {m:14s} {t:.5f} s = {t / gemm:6.1f}x GEMM  |diff vs CPU f64| "
                      f"{error:.1e}")
                if not error <= tol:
                    bad.append(f"{m} {n}x{p} {dtype}: {value} vs {reference[m]}")
    return bad


def layer_matrix(device: torch.device, n: int) -> list[str]:
    g = torch.Generator().manual_seed(1)
    base = torch.randn(n, 32, generator=g, dtype=torch.float64)
    widths = (64, 64, 128, 128, 256, 256, 512)
    acts_a = [layer(g, n, w, base) for w in widths]
    acts_b = [layer(g, n, w, base) for w in widths]
    reference = convergent.layer_matrix([a.numpy() for a in acts_a], [b.numpy() for b in acts_b])
    bad = []
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
        da = [a.to(device, dtype) for a in acts_a]
        db = [b.to(device, dtype) for b in acts_b]
        gemms = timed(lambda da=da, db=db: [a.T @ b for a in da for b in db], device)
        m = convergent.layer_matrix(da, db)
        t = timed(lambda da=da, db=db: convergent.layer_matrix(da, db), device)
        error = float(np.abs(m - reference).max())
        print(f"7x7 CKA n={n} {dtype} on {device}: layer_matrix {t:.4f} s = "
              f"{t / gemms:.2f}x the 49 GEMMs ({gemms:.4f} s)  |diff vs CPU f64| {error:.1e}")
        if not error <= tol:
            bad.append(f"layer_matrix {dtype}: {error}")
    return bad


def compare(device: torch.device, images: int, side: int) -> list[str]:
    """Two untrained resnet18s over a loader of random images, on ``device``."""
    from torch.utils.data import DataLoader, TensorDataset
    from torchvision.models import resnet18

    def net(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        return resnet18(num_classes=10).to(device).eval()

    a, b = net(0), net(1)
    loader = DataLoader(TensorDataset(torch.randn(images, 3, side, side)), batch_size=250)
    layers = ["layer1", "layer2", "layer3", "layer4"]

    def forward() -> None:
        with torch.inference_mode():
            for (x,) in loader:
                x = x.to(device)
                a(x), b(x)

    t_forward = timed(forward, device, 2)
    print(f"2 resnet18 forward, {images} images {side} px on {device}: {t_forward:.3f} s")
    bad = []
    results = {}
    for precision in ("float64", "float32"):
        for conv in ("mean", "flatten"):
            r = convergent.compare(a, b, loader, layers, measures=["linear_cka", "procrustes"],
                                   convention=conv, precision=precision)
            t = timed(lambda c=conv, p=precision: convergent.compare(
                a, b, loader, layers, measures=["linear_cka", "procrustes"], convention=c,
                precision=p), device, 2)
            results[precision, conv] = r["linear_cka"]
            print(f"  compare 4x4 {conv} {precision}: {t:.3f} s = {images / t:.0f} img/s, "
                  f"{t / t_forward:.2f}x the forward passes; CKA diag "
                  f"{np.round(np.diag(r['linear_cka']), 3)}")
    for conv in ("mean", "flatten"):
        error = float(np.abs(results["float32", conv] - results["float64", conv]).max())
        print(f"  {conv}: |float32 - float64| CKA {error:.1e}")
        if not error <= 1e-4:
            bad.append(f"compare {conv} float32 vs float64: {error}")
    return bad


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="small shapes (the CPU smoke run)")
    args = p.parse_args()
    device = torch.device(args.device)
    shapes = [(2000, 64)] if args.quick else [(10_000, 256), (50_000, 512)]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"# convergent API on {device} ({name}), torch {torch.__version__}")
    bad = measures(device, shapes)
    bad += layer_matrix(device, 1000 if args.quick else 10_000)
    bad += compare(device, 100 if args.quick else 5000, 32 if args.quick else 64)
    print("api_gpu: all device results agree with the CPU" if not bad else
          "api_gpu: DISAGREE: " + "; ".join(bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
