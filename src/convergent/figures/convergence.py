"""Mean matched correlation vs layer across all pairs: how convergence falls with depth, beside
its floors (a trained against an untrained network; the shuffled null) and Li et al.'s
ImageNet values for reference."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from convergent.figures import (
    FLOORS,
    MATCHING_COLORS,
    REFERENCE,
    legend_below,
    plot_floors,
    plural,
    save,
    summary_floors,
)

MATCHINGS = (("semi", "semi-matching"), ("one_to_one", "one-to-one"))
#: each matching's mean as the similarity analyses compute it (all units; correlations over
#: images x positions, as in the pair files), whose floors the figure draws
FLOOR_MEASURES = {"semi": "semi_matched_correlation_all", "one_to_one": "matched_correlation_all"}
FLOOR_CONVENTION = "positions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-pair", required=True, help="tables/matching_per_pair.csv")
    parser.add_argument("--summary", required=True, help="tables/matching_summary.csv")
    parser.add_argument("--similarity-summary",
                        help="tables/similarity_summary.csv, the floors (omit: similarity off)")


def draw_reference(ax: plt.Axes, x: np.ndarray, values: pd.Series, color: str,
                   label: str) -> None:
    """Li et al.'s values: open markers joined by a dashed line, so that a single layer with a
    published value (no neighbour to join) is still visible."""
    ax.plot(x, values.to_numpy(dtype=float), "--", marker="D", color=color, mec=REFERENCE["color"],
            mfc=REFERENCE["mfc"], mew=REFERENCE["mew"], ms=REFERENCE["ms"] - 1, lw=1, label=label)


def matching_by_depth(ax: plt.Axes, summary: pd.DataFrame, per_pair: pd.DataFrame | None = None,
                      reference: bool = True, similarity: pd.DataFrame | None = None) -> str:
    """Mean matched correlation per layer (band: range over pairs), each pair's value as dots
    when ``per_pair`` is given, its floors from the ``similarity`` summary, and Li et al.'s
    values: the convergence figure's panel.  Returns a note saying which floors are missing
    and why ("" when all are drawn)."""
    drawn = set()
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
            if similarity is not None:
                floors = {kind: values.reindex(s["layer"]) for kind, values in summary_floors(
                    similarity, arch, FLOOR_MEASURES[col], FLOOR_CONVENTION).items()}
                drawn |= plot_floors(ax, x, floors, color, owner=None)
            if reference and s[f"paper_{col}"].notna().any():
                draw_reference(ax, x, s[f"paper_{col}"], color,
                               f"{name}: Li et al. 2016 (ImageNet AlexNet)")
        ax.set_xticks(x, s["layer"])
    ax.set(xlabel="layer", ylabel="mean matched correlation", ylim=(0, 1))
    for kind in (k for k in FLOORS if k in drawn):  # one entry per floor: in each one's colour
        style = FLOORS[kind]
        ax.plot([], [], ls=style["ls"], lw=style["lw"], color="0.3",
                label=f"{style['label']} (each matching's colour)")
    if similarity is None:
        return "Floors not drawn: the similarity analyses are off (similarity.enabled)."
    missing = [FLOORS[kind]["label"] for kind in FLOORS if kind not in drawn]
    return (f"Not drawn ({', '.join(missing)}): the similarity analyses computed none under "
            f"the matchings' convention, {FLOOR_CONVENTION} (similarity.nulls, "
            "similarity.conv_convention)." if missing else "")


def main(args: argparse.Namespace) -> None:
    per_pair = pd.read_csv(args.per_pair)
    summary = pd.read_csv(args.summary)
    similarity = pd.read_csv(args.similarity_summary) if args.similarity_summary else None
    fig, ax = plt.subplots(figsize=(7, 4.8), layout="constrained")
    note = matching_by_depth(ax, summary, per_pair, similarity=similarity)
    ax.set_title("Convergence of units across seeds, by depth (dots: pairs)")
    legend_below(fig, ax, ncol=2, note=note)
    save(fig, args.out)


FIGURES = {"convergence": main}
