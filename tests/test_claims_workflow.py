"""The claims study end to end on a tiny version of config/claims.yaml: two architectures,
consecutive (independent) pairs, a training condition without augmentation; then adding a
condition plans only its own new jobs."""

from __future__ import annotations

import copy
import re
import subprocess

import pandas as pd
import pytest
import workflow_runs

pytestmark = pytest.mark.workflow

A = "alexnet_small"
TINY_CLAIMS = {
    **copy.deepcopy(workflow_runs.TINY_STUDY),
    "architectures": [A, "vgg_small"],
    "pairing": "consecutive",
    "conditions": {"noaug": {"augment_flip": False, "augment_crop": 0}},
    "models": [
        {"init_seed": 0}, {"init_seed": 1},  # a both-seeds pair in both architectures
        {"init_seed": 2, "architecture": A}, {"init_seed": 3, "architecture": A},
        *({"init_seed": k, "condition": "noaug", "architecture": A} for k in range(4, 8)),
        # the controls: a one-bit perturbation of seed 8, a replicate of seed 9
        {"init_seed": 8, "architecture": A}, {"init_seed": 8, "perturb": 1, "architecture": A},
        {"init_seed": 9, "architecture": A}, {"init_seed": 9, "replicate": 1, "architecture": A},
    ],
    "probe": {"size": 80, "batch_size": 40},
    # the untrained-network floor is left out here (its wiring is the similarity tests')
    "similarity": {"enabled": True, "subsample": 40, "bootstrap": 10, "kendall": False,
                   "layer_by_layer": False, "nulls": {"untrained": False}},
    "findings": {"li2016": False},
    "claims": {"enabled": True, "permutations": 99, "variation": {"more": "base",
                                                                     "less": "noaug"}},
}
TINY_CLAIMS["training"] = {**TINY_CLAIMS["training"], "augment_crop": 2}


def snakemake(workdir, config, *args: str) -> str:
    configfile = workflow_runs.write_config(workdir, config)
    proc = subprocess.run(
        workflow_runs.snakemake_args(configfile, workdir, "--cores", "2", *args),
        cwd=workflow_runs.ROOT, env=workflow_runs.env(), capture_output=True, text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_claims_study_end_to_end(tmp_path):
    snakemake(tmp_path, TINY_CLAIMS, "claims")
    results = tmp_path / "results"
    table = pd.read_csv(results / "tables" / "claims.csv")
    assert {"a", "b", "c", "e", "f", "r"} <= set(table["claim"])
    assert set(table["verdict"]) <= {"supported", "contradicted", "inconclusive",
                                     "deterministic (identical)"}
    # on the CPU the replicate is bit-identical: reported so, and no claim's floor
    assert set(table.loc[table["claim"] == "r", "verdict"]) == {"deterministic (identical)"}
    tested = table[table["ci_low"].notna()]
    assert (tested["ci_low"] <= tested["effect"] + 1e-12).all()
    assert (tested["effect"] <= tested["ci_high"] + 1e-12).all()
    assert (tested["p_holm"] >= tested["p_value"] - 1e-15).all()
    assert table["shuffled"].notna().all() and table["pairs"].notna().all()
    accuracy = pd.read_csv(results / "tables" / "accuracy.csv").set_index("model")
    hashes = accuracy["weights_sha256"]
    assert hashes[f"{A}/i9-d9"] == hashes[f"{A}/i9-d9-r1"]
    assert hashes[f"{A}/i8-d8"] != hashes[f"{A}/i8-d8-p1"]
    grouping = pd.read_csv(results / "tables" / "network_grouping.csv")
    assert set(grouping["grouping"]) == {"condition", "architecture"}
    assert grouping["p_value"].between(0, 1).all()
    distances = pd.read_csv(results / "networks" / "conv1.csv")
    assert distances["network_a"].nunique() + 1 == 14  # every two of the 14 networks
    assert len(distances) == 2 * 14 * 13 // 2
    findings = (results / "findings.md").read_text()
    assert "The commentary's claims, tested" in findings
    for name in ("claims", "network_embedding"):
        for ext in ("pdf", "png", "html"):
            assert (results / "figures" / f"{name}.{ext}").stat().st_size > 0
    # the noaug models were trained without augmentation, the others with crops
    models = results / "models" / A
    assert (models / "i4-d4-noaug" / "model.ckpt").is_file()
    assert not (models / "i4-d4").exists()

    # a new condition adds only its models' jobs: nothing trained already is planned again
    more = copy.deepcopy(TINY_CLAIMS)
    more["conditions"]["short"] = {"epochs": 2}
    more["models"] += [{"init_seed": 9, "condition": "short", "architecture": A},
                       {"init_seed": 10, "condition": "short", "architecture": A}]
    out = snakemake(tmp_path, more, "claims", "--dry-run", "--quiet", "rules")
    planned = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)}
    assert planned["train"] == 2 and planned["dump"] == 2
    assert planned["similarity"] == 1  # the new pair
