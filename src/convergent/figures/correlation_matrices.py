"""Within-net and between-net correlation matrices of one layer, before and after one-to-one
matching (Li et al. 2016, Fig. 1)."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np

from convergent.analysis.matching import aligned_columns
from convergent.figures import DIVERGING, add_partner_argument, integer_ticks, save, suptitle
from convergent.io.layouts import MomentsFile, PairFile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--moments-a", required=True, help="moments file of model A")
    parser.add_argument("--moments-b", required=True, help="moments file of model B")
    parser.add_argument("--pair", required=True, help="the block's pair file of this layer")
    add_partner_argument(parser)
    parser.add_argument("--dead-std", type=float, required=True, help="analysis.dead_unit_std")

def matrix_panel(ax: plt.Axes, c: np.ndarray, title: str, xlabel: str, ylabel: str):
    """One correlation matrix on the diverging map, centred at 0; returns the image."""
    im = ax.imshow(c, cmap=DIVERGING, vmin=-1, vmax=1, interpolation="nearest")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    integer_ticks(ax)
    return im


def between_panels(pair: PairFile) -> list[tuple[np.ndarray, str, str, str]]:
    """The between-net matrix in natural order and after one-to-one matching, as
    (matrix, title, xlabel, ylabel)."""
    a, b = pair.attrs["model_a"], pair.attrs["model_b"]
    between, partner = pair.between(), pair.matchings().one2one.partner
    return [
        (between, "between, natural order", f"{b} unit", f"{a} unit"),
        (aligned_columns(between, partner), "between, after one-to-one matching",
         f"{b} unit (matched order)", f"{a} unit"),
    ]


def main(args: argparse.Namespace) -> None:
    pair = PairFile(args.pair, args.partner)
    attrs = pair.attrs
    layer, a, b = attrs["layer"], attrs["model_a"], attrs["model_b"]
    within = [
        MomentsFile(path, model=model).layer(layer).within_correlation(args.dead_std)
        for path, model in ((args.moments_a, a), (args.moments_b, b))
    ]
    panels = [
        (within[0], f"within {a}", f"{a} unit", f"{a} unit"),
        (within[1], f"within {b}", f"{b} unit", f"{b} unit"),
        *between_panels(pair),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4), layout="constrained")
    for ax, panel in zip(axes, panels, strict=True):
        im = matrix_panel(ax, *panel)
    fig.colorbar(im, ax=axes, shrink=0.8, label="correlation")
    suptitle(fig,
        f"{layer}: unit correlations ({attrs['architecture']}, "
        f"{attrs['samples']:.0f} samples = images × positions)"
    )
    save(fig, args.out)


FIGURES = {"correlation-matrices": main}
