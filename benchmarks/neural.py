"""Neural predictivity cost on synthetic data of the default study's shapes: seconds per model
and layer for the feature reduction (PCA through the stimuli × stimuli Gram matrix) and the
cross-validated ridge (one SVD per fold for every penalty and site), and for PLS.  Prints only.
Run: ``python benchmarks/neural.py [stimuli] [sites]`` (default 2000 stimuli, 80 sites).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from convergent.analysis import predictivity as pr

#: layer -> per-image shape of alexnet_small on Fashion-MNIST (results/activations/...)
SHAPES = {
    "conv1": (16, 28, 28),
    "conv2": (32, 14, 14),
    "conv3": (48, 7, 7),
    "conv5": (32, 7, 7),
    "fc6": (256,),
    "fc7": (256,),
}


def main(stimuli: int = 2000, sites: int = 80) -> None:
    warnings.filterwarnings("ignore", module="sklearn")  # PLS on random targets
    rng = np.random.default_rng(0)
    y = rng.normal(size=(stimuli, sites))
    ridge = pr.Mapping(kind="ridge")
    pls = pr.Mapping(kind="pls")
    print(f"{stimuli} stimuli, {sites} sites, width 256, 5 folds, "
          f"{len(ridge.penalties)} penalties; Gram {stimuli ** 2 * 8 / 1e6:.0f} MB")
    print(f"{'layer':6} {'features':>8} {'reduce s':>9} {'ridge s':>8} {'pls s':>7}")
    total = 0.0
    for layer, shape in SHAPES.items():
        x = np.maximum(rng.normal(size=(stimuli, *shape)), 0).astype(np.float32)
        start = time.perf_counter()
        feats = pr.layer_features(x, "pca", 256)
        reduce = time.perf_counter() - start
        start = time.perf_counter()
        pr.cross_validated(feats, y, ridge)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        pr.cross_validated(feats, y, pls)
        plstime = time.perf_counter() - start
        total += reduce + fit
        print(f"{layer:6} {int(np.prod(shape)):8d} {reduce:9.2f} {fit:8.2f} {plstime:7.2f}")
    print(f"one model, every layer (reduce + ridge): {total:.1f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
