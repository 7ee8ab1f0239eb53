"""The validate target end to end on a tiny study with two training conditions (one with
partly random labels): per-network perturbation series, the validation table with a verdict
per test, its figure, and the findings' section naming the measures that pass."""

from __future__ import annotations

import copy
import subprocess

import pandas as pd
import pytest
import workflow_runs

from convergent.tables.validation import COLUMNS

pytestmark = pytest.mark.workflow

TINY_VALIDATION = {
    **copy.deepcopy(workflow_runs.TINY_STUDY),
    "conditions": {"randlabels": {"random_labels": 0.5}},
    "models": [{"init_seed": 0}, {"init_seed": 1},
               {"init_seed": 2, "condition": "randlabels"},
               {"init_seed": 3, "condition": "randlabels"}],
    "probe": {"size": 80, "batch_size": 40},
    "similarity": {"enabled": True, "image_features": "mean", "subsample": 40, "bootstrap": 10,
                   "kendall": False, "knn_k": 5, "nulls": {"untrained": False}},
    "findings": {"li2016": False},
    "validation": {"enabled": True, "pc_deletions": [1, 2], "noise": [0.5, 2.0]},
}


def test_validate_target_end_to_end(tmp_path):
    configfile = workflow_runs.write_config(tmp_path, TINY_VALIDATION)
    proc = subprocess.run(
        workflow_runs.snakemake_args(configfile, tmp_path, "--cores", "2", "validate"),
        cwd=workflow_runs.ROOT, env=workflow_runs.env(), capture_output=True, text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = tmp_path / "results"
    table = pd.read_csv(results / "tables" / "validation.csv")
    assert list(table.columns) == COLUMNS
    assert set(table["layer"]) == {"conv1", "fc7"}
    assert {"mutual_knn", "cknna", "shape_metric", "soft_correlation_match",
            "linear_cka"} <= set(table["measure"])
    # 2 + 2 networks: 6 labellings, 2 of which split the pairs alike: p can never pass
    assert table["separation_min_p"].dropna().to_numpy() == pytest.approx(2 / 6)
    assert (table["identification_chance_pct"].dropna() == 50).all()
    for name in ("validation.pdf", "validation.png", "validation.html"):
        assert (results / "figures" / name).stat().st_size > 0
    findings = (results / "findings.md").read_text()
    assert "Which measure to trust here" in findings and "measures pass every test" in findings
    per_network = pd.read_csv(results / "validation" / "alexnet_small" / "i2-d2-randlabels.csv")
    assert set(per_network["family"]) == {"none", "pc_deletion", "noise"}
