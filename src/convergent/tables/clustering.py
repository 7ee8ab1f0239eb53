"""Li et al.'s many-to-many matching: composition of the clusters of every pair and layer."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from convergent.io.layouts import ClusteringFile
from convergent.tables import PAIR_KEYS, by_layer


def clustering_rows(files: Sequence[str | os.PathLike], layers: Sequence[str]) -> pd.DataFrame:
    """Per (pair, layer): the dead units (in no cluster), number of clusters and how many hold
    units of both nets (shared subspaces), of one net only, and exactly one unit of each, for
    both clusterings."""
    rows = []
    for attrs in (f.attrs for f in ClusteringFile.each(*files)):
        row = {k: attrs[k] for k in PAIR_KEYS}
        row.update(
            {
                "units_per_net": int(attrs["units_a"]),
                # both nets' dead units, in no cluster (analysis.clustering.DEAD)
                "dead_units": int(attrs["dead_units"]),
                "clusters": int(attrs["clusters"]),
                "affinity": attrs["affinity"],
            }
        )
        for method in ("spectral", "hierarchical"):
            for key in ("shared", "only_a", "only_b", "one_to_one"):
                row[f"{method}_{key}"] = int(attrs[f"{method}_{key}"])
        rows.append(row)
    return by_layer(pd.DataFrame(rows), layers)
