"""Neural predictivity across seeds: per area, the ceiling-normalised predictivity of every layer,
one line per seed (band: range over seeds; star: each seed's best layer; dashed black: the
demo's held-out network), and below it the between-seed consistency of per-site predictions."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from convergent.figures import (
    add_models_argument,
    legend_below,
    model_colors,
    plural,
    save,
    suptitle,
)

SEED, HELD_OUT = "seed", "held_out"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by-layer", required=True, help="tables/neural_by_layer.csv")
    parser.add_argument("--consistency", required=True, help="tables/neural_consistency.csv")
    add_models_argument(parser)


def main(args: argparse.Namespace) -> None:
    table = pd.read_csv(args.by_layer)
    cons = pd.read_csv(args.consistency)
    colors = model_colors(args.models)
    groups = list(table.groupby(["architecture", "area"], sort=False))
    fig, axes = plt.subplots(2, len(groups), figsize=(3.4 * len(groups) + 0.6, 6.2),
                             layout="constrained", squeeze=False, sharex="col",
                             height_ratios=[3, 2])
    for col, ((arch, area), g) in enumerate(groups):
        layers = list(dict.fromkeys(g["layer"]))
        x = np.arange(len(layers))
        ax = axes[0, col]
        seeds = g[g["role"] == SEED]
        wide = seeds.pivot(index="layer", columns="model", values="predictivity").reindex(layers)
        ax.fill_between(x, wide.min(axis=1), wide.max(axis=1), color="0.8", lw=0,
                        label="range over seeds")
        for model, v in wide.items():
            color = colors[f"{arch}/{model}"]
            ax.plot(x, v.to_numpy(), "o-", color=color, ms=3, lw=1.2, label=f"seed {model}")
            if v.notna().any():  # all NaN: no site of the area is reliable enough to tell
                best = int(np.nanargmax(v.to_numpy()))
                ax.plot(x[best], v.iloc[best], "*", color=color, ms=11, mec="black", mew=0.5,
                        zorder=5)
        held = g[g["role"] == HELD_OUT].set_index("layer").reindex(layers)
        if held["predictivity"].notna().any():
            ax.plot(x, held["predictivity"].to_numpy(), "--", color="black", lw=1.2,
                    label="held-out network (the planted data's source)")
        ax.plot([], [], "*", color="0.5", mec="black", mew=0.5, ms=11,
                label="a seed's best layer")
        n = seeds["model"].nunique()
        ax.set_title(f"{area} ({arch}, {plural(n, 'seed')})")
        ax.set_ylabel("r² / ceiling (median over sites)" if col == 0 else "")
        ax.set_ylim(0, max(1.0, float(g["predictivity"].max(skipna=True)) * 1.05))
        c = cons[(cons["architecture"] == arch) & (cons["area"] == area)].set_index("layer")
        c = c.reindex(layers)
        ax2 = axes[1, col]
        # grey, not the seeds' colours: these lines are pairs of seeds, not one seed
        ax2.plot(x, c["prediction_r"], "o-", color="0.15", ms=3,
                 label="between-seed r of per-site predictions (median over sites)")
        ax2.plot(x, c["site_rank_rho"], "s--", color="0.55", ms=3,
                 label="between-seed Spearman ρ of per-site predictivity")
        ax2.set_ylim(min(0.0, float(np.nanmin(c[["prediction_r", "site_rank_rho"]].to_numpy(),
                                              initial=0.0))) - 0.05, 1.05)
        ax2.set_ylabel("consistency (mean over pairs)" if col == 0 else "")
        ax2.set_xticks(x, layers)
        ax2.set_xlabel("layer")
    suptitle(fig, "Neural predictivity across seeds: which layer predicts which area, per seed")
    legend_below(fig, ncol=3)
    save(fig, args.out)


FIGURES = {"neural-predictivity": main}
