"""Li et al.'s Table 1, sparse prediction: held-out loss and predictors per L1 penalty, one row
per pair, layer, direction and penalty, and the table itself with the paper's values beside."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import paper
from convergent.io.layouts import DIRECTIONS, SparsePredictionFile
from convergent.tables import PAIR_KEYS


def sparse_rows(files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per (pair, layer, direction, penalty): held-out ½·MSE (mean over live target
    units) and mean number of non-zero predictors per target unit."""
    rows = []
    for f in SparsePredictionFile.each(*files):
        attrs, penalties = f.attrs, f.penalties()
        for direction in DIRECTIONS:
            r = vars(f.fit(direction))
            live = ~np.isnan(r["loss"][0])
            for i, lam in enumerate(penalties):
                rows.append(
                    {
                        **{k: attrs[k] for k in PAIR_KEYS},
                        "direction": direction,
                        "penalty": float(lam),
                        "loss": float(np.mean(r["loss"][i, live])) if live.any() else np.nan,
                        "predictors": float(np.mean(r["nonzero"][i, live])) if live.any() else 0,
                        "unpredicted_units": int(np.sum(r["nonzero"][i, live] == 0)),
                    }
                )
    return pd.DataFrame(rows)


def published_at(values: dict[str, tuple], layer: str, penalty: float) -> float:
    """Li et al.'s value (``paper.LI2016_SPARSE_*``) for ``layer`` at L1 ``penalty``; NaN where
    the paper has no such layer or penalty."""
    grid = np.asarray(paper.LI2016_SPARSE_PENALTIES)
    hit = np.flatnonzero(np.isclose(grid, penalty, rtol=1e-6, atol=0))
    return values[layer][hit[0]] if layer in values and len(hit) else np.nan


def sparse_tables(
    per_pair: pd.DataFrame, layers: Sequence[str], dataset: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Li et al. Table 1: rows = penalty, columns = <layer>_<direction> (mean over pairs), then
    the paper's Net1→Net2 columns where they apply (``paper.applies``: every architecture of
    the table is theirs or a documented analogue); and the same table of mean predictors per
    target unit."""
    applies = bool(paper.where_applies(paper.LI2016, per_pair["architecture"], dataset).all())
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
        for layer in published if applies else ():
            wide[f"paper_{layer}_net1to2"] = [
                published_at(published, layer, lam) for lam in wide["penalty"]
            ]
        tables.append(wide)
    return tables[0], tables[1]
