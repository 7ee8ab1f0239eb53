"""One-page overview of a study, for talks: (a) final test accuracies, (b) convergence by depth
of the matched correlation (semi-matching and one-to-one, band = range over pairs, Li et al.'s
values), (c, d) the example pair's between-net correlation matrix of one layer before and after
one-to-one matching, and, when the similarity analyses ran, one headline measure of each family
by depth (mean over pairs, band = mean bootstrap CI); floors beside each (dotted: against an
untrained network; dash-dot: the shuffled null); every measure is in similarity_by_layer."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from convergent.figures import (
    COLUMNS,
    add_models_argument,
    add_partner_argument,
    arch_colors,
    legend_below,
    model_colors,
    plot_floors,
    plural,
    save,
    summary_floors,
    suptitle,
)
from convergent.figures.convergence import matching_by_depth
from convergent.figures.correlation_matrices import between_panels, matrix_panel
from convergent.figures.similarity import hatch_undefined, label, measure_axis
from convergent.figures.training import accuracy_bars
from convergent.io.layouts import PairFile

#: one measure per family, in this order: unit matching, CKA (linear, kernel), CCA, shape, RSA
OVERVIEW = ["matched_correlation", "linear_cka", "rbf_cka", "pwcca", "shape_metric",
            "rsa_spearman"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accuracy", required=True, help="tables/accuracy.csv")
    parser.add_argument("--matching-summary", required=True, help="tables/matching_summary.csv")
    parser.add_argument("--pair", required=True, help="the example pair's pair file of one layer")
    add_partner_argument(parser)
    add_models_argument(parser)
    parser.add_argument("--similarity-summary",
                        help="tables/similarity_summary.csv (omit: similarity disabled)")
    parser.add_argument("--ci", type=float, default=0.95, help="similarity.ci (for the legend)")


def _label(ax: plt.Axes, letter: str, title: str) -> None:
    """The panel's title on the left, after its bold letter (replacing a centred one)."""
    ax.set_title("")
    ax.set_title(f"$\\bf{{{letter}}}$  {title}", loc="left")


def similarity_measures(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(measure, convention) of the within-architecture pair rows of the ``OVERVIEW`` measures,
    in its order."""
    d = summary[(summary["comparison"] == "within") & (summary["kind"] == "pair")
                & summary["measure"].isin(OVERVIEW)]
    keys = d[["measure", "convention"]].drop_duplicates()
    return sorted(map(tuple, keys.to_numpy()), key=lambda k: (OVERVIEW.index(k[0]), k))


def _similarity_panels(subfig, summary: pd.DataFrame, ci: float, first: str) -> None:
    keys = similarity_measures(summary)
    rows = -(-len(keys) // COLUMNS)
    axes = subfig.subplots(rows, COLUMNS, squeeze=False, sharex=True)
    archs = list(dict.fromkeys(summary.loc[summary["comparison"] == "within", "arch_a"]))
    colors = arch_colors(archs)
    for i, (ax, (measure, convention)) in enumerate(zip(axes.flat, keys, strict=False)):
        d = summary[(summary["comparison"] == "within") & (summary["measure"] == measure)
                    & (summary["convention"] == convention)]
        layers = d.drop_duplicates("layer").sort_values("depth")["layer"].tolist()
        x = np.arange(len(layers))
        for arch in archs:
            color = colors[arch]
            a = d[d["arch_a"] == arch]
            pair = a[a["kind"] == "pair"].set_index("layer").reindex(layers)
            n = int(pair["pairs"].max()) if pair["pairs"].notna().any() else 0
            ax.fill_between(x, pair["ci_low_mean"], pair["ci_high_mean"], color=color, alpha=0.25,
                            lw=0, label=f"{arch}: mean bootstrap {ci:.0%} CI")
            ax.plot(x, pair["mean"], "o-", ms=3, color=color,
                    label=f"{arch}: mean over {plural(n, 'pair')}")
            floors = summary_floors(summary, arch, measure, convention)
            plot_floors(ax, x, {kind: values.reindex(layers) for kind, values in floors.items()},
                        color, arch)
        name = label(measure)
        # a measure under two conventions gets one panel each, named by it
        twice = sum(m == measure for m, _ in keys) > 1
        title = f"{name} [{convention}]" if twice else name
        _label(ax, chr(ord(first) + i), title)
        ax.title.set_fontsize(8)
        ax.set_xticks(x, layers, rotation=45)
        measure_axis(ax, measure, d[["mean", "ci_low_mean", "ci_high_mean"]].to_numpy())
        pairs = d[d["kind"] == "pair"].groupby("layer")["mean"].count()
        hatch_undefined(ax, pairs.reindex(layers, fill_value=0).to_numpy() > 0)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    legend_below(subfig, axes.flat[0], ncol=3)
    subfig.suptitle("Similarity of corresponding layers across seeds, one measure per family",
                    fontsize=10)


def main(args: argparse.Namespace) -> None:
    acc = pd.read_csv(args.accuracy)
    matching = pd.read_csv(args.matching_summary)
    pair = PairFile(args.pair, args.partner)
    similarity = pd.read_csv(args.similarity_summary) if args.similarity_summary else None
    top_h = 4.4
    n_measures = len(similarity_measures(similarity)) if similarity is not None else 0
    bottom_h = 2.3 * -(-n_measures // COLUMNS) + 0.9 if n_measures else 0
    fig = plt.figure(figsize=(15, top_h + bottom_h), layout="constrained")
    if n_measures:
        top, bottom = fig.subfigures(2, 1, height_ratios=(top_h, bottom_h))
    else:
        top, bottom = fig, None
    ax_acc, ax_conv, ax_before, ax_after = top.subplots(
        1, 4, gridspec_kw={"width_ratios": (1, 1.5, 1, 1)})
    accuracy_bars(ax_acc, acc, model_colors(args.models))
    _label(ax_acc, "a", ax_acc.get_title())
    note = matching_by_depth(ax_conv, matching, similarity=similarity)
    _label(ax_conv, "b", "Matched correlation by depth")
    ax_conv.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1, fontsize=7,
                   title=note or None, title_fontsize=7)
    layer = pair.attrs["layer"]
    for ax, letter, panel in zip((ax_before, ax_after), "cd", between_panels(pair), strict=True):
        im = matrix_panel(ax, *panel)
        _label(ax, letter, f"{layer}, {panel[1].removeprefix('between, ')}")
    top.colorbar(im, ax=[ax_before, ax_after], shrink=0.7, label="correlation")
    if bottom is not None:
        _similarity_panels(bottom, similarity, args.ci, first="e")
    models = sorted(set(acc["model"]))
    suptitle(fig, f"Convergent learning: {len(models)} networks, "
                 f"example pair {pair.attrs['model_a']} vs {pair.attrs['model_b']}")
    save(fig, args.out)


FIGURES = {"study-overview": main}
