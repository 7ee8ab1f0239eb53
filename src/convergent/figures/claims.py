"""The claims' effects with their intervals (one panel per claim), and the networks embedded
by their distances at each layer (classical MDS), coloured by condition, marked by
architecture."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from convergent.analysis.measures import display
from convergent.figures import COLUMNS, PALETTE, legend_below, save, suptitle
from convergent.tables.claims import CLAIMS, DETERMINISTIC
from convergent.tables.network_grouping import distance_matrix, network_labels

VERDICT_COLORS = {"supported": PALETTE[2], "contradicted": PALETTE[1],
                  "inconclusive": "#888888", DETERMINISTIC: "#444444"}
MARKERS = ["o", "s", "^", "D", "v", "P"]
#: the network distances' names, from the measure registry's (cka_distance = 1 − CKA)
DISTANCE_LABELS = {"angular_shape": f"{display('angular_shape')} (rad)",
                   "cka_distance": f"1 − {display('linear_cka')}"}


SLOPE_CLAIMS = ("a", "b")


def claims_figure(args: argparse.Namespace) -> None:
    """One panel per claim, one row per architecture, measure and span: the effect (dot) and
    its interval (bar), coloured by verdict, with zero and (for negligible-effect claims) the
    ±margin band; panel heights follow their row counts."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    table = pd.read_csv(args.claims)
    claims = [c for c in CLAIMS if c in set(table["claim"])]
    sizes = [int((table["claim"] == c).sum()) for c in claims]
    fig, axes = plt.subplots(len(claims), 1, figsize=(7.5, 1.0 + sum(0.3 * n + 0.75
                                                                      for n in sizes)),
                             squeeze=False, layout="constrained",
                             gridspec_kw={"height_ratios": [n + 1.2 for n in sizes]})
    for ax, claim in zip(axes[:, 0], claims, strict=True):
        g = table[table["claim"] == claim].reset_index(drop=True)
        y = np.arange(len(g))[::-1]
        for k, r in g.iterrows():
            if np.isnan(r["effect"]):  # deterministic replicates: nothing to draw
                ax.text(0, y[k], f" {r['verdict']}: no floor", va="center", fontsize=7,
                        color=VERDICT_COLORS.get(r["verdict"], "black"))
                continue
            ax.errorbar(r["effect"], y[k], xerr=np.nan_to_num([[r["effect"] - r["ci_low"]],
                                                               [r["ci_high"] - r["effect"]]]),
                        fmt="o", color=VERDICT_COLORS[r["verdict"]], ms=4, capsize=2, lw=1.2)
        if g["test"].str.startswith("|").any():
            ax.axvspan(-args.margin, args.margin, color="#dddddd", zorder=0, lw=0)
        ax.axvline(0, color="black", lw=0.8)
        span = g["layers"].str.replace(r"^(all|conv) layers \((.*)\)$", r"\2", regex=True)
        several = (g.groupby(["architecture", "measure", "layers"])["cells"]
                   .transform("nunique") > 1)
        labels = [f"{r['architecture']}: {display(r['measure'])}"
                  + (f", {s}" if s != "all layers" else "")
                  + (f" ({r['cells']})" if many else "")
                  for (_, r), s, many in zip(g.iterrows(), span, several, strict=True)]
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_ylim(-0.6, len(g) - 0.4)
        ax.set_title(f"({claim}) {CLAIMS[claim]}", fontsize=8.5, loc="left")
        ax.set_xlabel("slope over relative depth" if claim in SLOPE_CLAIMS else
                      "Spearman ρ" if claim == "c" else "similarity" if claim == "r"
                      else "difference of means", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    handles = [Line2D([], [], color=c, marker="o", ls="", label=v)
               for v, c in VERDICT_COLORS.items() if v in set(table["verdict"])]
    fig.legend(handles=handles, loc="outside lower center", ncol=4)
    suptitle(fig, "The claims, tested: effects (larger = more alike) with intervals over "
                  "networks; colour = Holm-adjusted verdict; grey band: ±margin of equivalence "
                  "claims (their 90 % TOST interval)")
    save(fig, args.out)


def embedding_figure(args: argparse.Namespace) -> None:
    """Per distance (a block of rows) and layer (at most COLUMNS a row): the networks'
    classical-MDS embedding, colour = condition, marker = architecture."""
    import matplotlib.pyplot as plt

    from convergent.analysis.networks import classical_mds

    d = pd.concat([pd.read_csv(p) for p in args.distances], ignore_index=True)
    layers = [layer for layer in args.layers if layer in set(d["layer"])]
    distances = list(dict.fromkeys(d["distance"]))
    # each distance a block of rows, at most COLUMNS layers a row (seven in a row were thumbnails)
    cols = min(COLUMNS, len(layers))
    rows = -(-len(layers) // cols)
    fig, axes = plt.subplots(rows * len(distances), cols,
                             figsize=(2.6 * cols, 0.9 + 2.5 * rows * len(distances)),
                             squeeze=False, layout="constrained")
    for block, name in enumerate(distances):
        panels = list(axes[block * rows:(block + 1) * rows].flat)
        for ax in panels[len(layers):]:
            ax.axis("off")
        for ax, layer in zip(panels, layers, strict=False):
            ids, dm = distance_matrix(d[(d["distance"] == name) & (d["layer"] == layer)])
            archs, conditions = network_labels(ids)
            points, explained = classical_mds(dm)
            for ci, cond in enumerate(dict.fromkeys(conditions)):
                for ai, arch in enumerate(dict.fromkeys(archs)):
                    k = [i for i in range(len(ids)) if conditions[i] == cond and archs[i] == arch]
                    if k:
                        ax.scatter(points[k, 0], points[k, 1], s=14, color=PALETTE[ci % 6],
                                   marker=MARKERS[ai % 6], label=f"{arch}, {cond}", alpha=0.85)
            ax.set_title(f"{layer}\n{DISTANCE_LABELS.get(name, display(name))}", fontsize=8)
            ax.set_xlabel(f"MDS 1 ({explained[0]:.0%})", fontsize=7)
            ax.set_ylabel(f"MDS 2 ({explained[1]:.0%})", fontsize=7)
            ax.set_aspect("equal", adjustable="datalim")
            ax.tick_params(labelsize=6)
    legend_below(fig, ncol=4)
    suptitle(fig, "Every network at each layer, placed by its distances to the others "
                  "(classical MDS; colour: training condition, marker: architecture)")
    save(fig, args.out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claims", help="tables/claims.csv (claims)")
    parser.add_argument("--margin", type=float, help="claims.margin (claims)")
    parser.add_argument("--distances", nargs="+", help="network distance CSVs (embedding)")
    parser.add_argument("--layers", nargs="+", help="layers in order (embedding)")


FIGURES = {"claims": claims_figure, "network-embedding": embedding_figure}
