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
from convergent.figures import save


def position(penalty: pd.Series | np.ndarray, zero_at: float) -> np.ndarray:
    """Penalty on a log axis, with λ = 0 drawn at ``zero_at`` (labelled 0)."""
    p = np.asarray(penalty, dtype=float)
    return np.where(p > 0, p, zero_at)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-pair", required=True, help="sparse_prediction_per_pair.csv")

def main(args: argparse.Namespace) -> None:
    df = pd.read_csv(args.per_pair)
    positive = df.loc[df["penalty"] > 0, "penalty"]
    zero_at = positive.min() / 10 if len(positive) else 1e-6
    layers = list(dict.fromkeys(df["layer"]))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), constrained_layout=True)
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
        axes[0].plot(x, losses, marker, color="k", mfc="none", label=f"Li et al. {layer}")
        axes[1].plot(x, paper.LI2016_SPARSE_PREDICTORS[layer], marker, color="k", mfc="none")
    for ax in axes:
        ax.set_xscale("log")
        ticks = [zero_at, *sorted(set(positive.round(12)))]
        ax.set_xticks(ticks)
        ax.set_xticklabels(["0"] + [f"{t:.0e}" for t in ticks[1:]], rotation=45, fontsize=7)
        ax.set_xlabel("L1 penalty λ")
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
    axes[0].legend(fontsize=7, ncol=2)
    pairs = len(df[["model_a", "model_b"]].drop_duplicates())
    fig.suptitle(
        f"Sparse prediction, mean over {pairs} pair(s); ours: exact zeros, "
        "Li et al.: SGD weights with |w| > 0.05"
    )
    save(fig, args.out)


FIGURES = {"sparse-prediction": main}
