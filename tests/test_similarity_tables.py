"""Aggregation of similarity rows: pair kinds and the layer-identification table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from convergent.tables import write_csv
from convergent.tables.similarity import layer_identification_table, source_of, summary


def test_source_of_pair_kinds():
    assert source_of("i0-d0", "i1-d0") == "init"
    assert source_of("i0-d0", "i0-d1") == "data"
    assert source_of("i0-d0", "i1-d1") == "init+data"
    assert source_of("i0-d0", "i0-d0-r1") == "replicate"
    assert source_of("i0-d0", "untrained-i5") == "-"


def rows_for(matrix, measure, model_b="i1-d1", arch_b="net"):
    layers = ["l0", "l1", "l2"]
    return [
        {"analysis": "layer_by_layer", "kind": "pair", "arch_a": "net", "model_a": "i0-d0",
         "arch_b": arch_b, "model_b": model_b, "layer_a": a, "layer_b": b, "depth_a": i / 2,
         "depth_b": j / 2, "measure": measure, "value": matrix[i][j], "ci_low": None,
         "ci_high": None, "convention": "flatten", "samples": 10,
         "comparison": "within" if arch_b == "net" else "cross", "source": "init+data"}
        for i, a in enumerate(layers) for j, b in enumerate(layers)
    ]


def test_layer_identification_table_counts_rows_and_columns():
    good = [[0.9, 0.2, 0.1], [0.3, 0.8, 0.4], [0.1, 0.5, 0.7]]
    bad = [[0.1, 0.9, 0.1], [0.3, 0.2, 0.4], [0.9, 0.5, 0.7]]
    dist = [[0.0, 1.0, 2.0], [1.0, 0.1, 1.0], [2.0, 1.5, 0.2]]
    df = pd.DataFrame(rows_for(good, "linear_cka") + rows_for(bad, "cca_rho")
                      + rows_for(dist, "procrustes") + rows_for(good, "rbf_cka", arch_b="other"))
    t = layer_identification_table(df, "fashion_mnist").set_index("measure")
    assert t.loc["linear_cka", "accuracy_pct"] == pytest.approx(100.0)
    assert t.loc["linear_cka", "chance_pct"] == pytest.approx(100 / 3)
    assert t.loc["linear_cka", "defined_layers"] == 3
    # Kornblith et al.'s Tiny-10 CNNs on CIFAR-10 are no counterpart of these networks
    assert np.isnan(t.loc["linear_cka", "kornblith2019_pct"])
    # rows: l0, l1, l2 miss; columns: l0 miss (0.9 at l2), l1 miss, l2 hit (0.7 > 0.4, 0.1)
    assert t.loc["cca_rho", "accuracy_pct"] == pytest.approx(100 / 6)
    assert t.loc["procrustes", "accuracy_pct"] == pytest.approx(100.0)  # a distance: argmin
    assert "rbf_cka" not in t.index  # cross-architecture pairs are not part of the check


def test_summary_groups_pairs_and_nulls():
    base = {"analysis": "per_layer", "arch_a": "net", "arch_b": "net", "layer_a": "l0",
            "layer_b": "l0", "depth_a": 0.0, "depth_b": 0.0, "measure": "linear_cka",
            "convention": "positions", "samples": 10, "comparison": "within", "source": "init"}
    df = pd.DataFrame([
        {**base, "model_a": "i0-d0", "model_b": "i1-d0", "kind": "pair", "value": 0.8,
         "ci_low": 0.7, "ci_high": 0.9},
        {**base, "model_a": "i0-d1", "model_b": "i1-d1", "kind": "pair", "value": 0.6,
         "ci_low": 0.5, "ci_high": 0.7},
        {**base, "model_a": "i0-d0", "model_b": "i1-d0", "kind": "shuffled", "value": 0.1,
         "ci_low": None, "ci_high": None},
    ])
    s = summary(df).set_index("kind")
    assert s.loc["pair", "mean"] == pytest.approx(0.7)
    assert s.loc["pair", "pairs"] == 2
    assert s.loc["pair", "ci_low_mean"] == pytest.approx(0.6)
    assert s.loc["shuffled", "mean"] == pytest.approx(0.1)


def test_write_csv_keeps_full_float64_precision(tmp_path):
    values = [0.123456789012345, 1 / 3, 2.0**-40 + 1e-30, -1.2345678901234567e-200, 7.0]
    write_csv(pd.DataFrame({"measure": ["m"] * 5, "value": values}), tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")["value"].tolist()
    assert back == values  # exact: %.6g gave 0.123457
