"""Within-net and between-net correlation matrices of one layer, before and after one-to-one
matching (Li et al. 2016, Fig. 1)."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt

from convergent.analysis.matching import aligned_columns
from convergent.figures import save
from convergent.io.layouts import MomentsFile, PairFile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--moments-a", required=True, help="moments file of model A")
    parser.add_argument("--moments-b", required=True, help="moments file of model B")
    parser.add_argument("--pair", required=True, help="the pair file of this layer")
    parser.add_argument("--dead-std", type=float, required=True, help="analysis.dead_unit_std")

def main(args: argparse.Namespace) -> None:
    pair = PairFile(args.pair)
    attrs = pair.attrs
    layer, a, b = attrs["layer"], attrs["model_a"], attrs["model_b"]
    between, partner = pair.between(), pair.matchings().one2one.partner
    within = [
        MomentsFile(path, model=model).layer(layer).within_correlation(args.dead_std)
        for path, model in ((args.moments_a, a), (args.moments_b, b))
    ]
    panels = [
        (within[0], f"within {a}", f"{a} unit", f"{a} unit"),
        (within[1], f"within {b}", f"{b} unit", f"{b} unit"),
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


FIGURES = {"correlation-matrices": main}
