"""Li et al.'s mutual-information matching: one row per pair and layer (mean MI of the
matchings, agreement with the correlation matching), and per layer over pairs with the paper's
top-8 agreement beside ours."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import paper
from convergent.io.layouts import MutualInformationFile
from convergent.tables import PAIR_KEYS, by_layer


def mi_rows(files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per (pair, layer): mean MI of the semi- and one-to-one MI matchings (nats), and how
    well the MI and correlation semi-matchings agree."""
    rows = []
    for f in MutualInformationFile.each(*files):
        attrs = f.attrs
        m = f.matchings()
        semi, one = m.semi_a2b.value, m.one2one.value
        rows.append(
            {
                **{k: attrs[k] for k in PAIR_KEYS},
                "units": len(semi),
                "samples": int(attrs["samples"]),
                "bins": int(attrs["bins"]),
                "correction": attrs["correction"],
                "entropy_a_mean": float(np.mean(f.information().entropy_a)),
                "mi_semi_mean": float(np.mean(semi)),
                "mi_one_to_one_mean": float(np.nanmean(one)),
                "top_k": int(attrs["top_k"]),
                "top_k_agree": int(attrs["top_k_agree"]),
                "same_partner_as_correlation": float(attrs["same_partner_fraction"]),
            }
        )
    return pd.DataFrame(rows)


def mi_summary(per_pair: pd.DataFrame, layers: Sequence[str], dataset: str) -> pd.DataFrame:
    """Per layer, over pairs: mean MI matchings and top-k agreement; Li et al.: 7 of 8 (conv1),
    where their value applies (``paper.applies``)."""
    g = per_pair.groupby(["architecture", "layer"], sort=False)
    out = g.agg(
        pairs=("mi_semi_mean", "size"),
        units=("units", "first"),
        entropy_a_mean=("entropy_a_mean", "mean"),
        mi_semi_mean=("mi_semi_mean", "mean"),
        mi_one_to_one_mean=("mi_one_to_one_mean", "mean"),
        top_k=("top_k", "first"),
        top_k_agree_mean=("top_k_agree", "mean"),
        top_k_agree_min=("top_k_agree", "min"),
        top_k_agree_max=("top_k_agree", "max"),
        same_partner_as_correlation=("same_partner_as_correlation", "mean"),
    ).reset_index()
    applies = paper.where_applies(paper.LI2016, out["architecture"], dataset)
    out["paper_top8_agree"] = out["layer"].map(paper.LI2016_MI_TOP8_AGREE).where(applies)
    return by_layer(out, layers)
