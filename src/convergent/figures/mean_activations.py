"""Each unit's mean activation over the probe set, sorted, one panel per layer, every net
overlaid (Li et al. 2016, the layer-wise mean-activation curves).  Means are sum_x / count of
the moments files."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np

from convergent.figures import (
    COLUMNS,
    add_models_argument,
    integer_ticks,
    legend_below,
    model_colors,
    save,
    suptitle,
)
from convergent.io.layouts import MomentsFile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--moments", nargs="+", required=True, help="every model's moments file")
    parser.add_argument("--layers", nargs="+", required=True, help="the panels, in order")
    add_models_argument(parser)


def main(args: argparse.Namespace) -> None:
    colors = model_colors(args.models)
    n = len(args.layers)
    cols = min(n, COLUMNS)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 3 * rows + 0.6), squeeze=False, layout="constrained"
    )
    for ax, layer in zip(axes.flat, args.layers, strict=False):
        for path in args.moments:
            moments = MomentsFile(path)
            model = moments.attrs["model"]  # arch/model
            means = np.sort(moments.layer(layer).mean())[::-1]
            ax.plot(np.arange(1, len(means) + 1), means, color=colors[model], lw=1.3,
                    label=model)
        # linear: a log axis hides the dead units (mean 0) and spans too little to tick
        ax.set(title=layer, xlabel="unit (sorted by mean)", ylabel="mean activation")
        if min(line.get_ydata().min() for line in ax.lines) >= 0:
            ax.set_ylim(bottom=0)
        integer_ticks(ax, "x")
    for ax in axes.flat[n:]:
        ax.axis("off")
    legend_below(fig, axes.flat[0], ncol=min(len(args.moments), 6))
    suptitle(fig, "Per-unit mean activation over the probe set (images × positions), sorted")
    save(fig, args.out)


FIGURES = {"mean-activations": main}
