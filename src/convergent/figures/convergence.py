"""Mean matched correlation vs layer across all pairs: how convergence falls with depth, with
Li et al.'s ImageNet values for reference."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import pandas as pd

from convergent.figures import save


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-pair", required=True, help="tables/matching_per_pair.csv")
    parser.add_argument("--summary", required=True, help="tables/matching_summary.csv")

def main(args: argparse.Namespace) -> None:
    per_pair = pd.read_csv(args.per_pair)
    summary = pd.read_csv(args.summary)
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for arch, s in summary.groupby("architecture", sort=False):
        x = range(len(s))
        for col, color, label in (
            ("semi", "C0", "semi-matching"),
            ("one_to_one", "C3", "one-to-one"),
        ):
            pts = per_pair[per_pair["architecture"] == arch].pivot_table(
                index="layer", columns=["model_a", "model_b"], values=f"{col}_mean"
            )
            pts = pts.reindex(s["layer"])
            for _, series in pts.items():
                ax.plot(x, series.values, "o", color=color, ms=3, alpha=0.35)
            ax.errorbar(
                x,
                s[f"{col}_mean"],
                yerr=s[f"{col}_sd"].fillna(0),
                color=color,
                lw=2,
                capsize=3,
                label=f"{label}, mean ± sd over {s['pairs'].iloc[0]} pairs ({arch})",
            )
            ax.plot(
                x,
                s[f"paper_{col}"],
                "--",
                color=color,
                alpha=0.7,
                label=f"{label}, Li et al. 2016 (ImageNet AlexNet)",
            )
        ax.set_xticks(list(x), s["layer"])
    ax.set(
        xlabel="layer",
        ylabel="mean matched correlation",
        ylim=(0, 1),
        title="Convergence of units across seeds, by depth",
    )
    ax.legend(fontsize=8, loc="lower left")
    save(fig, args.out)


FIGURES = {"convergence": main}
