"""Mean matched correlation vs layer across all pairs: how convergence falls with depth, with
Li et al.'s ImageNet values for reference."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from convergent.figures import MATCHING_COLORS, REFERENCE, legend_below, plural, save

MATCHINGS = (("semi", "semi-matching"), ("one_to_one", "one-to-one"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-pair", required=True, help="tables/matching_per_pair.csv")
    parser.add_argument("--summary", required=True, help="tables/matching_summary.csv")


def draw_reference(ax: plt.Axes, x: np.ndarray, values: pd.Series, color: str,
                   label: str) -> None:
    """Li et al.'s values: open markers joined by a dashed line, so that a single layer with a
    published value (no neighbour to join) is still visible."""
    ax.plot(x, values.to_numpy(dtype=float), "--", marker="D", color=color, mec=REFERENCE["color"],
            mfc=REFERENCE["mfc"], mew=REFERENCE["mew"], ms=REFERENCE["ms"] - 1, lw=1, label=label)


def matching_by_depth(ax: plt.Axes, summary: pd.DataFrame, per_pair: pd.DataFrame | None = None,
                      reference: bool = True) -> None:
    """Mean matched correlation per layer (band: range over pairs), each pair's value as dots
    when ``per_pair`` is given, and Li et al.'s values: the convergence figure's panel."""
    for arch, s in summary.groupby("architecture", sort=False):
        x = np.arange(len(s))
        n = int(s["pairs"].max())
        for col, name in MATCHINGS:
            color = MATCHING_COLORS[col]
            if per_pair is not None:
                pts = per_pair[per_pair["architecture"] == arch].pivot_table(
                    index="layer", columns=["model_a", "model_b"], values=f"{col}_mean"
                ).reindex(s["layer"])
                for _, series in pts.items():
                    ax.plot(x, series.to_numpy(), "o", color=color, ms=3, alpha=0.35, zorder=1)
            ax.fill_between(x, s[f"{col}_min"], s[f"{col}_max"], color=color, alpha=0.18, lw=0)
            ax.plot(x, s[f"{col}_mean"], "o-", color=color, lw=2, ms=4,
                    label=f"{name} ({arch}): mean, band = range over {plural(n, 'pair')}")
            if reference and s[f"paper_{col}"].notna().any():
                draw_reference(ax, x, s[f"paper_{col}"], color,
                               f"{name}: Li et al. 2016 (ImageNet AlexNet)")
        ax.set_xticks(x, s["layer"])
    ax.set(xlabel="layer", ylabel="mean matched correlation", ylim=(0, 1))


def main(args: argparse.Namespace) -> None:
    per_pair = pd.read_csv(args.per_pair)
    summary = pd.read_csv(args.summary)
    fig, ax = plt.subplots(figsize=(7, 4.8), layout="constrained")
    matching_by_depth(ax, summary, per_pair)
    ax.set_title("Convergence of units across seeds, by depth (dots: pairs)")
    legend_below(fig, ax, ncol=2)
    save(fig, args.out)


FIGURES = {"convergence": main}
