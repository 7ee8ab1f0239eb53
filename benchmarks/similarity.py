"""Seconds per pair and layer of each similarity measure on the default study's shapes.

Shapes (default study, 2000 probe images): conv1 16 units × 1.5M samples (2000 images × 784
positions), conv2 32 × 392k (196 positions), conv3/conv4 48 × 98k (49), conv5 32 × 98k, fc6/fc7
256 × 2000.  The scatter-route measures are timed in two parts: accumulating the streamed sums
(XᵀX, YᵀY, XᵀY over every sample; paid once per pair and layer) and the measure itself from the
scatter matrices (paid again per bootstrap resample).  Gram/RDM measures are timed on the default
500-image subsample with flattened features (conv1: 12,544 features).

Every scatter-route row also prints its cost per pair and layer against ONE float64 GEMM of the
pair's shape (Xᵀ Y, samples × units each; target <= 1.5x): the streamed cross sum XᵀY plus the
measure from the scatter matrices.  The within-net sums XᵀX are per-model work: the similarity
job reads them from the model's moments file (``positions``) or streams them once per model and
job (``mean``), never per pair; the "pair's streamed sums" rows set what a pair streams now
(XᵀY, and the shuffled null's XᵀY) against what it streamed when every pair job redid the
within sums.  The layer x layer rows compare building each layer's centred features, scatter and
eigendecomposition once against rebuilding them for every pair.

The newer measures each print against one GEMM of their shape: the generalized shape metric and
the soft correlation match per resample from the scatter matrices (its row: cross sum + measure),
mutual k-NN and CKNNA per pair from the subsample's cosines (against the Gram GEMM XXᵀ of the
subsample: n × p times p × n), beside the per-model neighbour sort they need once.

``bench_similarity(images, subsample)`` returns [(name, seconds, note)]; benchmarks/bench.py calls
it (smaller with --quick).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from convergent.analysis import kernels, rsa, shapes
from convergent.analysis import neighbours as nn
from convergent.analysis import similarity as sim
from convergent.analysis.correlation import scatter_correlation
from convergent.analysis.matching import soft_correlation_match
from convergent.analysis.scatter import CentredLayer, Scatter
from convergent.analysis.similarity import matched_correlation
from convergent.analysis.subsample import SubsampleLayer
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


def _scatter(rng: np.random.Generator, units: int) -> Scatter:
    x = _relu_features(rng, 4 * units, units)
    y = x @ rng.normal(size=(units, units)) + rng.normal(size=x.shape)
    return Scatter.from_data(x, y)


def bench_similarity(images: int = IMAGES, subsample: int = SUBSAMPLE
                     ) -> list[tuple[str, float, str]]:
    """Single-threaded BLAS (what one analysis job gets: Snakemake sets OMP_NUM_THREADS)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _bench(images, subsample)


