"""Benchmarks of the Li et al. (2016) analyses on synthetic data of the default study's shapes.

``bench_li_analyses(images)`` returns (name, seconds, note) rows: seconds per pair and layer.
Shapes (alexnet_small on 2000 Fashion-MNIST probe images, the default): conv1 16 units × 1.57M
samples, conv2 32 × 392k, conv3/conv4 48 × 98k, conv5 32 × 98k, fc6/fc7 256 × 2000.
Run directly: ``python benchmarks/analyses.py``.
"""

from __future__ import annotations

import time

import numpy as np
from similarity import IMAGES, LAYERS  # benchmarks/similarity.py: the default study's shapes

from convergent import paper
from convergent.analysis import clustering as cl
from convergent.analysis import mutual_information as mi
from convergent.analysis import sparse_prediction as sp


def shapes(images: int = IMAGES) -> dict[str, tuple[int, int]]:
    """layer -> (units, samples) on ``images`` probe images (the default study's layers)."""
    return {layer: (units, images * positions) for layer, (units, positions, _) in LAYERS.items()}


CHUNK_ROWS = 256 * 7 * 7 * 4  # about the rows of one streamed chunk


def relu_like(rng: np.random.Generator, n: int, units: int) -> np.ndarray:
    """Correlated, half-zero activations (ReLU of a mixed Gaussian)."""
    mix = np.eye(units) + 0.3 * rng.normal(size=(units, units))
    return np.maximum(rng.normal(size=(n, units)) @ mix, 0.0)


def _timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def bench_mutual_information(layer: str, rng: np.random.Generator, shape: tuple[int, int]
                             ) -> tuple[str, float, str]:
    units, samples = shape
    x = relu_like(rng, min(samples, 200_000), units)  # one block, reused to reach `samples`
    edges = mi.bin_edges(x[:100_000])

    def run() -> None:
        hist = mi.JointHistogram(edges, edges)
        done = 0
        while done < samples:
            rows = min(CHUNK_ROWS, samples - done)
            start = done % (len(x) - rows + 1)
            hist.add(x[start : start + rows], x[start : start + rows])
            done += rows
        mi.mutual_information(hist.counts)

    return (
        f"li_mutual_information_{layer}",
        _timed(run),
        f"{units}x{units} units, {samples} samples, 10 bins (binning + joint counts + MI)",
    )


def bench_sparse_prediction(layer: str, rng: np.random.Generator, shape: tuple[int, int]
                            ) -> tuple[str, float, str]:
    units, samples = shape
    n = min(samples, 20_000)
    x, noise = relu_like(rng, n, units), rng.normal(size=(n, units))
    y = np.maximum(x @ (rng.normal(size=(units, units)) * (rng.random((units, units)) < 0.1)), 0)
    y += 0.5 * noise
    blocks = 10
    parts = np.array_split(np.arange(n), blocks)
    sums = sp.BlockSums(
        np.array([float(len(b)) for b in parts]),
        np.stack([x[b].sum(0) for b in parts]),
        np.stack([y[b].sum(0) for b in parts]),
        np.stack([x[b].T @ x[b] for b in parts]),
        np.stack([x[b].T @ y[b] for b in parts]),
        np.stack([(y[b] ** 2).sum(0) for b in parts]),
    )
    seconds = _timed(lambda: sp.sparse_prediction(sums, np.array(paper.LI2016_SPARSE_PENALTIES), 5))
    return (
        f"li_sparse_prediction_{layer}",
        2 * seconds,  # both directions
        f"{units}->{units} units, 8 penalties, 5 folds + full fit, both directions (Gram only)",
    )


def bench_clustering(layer: str, rng: np.random.Generator, shape: tuple[int, int]
                     ) -> tuple[str, float, str]:
    units, _ = shape
    x = relu_like(rng, 4000, 2 * units)
    s = np.corrcoef(x.T)

    def run() -> None:
        a = cl.affinity(s)
        k = cl.default_clusters(units)
        cl.spectral_labels(a, k)
        cl.hierarchical(a, k)

    return (
        f"li_clustering_{layer}",
        _timed(run),
        f"joint {2 * units}x{2 * units}, spectral + agglomerative",
    )


def bench_li_analyses(images: int = IMAGES, sparse_layers: tuple[str, ...] | None = None
                      ) -> list[tuple[str, float, str]]:
    """(name, seconds per pair and layer, note) for MI, sparse prediction (on ``sparse_layers``,
    default every layer) and clustering."""
    rng = np.random.default_rng(0)
    rows = []
    for layer, shape in shapes(images).items():
        rows.append(bench_mutual_information(layer, rng, shape))
        if sparse_layers is None or layer in sparse_layers:
            rows.append(bench_sparse_prediction(layer, rng, shape))
        rows.append(bench_clustering(layer, rng, shape))
    return rows


if __name__ == "__main__":
    for name, seconds, note in bench_li_analyses():
        print(f"{name:36s} {seconds:8.2f} s  {note}")
