"""Training curves (test accuracy and training loss per epoch) and final test accuracies."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from convergent.figures import add_models_argument, integer_ticks, legend_below, model_colors, save


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", nargs="+", required=True, help="every model's metrics.csv")
    parser.add_argument("--accuracy", required=True, help="tables/accuracy.csv")
    add_models_argument(parser)


def accuracy_bars(ax: plt.Axes, acc: pd.DataFrame, colors: dict[str, str]) -> None:
    """Final test accuracy per model as bars from 0 % (a bar's length is its value) in the
    model's colour (``colors``: :func:`model_colors`), the value written on each; the title
    gives the spread across models."""
    k = range(len(acc))
    ax.bar(k, acc["test_acc_pct"], color=[colors[m] for m in acc["model"]])
    ax.set_xticks(k, acc["model"], rotation=30, ha="right")
    for i, v in zip(k, acc["test_acc_pct"], strict=True):
        ax.text(i, v + 1, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    lo, hi = acc["test_acc_pct"].min(), acc["test_acc_pct"].max()
    ax.set(ylim=(0, 100), ylabel="final test top-1 accuracy (%)",
           title=f"Final accuracy (spread {hi - lo:.2f} pp)")


def main(args: argparse.Namespace) -> None:
    acc = pd.read_csv(args.accuracy)
    colors = model_colors(args.models)
    fig, (ax_loss, ax_acc, ax_bar) = plt.subplots(1, 3, figsize=(14, 4.4), layout="constrained")
    for path in args.metrics:
        m = pd.read_csv(path)
        name = "/".join(Path(path).parts[-3:-1])  # models/<arch>/<model>/metrics.csv
        ax_loss.plot(m["epoch"] + 1, m["train_loss"], "o-", ms=3, color=colors[name], label=name)
        ax_acc.plot(m["epoch"] + 1, 100 * m["test_acc"], "o-", ms=3, color=colors[name],
                    label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="test top-1 accuracy (%)", title="Test accuracy")
    for ax in (ax_loss, ax_acc):
        integer_ticks(ax, "x")
    accuracy_bars(ax_bar, acc, colors)
    legend_below(fig, ax_acc, ncol=min(len(args.metrics), 4))
    save(fig, args.out)


FIGURES = {"training": main}
