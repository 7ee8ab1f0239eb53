"""Li et al.'s matched correlation: one row per pair and layer, and per layer over pairs with
the paper's values beside ours."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import paper
from convergent.analysis.matching import rank_agreement
from convergent.io.layouts import MomentsFile, PairFile
from convergent.tables import by_layer


def matching_rows(pair_files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per (pair, layer): mean matched correlation by semi- and one-to-one matching,
    over all units (dead ones as r = 0) and over live units (``*_live``)."""
    rows = []
    for pair in PairFile.each(*pair_files):
        attrs = pair.attrs
        m = pair.matchings()
        semi, one = m.semi_a2b.value, m.one2one.value
        # a dead unit correlates 0 with everything: an all-zero row (A) or column (B)
        between = pair.between()
        live_a, live_b = (between != 0).any(1), (between != 0).any(0)
        partner = m.one2one.partner
        both = (partner >= 0) & live_a & live_b[np.maximum(partner, 0)]
        rows.append(
            {
                "architecture": attrs["architecture"],
                "model_a": attrs["model_a"],
                "model_b": attrs["model_b"],
                "layer": attrs["layer"],
                "units": len(semi),
                "dead_a": int(attrs["dead_a"]),
                "dead_b": int(attrs["dead_b"]),
                "semi_mean": float(np.mean(semi)),
                "one_to_one_mean": float(np.nanmean(one)),
                "semi_mean_live": float(np.mean(semi[live_a])) if live_a.any() else np.nan,
                "one_to_one_mean_live": float(np.mean(one[both])) if both.any() else np.nan,
                "same_partner": float(attrs["same_partner_fraction"]),
            }
        )
    return pd.DataFrame(rows)


def matching_summary(per_pair: pd.DataFrame, layers: Sequence[str], dataset: str
                     ) -> pd.DataFrame:
    """Per layer: mean, sd, min and max over pairs, with Li et al.'s values beside ours where
    they apply (their networks, or a documented analogue: ``paper.applies``)."""
    g = per_pair.groupby(["architecture", "layer"], sort=False)
    out = g.agg(
        pairs=("semi_mean", "size"),
        units=("units", "first"),
        semi_mean=("semi_mean", "mean"),
        semi_mean_live=("semi_mean_live", "mean"),
        semi_sd=("semi_mean", "std"),
        semi_min=("semi_mean", "min"),
        semi_max=("semi_mean", "max"),
        one_to_one_mean=("one_to_one_mean", "mean"),
        one_to_one_mean_live=("one_to_one_mean_live", "mean"),
        one_to_one_sd=("one_to_one_mean", "std"),
        one_to_one_min=("one_to_one_mean", "min"),
        one_to_one_max=("one_to_one_mean", "max"),
        same_partner=("same_partner", "mean"),
    ).reset_index()
    applies = paper.where_applies(paper.LI2016, out["architecture"], dataset)
    out["paper_semi"] = out["layer"].map(paper.LI2016_SEMI_MATCHING).where(applies)
    out["paper_one_to_one"] = out["layer"].map(paper.LI2016_ONE_TO_ONE).where(applies)
    return by_layer(out, layers)


def mean_activation_rows(
    pair_files: Sequence[str | os.PathLike], moments_files: Sequence[str | os.PathLike]
) -> pd.DataFrame:
    """One row per (pair, layer): do one-to-one matched units agree on how active they are
    (Li et al. Fig. 4's question: are the most and least active units the same across nets)?
    Mean activation over the probe set (images × positions), from the moments files."""
    means = {}
    for path in moments_files:
        f = MomentsFile(path)
        means[f.attrs["model"]] = f
    rows = []
    for pair in PairFile.each(*pair_files):
        a = pair.attrs
        layer = a["layer"]
        agreement = rank_agreement(
            means[a["model_a"]].layer(layer).mean(), means[a["model_b"]].layer(layer).mean(),
            pair.matchings().one2one.partner, between=pair.between(),
        )
        rows.append({"architecture": a["architecture"], "model_a": a["model_a"],
                     "model_b": a["model_b"], "layer": layer, **agreement})
    return pd.DataFrame(rows)
