"""Sparse prediction (Li et al. 2016, Table 1 as a figure).

Held-out ½·MSE of predicting net B's units from net A's (1×1 conv, L1 penalty) and the mean number
of non-zero predictors per target unit, against the penalty: one line per layer and direction
(mean over pairs; B→A dotted), Li et al.'s Net1→Net2 values as black markers."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from convergent import paper
from convergent.figures import REFERENCE, legend_below, plural, save, suptitle


def position(penalty: pd.Series | np.ndarray, zero_at: float) -> np.ndarray:
    """Penalty on a log axis, with λ = 0 drawn at ``zero_at`` (labelled 0)."""
    p = np.asarray(penalty, dtype=float)
    return np.where(p > 0, p, zero_at)


def _penalty_axis(ax: plt.Axes, zero_at: float, positive: pd.Series) -> None:
    """Log λ axis: labelled ticks at λ = 0 and at whole decades only (the grid's values between
    decades, e.g. 10^-2.8 and 10^-2.6, as unlabelled minor ticks: labelled they collide)."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    grid = sorted(set(np.round(positive.to_numpy(dtype=float), 12)))
    lo, hi = np.floor(np.log10(min(grid, default=1))), np.ceil(np.log10(max(grid, default=1)))
    decades = [10.0**e for e in np.arange(lo, hi + 1)]
    ax.set_xticks([zero_at, *decades], ["0", *[f"$10^{{{int(np.log10(d))}}}$" for d in decades]])
    ax.set_xticks([g for g in grid if not np.isclose(np.log10(g) % 1, 0)], minor=True)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(zero_at / 2, decades[-1] * 2)
    ax.set_xlabel("L1 penalty λ (0 drawn at the left)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-pair", required=True, help="sparse_prediction_per_pair.csv")

def main(args: argparse.Namespace) -> None:
    df = pd.read_csv(args.per_pair)
    positive = df.loc[df["penalty"] > 0, "penalty"]
    zero_at = positive.min() / 10 if len(positive) else 1e-6
    layers = list(dict.fromkeys(df["layer"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    mean = df.groupby(["layer", "direction", "penalty"], sort=False)[["loss", "predictors"]].mean()
    for k, layer in enumerate(layers):
        for direction, style in (("a2b", "-"), ("b2a", ":")):
            m = mean.loc[(layer, direction)].reset_index()
            label = f"{layer} {'A→B' if direction == 'a2b' else 'B→A'}"
            for ax, value in zip(axes, ("loss", "predictors"), strict=True):
                ax.plot(
                    position(m["penalty"], zero_at),
                    m[value],
                    style,
                    marker="o",
                    ms=3,
                    color=f"C{k}",
                    label=label,
                )
    for layer, losses in paper.LI2016_SPARSE_LOSS.items():
        x = position(np.asarray(paper.LI2016_SPARSE_PENALTIES), zero_at)
        marker = {"conv1": "s", "conv2": "^"}.get(layer, "o")
        ref = {"color": REFERENCE["color"], "mfc": REFERENCE["mfc"], "mew": REFERENCE["mew"],
               "ms": REFERENCE["ms"], "zorder": 3}
        axes[0].plot(x, losses, marker, label=f"Li et al. {layer} (Net1→Net2)", **ref)
        axes[1].plot(x, paper.LI2016_SPARSE_PREDICTORS[layer], marker, **ref)
    for ax in axes:
        _penalty_axis(ax, zero_at, positive)
    axes[0].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[0].set(
        ylabel="held-out ½·MSE (0.5 = predict the mean)",
        title="Prediction loss (standardised units)",
    )
    axes[1].set(
        ylabel="non-zero predictors per target unit",
        yscale="symlog",
        title="Predictors per target unit",
    )
    axes[1].set_ylim(bottom=0)
    legend_below(fig, axes[0], ncol=6)
    pairs = len(df[["model_a", "model_b"]].drop_duplicates())
    suptitle(fig,
        f"Sparse prediction, mean over {plural(pairs, 'pair')}; ours: exact zeros, "
        "Li et al.: SGD weights with |w| > 0.05"
    )
    save(fig, args.out)


FIGURES = {"sparse-prediction": main}
