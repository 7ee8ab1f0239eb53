"""Each unit's matched correlation, sorted, semi-matching vs one-to-one (Li et al. 2016, Fig. 3),
one panel per layer: the example pair in colour, every other pair in grey."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np

from convergent.figures import MATCHING_COLORS, integer_ticks, legend_below, save, suptitle
from convergent.io.layouts import PairFile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", nargs="+", required=True, help="pair files of every layer")
    parser.add_argument("--example", nargs=2, required=True, metavar=("MODEL_A", "MODEL_B"),
                        help="the pair drawn in colour")

def main(args: argparse.Namespace) -> None:
    by_layer: dict[str, list] = {}
    for pair in PairFile.each(*args.pairs):
        attrs = pair.attrs
        m = pair.matchings()
        semi = np.sort(m.semi_a2b.value)[::-1]
        one = m.one2one.value
        one = np.sort(one[~np.isnan(one)])[::-1]
        example = [attrs["model_a"], attrs["model_b"]] == list(args.example)
        by_layer.setdefault(attrs["layer"], []).append((semi, one, example))
    n = len(by_layer)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 3 * rows + 0.6), squeeze=False, layout="constrained"
    )
    semi_c, one_c = MATCHING_COLORS["semi"], MATCHING_COLORS["one_to_one"]
    for ax, (layer, curves) in zip(axes.flat, by_layer.items(), strict=False):
        for semi, one, example in sorted(curves, key=lambda c: c[2]):
            if example:
                ax.plot(semi, color=semi_c, lw=2, label="semi-matching (example pair)")
                ax.plot(one, color=one_c, lw=2, label="one-to-one (example pair)")
            else:
                ax.plot(semi, color=semi_c, lw=0.7, alpha=0.3, label="semi-matching (other pairs)")
                ax.plot(one, color=one_c, lw=0.7, alpha=0.3, label="one-to-one (other pairs)")
        ax.set(
            title=layer,
            xlabel="unit (sorted by matched correlation)",
            ylabel="matched correlation",
            ylim=(min(0, ax.get_ylim()[0]), 1.02),
        )
        integer_ticks(ax, "x")
    for ax in axes.flat[n:]:
        ax.axis("off")
    legend_below(fig, ncol=4)
    suptitle(fig,
        f"Sorted matched correlations: {args.example[0]} vs {args.example[1]} (thin: other pairs)"
    )
    save(fig, args.out)


FIGURES = {"matched-sorted": main}
