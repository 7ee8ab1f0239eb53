"""Summary tables of the Li et al. (2016) analyses (CSV), with the paper's numbers beside ours."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import io, paper
from convergent.tables import write_csv

__all__ = [
    "mi_rows",
    "mi_summary",
    "sparse_rows",
    "sparse_tables",
    "clustering_rows",
    "write_csv",
]

_PAIR_KEYS = ("architecture", "model_a", "model_b", "layer")


def _by_layer(df: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    depth = df["layer"].map({layer: k for k, layer in enumerate(layers)})
    return df.assign(_depth=depth).sort_values(["architecture", "_depth"]).drop(columns="_depth")


def mi_rows(files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per (pair, layer): mean MI of the semi- and one-to-one MI matchings (nats), and how
    well the MI and correlation semi-matchings agree."""
    rows = []
    for path in files:
        attrs = io.read_attrs(path, "mutual_information")
        semi = io.read_group(path, "mutual_information", "semi_a2b")["value"]
        one = io.read_group(path, "mutual_information", "one2one")["value"]
        mi = io.read_group(path, "mutual_information", "mi")
        rows.append(
            {
                **{k: attrs[k] for k in _PAIR_KEYS},
                "units": len(semi),
                "samples": int(attrs["samples"]),
                "bins": int(attrs["bins"]),
                "correction": attrs["correction"],
                "entropy_a_mean": float(np.mean(mi["entropy_a"])),
                "mi_semi_mean": float(np.mean(semi)),
                "mi_one_to_one_mean": float(np.nanmean(one)),
                "top_k": int(attrs["top_k"]),
                "top_k_agree": int(attrs["top_k_agree"]),
                "same_partner_as_correlation": float(attrs["same_partner_fraction"]),
            }
        )
    return pd.DataFrame(rows)


def mi_summary(per_pair: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    """Per layer, over pairs: mean MI matchings and top-k agreement; Li et al.: 7 of 8 (conv1)."""
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
    out["paper_top8_agree"] = out["layer"].map(paper.LI2016_MI_TOP8_AGREE)
    return _by_layer(out, layers)


def sparse_rows(files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per (pair, layer, direction, penalty): held-out ½·MSE (mean over live target
    units) and mean number of non-zero predictors per target unit."""
    rows = []
    for path in files:
        attrs = io.read_attrs(path, "sparse_prediction")
        penalties = io.read_group(path, "sparse_prediction", "penalties")["value"]
        for direction in ("a2b", "b2a"):
            r = io.read_group(path, "sparse_prediction", direction)
            live = ~np.isnan(r["loss"][0])
            for i, lam in enumerate(penalties):
                rows.append(
                    {
                        **{k: attrs[k] for k in _PAIR_KEYS},
                        "direction": direction,
                        "penalty": float(lam),
                        "loss": float(np.mean(r["loss"][i, live])) if live.any() else np.nan,
                        "predictors": float(np.mean(r["nonzero"][i, live])) if live.any() else 0,
                        "unpredicted_units": int(np.sum(r["nonzero"][i, live] == 0)),
                    }
                )
    return pd.DataFrame(rows)


def _paper_column(values: dict[str, tuple], layer: str, penalties: pd.Series) -> pd.Series:
    grid = np.asarray(paper.LI2016_SPARSE_PENALTIES)

    def lookup(lam: float) -> float:
        hit = np.flatnonzero(np.isclose(grid, lam, rtol=1e-6, atol=0))
        return values[layer][hit[0]] if len(hit) else np.nan

    return penalties.map(lookup)


def sparse_tables(
    per_pair: pd.DataFrame, layers: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Li et al. Table 1: rows = penalty, columns = <layer>_<direction> (mean over pairs), then
    the paper's Net1→Net2 columns; and the same table of mean predictors per target unit."""
    tables = []
    for value, published in (
        ("loss", paper.LI2016_SPARSE_LOSS),
        ("predictors", paper.LI2016_SPARSE_PREDICTORS),
    ):
        mean = per_pair.groupby(["penalty", "layer", "direction"], sort=False)[value].mean()
        wide = mean.unstack(["layer", "direction"])
        order = [(lay, d) for lay in layers for d in ("a2b", "b2a") if (lay, d) in wide.columns]
        wide = wide[order]
        wide.columns = [f"{lay}_{d}" for lay, d in order]
        wide = wide.sort_index().reset_index()
        for layer in published:
            wide[f"paper_{layer}_net1to2"] = _paper_column(published, layer, wide["penalty"])
        tables.append(wide)
    return tables[0], tables[1]


def clustering_rows(files: Sequence[str | os.PathLike], layers: Sequence[str]) -> pd.DataFrame:
    """Per (pair, layer): number of clusters and how many hold units of both nets (shared
    subspaces), of one net only, and exactly one unit of each, for both clusterings."""
    rows = []
    for path in files:
        attrs = io.read_attrs(path, "clustering")
        row = {k: attrs[k] for k in _PAIR_KEYS}
        row.update(
            {
                "units_per_net": int(attrs["units_a"]),
                "clusters": int(attrs["clusters"]),
                "affinity": attrs["affinity"],
            }
        )
        for method in ("spectral", "hierarchical"):
            for key in ("shared", "only_a", "only_b", "one_to_one"):
                row[f"{method}_{key}"] = int(attrs[f"{method}_{key}"])
        rows.append(row)
    return _by_layer(pd.DataFrame(rows), layers)