def _bench(images: int, subsample: int) -> list[tuple[str, float, str]]:
    rng = np.random.default_rng(0)
    out: list[tuple[str, float, str]] = []
    for layer, (units, positions, _) in LAYERS.items():
        samples = images * positions
        chunk = min(samples, 256 * positions)  # one chunk of 256 images
        x = _relu_features(rng, chunk, units)
        y = _relu_features(rng, chunk, units)

        def accumulate(x=x, y=y, units=units) -> None:
            m = [BlockMoments.zeros(1, units, units) for _ in range(3)]
            m[0].add(0, x)
            m[1].add(0, y)
            m[2].add(0, x, y)

        def cross(x=x, y=y, units=units) -> None:
            BlockMoments.zeros(1, units, units).add(0, x, y)

        def within(x=x, units=units) -> None:
            BlockMoments.zeros(1, units, units).add(0, x)

        scale = samples / chunk
        gemm = _best(lambda x=x, y=y: x.T @ y) * scale
        t_cross = _best(cross) * scale
        t_within = _best(within) * scale
        seconds = _best(accumulate) * scale
        shape = f"{units} units x {samples} samples"
        out.append((f"similarity/one float64 GEMM XtY {layer}", gemm, f"{shape}: the yardstick"))
        out.append((f"similarity/streamed cross sum XtY {layer}", t_cross,
                    f"{t_cross / gemm:.2f}x GEMM (per pair & layer)"))
        out.append((f"similarity/within sums XtX {layer}", t_within,
                    f"{t_within / gemm:.2f}x GEMM (per model & layer: the moments file)"))
        out.append((f"similarity/pair's streamed sums, now {layer}", 2 * t_cross,
                    f"{2 * t_cross / gemm:.2f}x GEMM (XtY + shuffled null's XtY)"))
        out.append((f"similarity/pair's streamed sums, before {layer}", seconds + t_cross,
                    f"{(seconds + t_cross) / gemm:.2f}x GEMM (XtX+YtY+XtY + null's XtY, "
                    f"{(seconds + t_cross) / (2 * t_cross):.2f}x now)"))
        s = _scatter(rng, units)
        corr, live = scatter_correlation(s.n, s.sxx, s.syy, s.sxy, 1e-6), sim.live_units(s, 1e-6)
        for name, func in (
            ("linear_cka", sim.linear_cka),
            ("cca (rho and R2)", sim.canonical_correlations),
            ("svcca 0.99", sim.svcca_rho),
            ("pwcca", sim.pwcca),
            ("procrustes + angular", shapes.procrustes),
            ("shape metric (alpha 0.5)", lambda s: shapes.shape_metric(s, 0.5)),
            ("soft correlation match (from C)",
             lambda s, c=corr, live=live: soft_correlation_match(c, *live)),
            ("regression R2 (both ways)", lambda s: (sim.regression_r2(s),
                                                     sim.regression_r2(s.swap()))),
            ("matched correlation (semi + 1:1)", lambda s: matched_correlation(s, 1e-6)),
            ("every scatter measure", lambda s: (sim.scatter_measures(Scatter(
                s.n, s.sxx, s.syy, s.sxy)), matched_correlation(s, 1e-6))),
        ):
            t = _best(lambda f=func, s=s: f(s))
            out.append((f"similarity/{name} {layer}", t,
                        f"from {units}x{units} scatter (per resample); cross sum + measure = "
                        f"{(t_cross + t) / gemm:.2f}x GEMM"))
    out += _layer_by_layer(rng, subsample)
    for layer in ("conv1", "fc7"):
        p = LAYERS[layer][2]
        x, y = _relu_features(rng, subsample, min(p, 512)), _relu_features(rng, subsample, 256)
        if p > 512:  # the flattened conv1 width, without a 12544² random mixing matrix
            x = np.maximum(rng.normal(size=(subsample, p)), 0)
        note = f"{subsample} images x {p} features"
        out.append((f"similarity/gram linear+rbf {layer}", _best(
            lambda x=x: (kernels.gram_linear(x), kernels.gram_rbf(x, 0.4))), note))
        kx, ky = kernels.gram_rbf(x, 0.4), kernels.gram_rbf(y, 0.4)
        out.append((f"similarity/rbf_cka from Grams {layer}",
                    _best(lambda kx=kx, ky=ky: kernels.cka(kx, ky)),
                    f"{subsample}x{subsample} Grams"))
        out.append((f"similarity/debiased linear cka {layer}", _best(
            lambda x=x, y=y: kernels.cka(x @ x.T, y @ y.T, debiased=True)), note))
        out += _neighbours(layer, x, y, note)
        out.append((f"similarity/pca reduction {layer}",
                    _best(lambda x=x: kernels.reduce_features(x)),
                    note + " (flatten route for scatter measures)"))
        ra, rb = rsa.rdm(x), rsa.rdm(y)
        out.append((f"similarity/rdm (1 - Pearson) {layer}", _best(lambda x=x: rsa.rdm(x)), note))
        for method in ("spearman", "kendall_tau_a"):
            out.append((f"similarity/rsa {method} {layer}", _best(
                lambda m=method, ra=ra, rb=rb: rsa.compare(ra, rb, m)), f"{len(ra)} RDM entries"))
    return out


def _neighbours(layer: str, x: np.ndarray, y: np.ndarray, note: str
                ) -> list[tuple[str, float, str]]:
    """Mutual k-NN and CKNNA (k = 10) per pair from the per-model cosines and neighbour lists,
    and the per-model sort, against one GEMM of the Gram's shape (XXᵀ)."""
    a, b = SubsampleLayer(x, "correlation"), SubsampleLayer(y, "correlation")
    gemm = _best(lambda: x @ x.T)
    t_sort = _best(lambda: nn.neighbour_mask(nn.nearest_neighbours(a.cosine, 10)))
    ma, mb = a.neighbours(10), b.neighbours(10)
    t_knn = _best(lambda: nn.overlap(ma, mb, 10).mean())
    t_cknna = _best(lambda: nn.cknna_masked(a.cosine, b.cosine, ma, mb))
    return [
        (f"similarity/one float64 GEMM XXt {layer}", gemm, f"{note}: the yardstick"),
        (f"similarity/neighbour lists (per model) {layer}", t_sort,
         f"{t_sort / gemm:.2f}x GEMM (cosines from the Gram, one sort)"),
        (f"similarity/mutual k-NN per pair {layer}", t_knn, f"{t_knn / gemm:.2f}x GEMM"),
        (f"similarity/CKNNA per pair {layer}", t_cknna, f"{t_cknna / gemm:.2f}x GEMM"),
    ]


def _layer_by_layer(rng: np.random.Generator, subsample: int) -> list[tuple[str, float, str]]:
    """The step's layer x layer matrix of data measures on PCA-reduced subsample features:
    each layer's centred features, scatter and eigh built once vs once per pair."""
    feats = [
        [kernels.reduce_features(_relu_features(rng, subsample // 2, min(p, subsample)))
         for _, _, p in LAYERS.values()]
        for _ in range(2)
    ]

    def per_pair() -> None:
        for xa in feats[0]:
            for xb in feats[1]:
                sim.data_measures(xa, xb)

    def once() -> None:
        a, b = ([CentredLayer(x) for x in side] for side in feats)
        for xa in a:
            for xb in b:
                sim.data_measures(xa, xb)

    t_pair, t_once = _best(per_pair), _best(once)
    n = len(LAYERS)
    note = f"{n}x{n} layers, {subsample // 2} images"
    return [
        ("similarity/layer x layer, scatter rebuilt per pair", t_pair, note),
        ("similarity/layer x layer, each layer's scatter once", t_once,
         f"{note}: {t_pair / t_once:.2f}x faster"),
    ]


if __name__ == "__main__":
    for name, seconds, note in bench_similarity():
        print(f"{name:55s} {seconds:10.4f} s  {note}")
