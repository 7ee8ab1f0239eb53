"""Which measure to trust on these networks (tables/validation.csv): per architecture, one panel
per test and one for all of them, measures × layers, each cell passed, failed, or undefined /
not testable (hatched), with the test's number in it and its chance level in the title."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from convergent.analysis.measures import MEASURES, display
from convergent.figures import PALETTE, save, suptitle
from convergent.figures.similarity import UNDEFINED
from convergent.tables.validation import TESTS

PASS, FAIL = PALETTE[2], PALETTE[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--validation", required=True, help="tables/validation.csv")


def _number(test: str, r: pd.Series) -> str:
    """The number a cell of ``test`` shows."""
    value = {"separation_pass": r["separation_auprc"],
             "monotone_pass": min(r["pc_falls"], r["noise_falls"]),
             "probe_pass": r["probe_spearman"],
             "identification_pass": r["identification_pct"]}.get(test, np.nan)
    if not np.isfinite(value):
        return ""
    return f"{value:.0f}" if test == "identification_pass" else f"{value:.2f}"


def _titles(g: pd.DataFrame) -> dict[str, str]:
    chance = g["separation_chance"].dropna()
    ident = g["identification_chance_pct"].dropna()
    return {
        "separation_pass": "group separation: AUPRC"
                           + (f"\n(chance {chance.iloc[0]:.2f})" if len(chance) else ""),
        "monotone_pass": "monotonicity: share of\nnetworks falling",
        "probe_pass": "probe: Spearman ρ\n(similarity, accuracy)",
        "identification_pass": "layer identification, %"
                               + (f"\n(chance {ident.iloc[0]:.0f} %)" if len(ident) else ""),
        "passes": "every test",
    }


def validation_figure(args: argparse.Namespace) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    table = pd.read_csv(args.validation)
    archs = list(dict.fromkeys(table["architecture"]))
    order = {m: k for k, m in enumerate(MEASURES)}
    columns = [*TESTS, "passes"]
    n_measures = table.groupby("architecture")["measure"].nunique().max()
    fig, axes = plt.subplots(len(archs), len(columns), squeeze=False, layout="constrained",
                             figsize=(2.0 * len(columns) + 1.6,
                                      len(archs) * (0.22 * n_measures + 1.4)))
    for row, arch in zip(axes, archs, strict=True):
        g = table[table["architecture"] == arch]
        layers = g.drop_duplicates("layer").sort_values("depth")["layer"].tolist()
        measures = sorted(dict.fromkeys(g["measure"]), key=lambda m: order.get(m, len(order)))
        cell = g.set_index(["measure", "layer"])
        titles = _titles(g)
        for k, (ax, test) in enumerate(zip(row, columns, strict=True)):
            for i, m in enumerate(measures):
                for j, layer in enumerate(layers):
                    r = cell.loc[(m, layer)] if (m, layer) in cell.index else None
                    value = np.nan if r is None else r[test]
                    y = len(measures) - 1 - i
                    if np.isfinite(value):
                        ax.add_patch(Rectangle((j, y), 1, 1, facecolor=PASS if value == 1
                                               else FAIL, edgecolor="white", lw=0.5))
                    else:
                        ax.add_patch(Rectangle((j, y), 1, 1, **UNDEFINED))
                    if r is not None and test != "passes":
                        ax.text(j + 0.5, y + 0.5, _number(test, r), ha="center", va="center",
                                fontsize=6, color="white" if np.isfinite(value) else "0.3")
            ax.set_xlim(0, len(layers))
            ax.set_ylim(0, len(measures))
            ax.set_xticks(np.arange(len(layers)) + 0.5, layers, rotation=45)
            ax.set_yticks(np.arange(len(measures))[::-1] + 0.5,
                          [display(m) for m in measures] if k == 0 else [])
            ax.tick_params(length=0)
            ax.set_title(titles[test], fontsize=8)
            for side in ax.spines.values():
                side.set_visible(False)
        row[0].set_ylabel(arch)
    fig.legend(handles=[Patch(facecolor=PASS, label="passes"), Patch(facecolor=FAIL,
                                                                     label="fails"),
                        Patch(label="undefined or not testable", **UNDEFINED)],
               loc="outside lower center", ncol=3)
    suptitle(fig, "Which measure to trust on these networks (docs/validation.md)")
    save(fig, args.out)


FIGURES = {"validation": validation_figure}
