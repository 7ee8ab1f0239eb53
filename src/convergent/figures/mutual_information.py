"""Mutual information vs correlation (Li et al. 2016 MI matching), one column per layer of the
example pair: top, MI (nats, bias-corrected) of every unit pair against their correlation;
bottom, each unit's semi-matched MI sorted, with the MI of its correlation semi-match partner."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np

from convergent.figures import (
    MATCHING_COLORS,
    add_partner_argument,
    integer_ticks,
    legend_below,
    save,
    suptitle,
)
from convergent.io.layouts import MutualInformationFile, PairFile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mi", nargs="+", required=True, help="MI files of every layer")
    parser.add_argument("--pairs", nargs="+", required=True, help="pair files, same order as --mi")
    add_partner_argument(parser)

def main(args: argparse.Namespace) -> None:
    n = len(args.mi)
    fig, axes = plt.subplots(2, n, figsize=(3.2 * n + 0.6, 6.4), squeeze=False,
                             layout="constrained")
    for col, (mi_path, pair_path) in enumerate(zip(args.mi, args.pairs, strict=True)):
        info = MutualInformationFile(mi_path, args.partner)
        pair = PairFile(pair_path, args.partner)
        attrs, mi = info.attrs, info.information().value
        c, corr_partner = pair.between(), pair.matchings().semi_a2b.partner
        semi = info.matchings().semi_a2b.value
        top, bottom = axes[0, col], axes[1, col]
        top.scatter(c.ravel(), mi.ravel(), s=3, alpha=0.4, color=MATCHING_COLORS["semi"],
                    rasterized=True, lw=0)
        top.set(title=f"{attrs['layer']}", xlabel="correlation", ylabel="MI (nats)")
        order = np.argsort(-semi)
        x = np.arange(1, len(semi) + 1)
        bottom.plot(x, semi[order], color=MATCHING_COLORS["one_to_one"], label="MI semi-matching")
        bottom.plot(
            x,
            mi[np.arange(len(mi)), corr_partner][order],
            ".",
            ms=3,
            color=MATCHING_COLORS["semi"],
            label="MI of the correlation partner",
        )
        bottom.set(
            xlabel="unit of A (sorted by matched MI)",
            ylabel="MI (nats)",
            title=f"{attrs['top_k_agree']} of {attrs['top_k']} best corr. pairs agree",
        )
        integer_ticks(bottom, "x")
    legend_below(fig, axes[1, 0], ncol=2)
    suptitle(fig,
        f"Mutual information, {attrs['model_a']} vs {attrs['model_b']} ({attrs['bins']} bins, "
        f"{attrs['correction']} correction)"
    )
    save(fig, args.out)


FIGURES = {"mutual-information": main}
