"""Within-net and between-net correlation matrices of one layer, before and after one-to-one
matching (Li et al. 2016, Fig. 1)."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np

from convergent import io
from convergent.analysis.correlation import within_correlation
from convergent.analysis.matching import aligned_columns
from convergent.figures import save


def within(path: str, layer: str, dead_std: float) -> np.ndarray:
    m = io.read_group(path, "moments", layer)
    return within_correlation(m["count"].sum(), m["sum_x"].sum(0), m["sum_xy"].sum(0), dead_std)


def main(args: argparse.Namespace) -> None:
    attrs = io.read_attrs(args.pair, "pair")
    layer, a, b = attrs["layer"], attrs["model_a"], attrs["model_b"]
    between = io.read_group(args.pair, "pair", "correlation")["between"]
    partner = io.read_group(args.pair, "pair", "one2one")["partner"]
    panels = [
        (within(args.moments_a, layer, args.dead_std), f"within {a}", f"{a} unit", f"{a} unit"),
        (within(args.moments_b, layer, args.dead_std), f"within {b}", f"{b} unit", f"{b} unit"),
        (between, "between, natural order", f"{b} unit", f"{a} unit"),
        (
            aligned_columns(between, partner),
            "between, after one-to-one matching",
            f"{b} unit (matched order)",
            f"{a} unit",
        ),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.6), constrained_layout=True)
    for ax, (c, title, xlabel, ylabel) in zip(axes, panels, strict=True):
        im = ax.imshow(c, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(im, ax=axes, shrink=0.8, label="correlation")
    fig.suptitle(
        f"{layer}: unit correlations ({attrs['architecture']}, "
        f"{attrs['samples']:.0f} samples = images × positions)"
    )
    save(fig, args.out)
