"""All the networks of a study at once: the distances between every two networks of one layer
(results/networks/<layer>.csv) as matrices, and the permutation tests of whether the networks
group by training condition or by architecture (tables/network_grouping.csv)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent.analysis.networks import grouping_test
from convergent.tables.claims import condition_of


def distance_matrix(distances: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """(networks, square matrix) of one layer's and distance's long rows (network ids
    arch/model, in first-seen order)."""
    ids = list(dict.fromkeys([*distances["network_a"], *distances["network_b"]]))
    k = {n: i for i, n in enumerate(ids)}
    d = np.zeros((len(ids), len(ids)))
    for a, b, v in zip(distances["network_a"], distances["network_b"], distances["value"],
                       strict=True):
        d[k[a], k[b]] = d[k[b], k[a]] = v
    return ids, d


def network_labels(ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """(architecture, condition) of each network id arch/model."""
    archs = [i.split("/")[0] for i in ids]
    return archs, [condition_of(i.split("/")[-1]) for i in ids]


def grouping_table(distances: pd.DataFrame, layers: Sequence[str], permutations: int,
                   seed: int) -> pd.DataFrame:
    """Per layer and distance: do networks group by training condition (labels permuted within
    each architecture) and by architecture (within each condition) more than by chance?"""
    out = []
    for (layer, name), g in distances.groupby(["layer", "distance"], sort=False):
        ids, d = distance_matrix(g)
        archs, conditions = network_labels(ids)
        for grouping, labels, strata in (("condition", conditions, archs),
                                         ("architecture", archs, conditions)):
            if len(set(labels)) < 2:
                continue
            stat, p = grouping_test(d, labels, strata, permutations, seed)
            out.append({"layer": layer, "distance": name, "grouping": grouping,
                        "statistic": stat, "p_value": p, "permutations": permutations,
                        "networks": len(ids), "groups": len(set(labels))})
    table = pd.DataFrame(out, columns=["layer", "distance", "grouping", "statistic", "p_value",
                                       "permutations", "networks", "groups"])
    return table.sort_values("layer", key=lambda s: s.map(list(layers).index), kind="stable")
