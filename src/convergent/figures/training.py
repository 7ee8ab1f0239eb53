"""Training curves (test accuracy and training loss per epoch) and final test accuracies."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from convergent.figures import save


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", nargs="+", required=True, help="every model's metrics.csv")
    parser.add_argument("--accuracy", required=True, help="tables/accuracy.csv")

def main(args: argparse.Namespace) -> None:
    acc = pd.read_csv(args.accuracy)
    fig, (ax_loss, ax_acc, ax_bar) = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    for k, path in enumerate(args.metrics):
        m = pd.read_csv(path)
        name = "/".join(Path(path).parts[-3:-1])
        ax_loss.plot(m["epoch"] + 1, m["train_loss"], "o-", color=f"C{k}", label=name)
        ax_acc.plot(m["epoch"] + 1, 100 * m["test_acc"], "o-", color=f"C{k}", label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="test top-1 accuracy (%)", title="Test accuracy")
    ax_acc.legend(fontsize=8)
    ax_bar.bar(range(len(acc)), acc["test_acc_pct"], color=[f"C{k}" for k in range(len(acc))])
    ax_bar.set_xticks(range(len(acc)), acc["model"], rotation=30, ha="right", fontsize=8)
    lo, hi = acc["test_acc_pct"].min(), acc["test_acc_pct"].max()
    ax_bar.set(
        ylim=(lo - 2, min(100, hi + 1)),
        ylabel="final test top-1 accuracy (%)",
        title=f"Final accuracy (spread {hi - lo:.2f} pp)",
    )
    for k, v in enumerate(acc["test_acc_pct"]):
        ax_bar.text(k, v + 0.05, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    save(fig, args.out)


FIGURES = {"training": main}
