"""Seconds per pair and layer of each similarity measure on the default study's shapes.

Shapes (default study, 2000 probe images): conv1 16 units × 1.5M samples (2000 images × 784
positions), conv2 32 × 392k (196 positions), conv3/conv4 48 × 98k (49), conv5 32 × 98k, fc6/fc7
256 × 2000.  The scatter-route measures are timed in two parts: accumulating the streamed sums
(XᵀX, YᵀY, XᵀY over every sample; paid once per pair and layer) and the measure itself from the
scatter matrices (paid again per bootstrap resample).  Gram/RDM measures are timed on the default
500-image subsample with flattened features (conv1: 12,544 features).

``bench_similarity()`` returns [(name, seconds, note)]; benchmarks/bench.py calls it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from convergent.analysis import rsa
from convergent.analysis import similarity as sim
from convergent.analysis.similarity import matched_correlation
from convergent.moments import BlockMoments

IMAGES = 2000
#: layer -> (units, positions per image, flattened features per image)
LAYERS = {
    "conv1": (16, 784, 16 * 784),
    "conv2": (32, 196, 32 * 196),
    "conv3": (48, 49, 48 * 49),
    "conv5": (32, 49, 32 * 49),
    "fc7": (256, 1, 256),
}
SUBSAMPLE = 500


def _best(func: Callable[[], object], repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return best


def _relu_features(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    return np.maximum(rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) / np.sqrt(p), 0)


def _scatter(rng: np.random.Generator, units: int) -> sim.Scatter:
    x = _relu_features(rng, 4 * units, units)
    y = x @ rng.normal(size=(units, units)) + rng.normal(size=x.shape)
    return sim.Scatter.from_data(x, y)


def bench_similarity() -> list[tuple[str, float, str]]:
    """Single-threaded BLAS (what one analysis job gets: Snakemake sets OMP_NUM_THREADS)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _bench()


def _bench() -> list[tuple[str, float, str]]:
    rng = np.random.default_rng(0)
    out: list[tuple[str, float, str]] = []
    for layer, (units, positions, _) in LAYERS.items():
        samples = IMAGES * positions
        chunk = min(samples, 256 * positions)  # one chunk of 256 images
        x = _relu_features(rng, chunk, units)
        y = _relu_features(rng, chunk, units)

        def accumulate(x=x, y=y, units=units) -> None:
            m = [BlockMoments.zeros(1, units, units) for _ in range(3)]
            m[0].add(0, x)
            m[1].add(0, y)
            m[2].add(0, x, y)

        seconds = _best(accumulate) * samples / chunk
        out.append((f"similarity/streamed sums {layer}", seconds,
                    f"{units} units x {samples} samples, XtX+YtY+XtY (per pair & layer)"))
        s = _scatter(rng, units)
        for name, func in (
            ("linear_cka", sim.linear_cka),
            ("cca (rho and R2)", sim.canonical_correlations),
            ("svcca 0.99", sim.svcca_rho),
            ("pwcca", sim.pwcca),
            ("procrustes + angular", sim.procrustes),
            ("regression R2 (both ways)", lambda s: (sim.regression_r2(s),
                                                     sim.regression_r2(s.swap()))),
            ("matched correlation (semi + 1:1)", lambda s: matched_correlation(s, 1e-6)),
        ):
            out.append((f"similarity/{name} {layer}", _best(lambda f=func, s=s: f(s)),
                        f"from {units}x{units} scatter matrices (per bootstrap resample)"))
    for layer in ("conv1", "fc7"):
        p = LAYERS[layer][2]
        x, y = _relu_features(rng, SUBSAMPLE, min(p, 512)), _relu_features(rng, SUBSAMPLE, 256)
        if p > 512:  # the flattened conv1 width, without a 12544² random mixing matrix
            x = np.maximum(rng.normal(size=(SUBSAMPLE, p)), 0)
        note = f"{SUBSAMPLE} images x {p} features"
        out.append((f"similarity/gram linear+rbf {layer}", _best(
            lambda x=x: (sim.gram_linear(x), sim.gram_rbf(x, 0.4))), note))
        kx, ky = sim.gram_rbf(x, 0.4), sim.gram_rbf(y, 0.4)
        out.append((f"similarity/rbf_cka from Grams {layer}",
                    _best(lambda kx=kx, ky=ky: sim.cka(kx, ky)), f"{SUBSAMPLE}x{SUBSAMPLE} Grams"))
        out.append((f"similarity/debiased linear cka {layer}", _best(
            lambda x=x, y=y: sim.cka(x @ x.T, y @ y.T, debiased=True)), note))
        out.append((f"similarity/pca reduction {layer}", _best(lambda x=x: sim.reduce_features(x)),
                    note + " (flatten route for scatter measures)"))
        ra, rb = rsa.rdm(x), rsa.rdm(y)
        out.append((f"similarity/rdm (1 - Pearson) {layer}", _best(lambda x=x: rsa.rdm(x)), note))
        for method in ("spearman", "kendall_tau_a"):
            out.append((f"similarity/rsa {method} {layer}", _best(
                lambda m=method, ra=ra, rb=rb: rsa.compare(ra, rb, m)), f"{len(ra)} RDM entries"))
    return out


if __name__ == "__main__":
    for name, seconds, note in bench_similarity():
        print(f"{name:55s} {seconds:10.4f} s  {note}")
