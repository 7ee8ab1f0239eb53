"""The findings (results/findings.md, tables/findings.csv) on planted tables with known answers,
and the README's copy of the default study's findings against the renderer."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from convergent.analysis.matching import rank_agreement
from convergent.analysis.statistics import interval_sd, pairs_and_blocks, percentile_ci, slope
from convergent.tables.findings import CONVERGENCE, Resampling, findings
from convergent.tables.render import (
    MARKER,
    README_LEVEL,
    csv_html,
    findings_html,
    findings_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
DEPTH = np.linspace(0, 1, len(LAYERS))  # alexnet_small's relative depths of these layers
DEPTHS = {"alexnet_small": dict(zip(LAYERS, DEPTH, strict=True))}
MODELS = [f"alexnet_small/i{k}-d{k}" for k in range(4)]
FAST = Resampling(resamples=400, seed=0)


# ------------------------------------------------------------------ statistics
def test_pairs_and_blocks_recovers_a_planted_slope_and_its_spread():
    rng = np.random.default_rng(0)
    values = 0.8 - 0.3 * DEPTH + 0.02 * rng.standard_normal((6, len(DEPTH)))
    draws = pairs_and_blocks(values, np.full_like(values, 0.01), 2000, seed=1)
    lo, hi = percentile_ci(slope(DEPTH, draws))
    assert lo < -0.3 < hi and hi < 0
    assert slope(DEPTH, values.mean(0))[0] == pytest.approx(-0.3, abs=0.03)
    # the spread of the layer means: between pairs (sd 0.02 / √6) and within (0.01 / √6)
    assert draws[:, 0].std() == pytest.approx(np.hypot(0.02, 0.01) / np.sqrt(6), rel=0.35)


def test_a_flat_profile_has_a_slope_interval_around_zero():
    rng = np.random.default_rng(2)
    values = 0.5 + 0.05 * rng.standard_normal((6, len(DEPTH)))
    lo, hi = percentile_ci(slope(DEPTH, pairs_and_blocks(values, 0 * values, 2000, seed=3)))
    assert lo < 0 < hi


def test_interval_sd_inverts_a_normal_interval():
    sd = interval_sd(np.array([1 - 1.959964 * 0.2, np.nan]), np.array([1 + 1.959964 * 0.2, 1]))
    assert sd[0] == pytest.approx(0.2) and sd[1] == 0


def test_rank_agreement_of_planted_matches():
    rng = np.random.default_rng(4)
    a = rng.gamma(2.0, size=40)
    perm = rng.permutation(40)
    b = np.empty(40)
    b[perm] = a  # A's unit i is B's unit perm[i], with the same mean activation
    same = rank_agreement(a, b, perm)
    assert same["spearman"] == pytest.approx(1) and same["top_overlap"] == 1
    assert same["bottom_overlap"] == 1 and same["chance_overlap"] == pytest.approx(0.1)
    shuffled = rank_agreement(a, rng.permutation(b), perm)
    assert abs(shuffled["spearman"]) < 0.5


# ------------------------------------------------------------------ planted study tables
def planted_tables(decline: float = 0.3, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The tables the findings read, for 4 seeds: matched correlations and every convergence
    measure fall from conv1 to fc7 by ``decline`` (distances rise); untrained floor 0.3."""
    rng = np.random.default_rng(seed)
    accuracy = pd.DataFrame({"model": MODELS, "arch": "alexnet_small",
                             "test_acc_pct": [90.9, 90.8, 91.1, 90.6]})
    sim, match, sparse, acts = [], [], [], []
    for a, b in combinations(MODELS, 2):
        for layer, d in zip(LAYERS, DEPTH, strict=True):
            level = 0.8 - decline * d + 0.01 * rng.standard_normal()
            for measure in CONVERGENCE:
                v = 1 - level if measure == "procrustes" else level
                base = {"analysis": "per_layer", "arch_a": "alexnet_small",
                        "arch_b": "alexnet_small", "model_a": a, "model_b": b, "layer_a": layer,
                        "layer_b": layer, "depth_a": d, "depth_b": d, "measure": measure,
                        "convention": "positions", "samples": 1000.0}
                sim.append({**base, "kind": "pair", "value": v, "ci_low": v - 0.02,
                            "ci_high": v + 0.02})
                sim.append({**base, "kind": "shuffled", "value": 0.05, "ci_low": np.nan,
                            "ci_high": np.nan})
            match.append({"architecture": "alexnet_small", "model_a": a, "model_b": b,
                          "layer": layer, "semi_mean": level + 0.05, "one_to_one_mean": level})
            acts.append({"architecture": "alexnet_small", "model_a": a, "model_b": b,
                         "layer": layer, "spearman": 0.6, "top_overlap": 0.5,
                         "bottom_overlap": 0.4, "chance_overlap": 0.1})
            for la in LAYERS:  # layer × layer: the corresponding layer is the most similar
                sim.append({**base, "analysis": "layer_by_layer", "kind": "pair",
                            "measure": "linear_cka", "layer_a": la,
                            "value": 0.9 if la == layer else 0.4, "ci_low": np.nan,
                            "ci_high": np.nan})
        for layer in ("conv1", "conv2"):
            for direction in ("a_to_b", "b_to_a"):
                for lam, loss in ((0.0, 0.2), (1e-4, 0.18), (1e-2, 0.45)):
                    sparse.append({"architecture": "alexnet_small", "model_a": a, "model_b": b,
                                   "layer": layer, "direction": direction, "penalty": lam,
                                   "loss": loss + (layer == "conv2") * 0.1})
    for m in MODELS:  # trained vs untrained: the floor
        for layer, d in zip(LAYERS, DEPTH, strict=True):
            for measure in CONVERGENCE:
                sim.append({"analysis": "per_layer", "kind": "pair", "arch_a": "alexnet_small",
                            "arch_b": "alexnet_small", "model_a": m,
                            "model_b": "alexnet_small/untrained-i1000", "layer_a": layer,
                            "layer_b": layer, "depth_a": d, "depth_b": d, "measure": measure,
                            "value": 0.3, "ci_low": 0.28, "ci_high": 0.32,
                            "convention": "positions", "samples": 1000.0})
    sim = pd.DataFrame(sim)
    sim["comparison"] = np.where(sim["model_b"].str.contains("untrained"), "untrained", "within")
    sim["source"] = np.where(sim["comparison"] == "within", "init+data", "-")
    return {"accuracy": accuracy, "matching": pd.DataFrame(match), "similarity": sim,
            "sparse": pd.DataFrame(sparse), "mean_activation": pd.DataFrame(acts)}


def planted_findings(**kw) -> pd.DataFrame:
    t = planted_tables(**kw)
    return findings(t["accuracy"], t["matching"], LAYERS, DEPTHS, similarity=t["similarity"],
                    sparse=t["sparse"], mean_activation=t["mean_activation"], resampling=FAST)


def _row(df, section, measure, layer=None):
    sel = (df["section"] == section) & (df["measure"] == measure)
    if layer is not None:
        sel &= df["layer"] == layer
    (i,) = np.flatnonzero(sel)
    return df.iloc[i]


def test_a_planted_decline_is_found_with_its_floors_and_the_published_value():
    df = planted_findings(decline=0.3)
    conv1 = _row(df, "convergence", "matched_correlation", "conv1")
    assert conv1["ci_low"] < conv1["value"] < conv1["ci_high"]
    assert conv1["value"] == pytest.approx(0.8, abs=0.02)
    assert conv1["untrained"] == pytest.approx(0.3) and conv1["shuffled"] == pytest.approx(0.05)
    assert conv1["published"] == pytest.approx(0.663) and conv1["interval"] == "pairs+blocks"
    assert "conv1 units are matched one to one at r = 0.80" in conv1["text"]
    assert "Li et al. 0.66" in conv1["text"] and "untrained network 0.30" in conv1["text"]
    for measure in CONVERGENCE:
        trend = _row(df, "convergence", measure, "slope")
        sign = 1 if measure == "procrustes" else -1
        assert trend["ci_low"] < sign * 0.3 < trend["ci_high"], measure
        assert 0 < sign * trend["ci_low"] or 0 < sign * trend["ci_high"]
        assert "networks grow less alike" in trend["text"], measure
        conv = _row(df, "convergence", measure, "slope (conv)")  # conv1 → conv5 alone
        assert conv["ci_low"] < sign * 0.3 < conv["ci_high"] and "conv1 → conv5" in conv["text"]


def test_a_flat_profile_reads_as_no_trend_and_a_rise_as_growing_alike():
    flat = _row(planted_findings(decline=0.0), "convergence", "linear_cka", "slope")
    assert flat["ci_low"] < 0 < flat["ci_high"] and "no clear trend" in flat["text"]
    rise = _row(planted_findings(decline=-0.3), "convergence", "linear_cka", "slope")
    assert rise["ci_low"] > 0 and "networks grow more alike" in rise["text"]


def test_the_other_sections_report_the_planted_numbers():
    df = planted_findings()
    acc = _row(df, "accuracy", "test_top1_pct")
    assert acc["value"] == pytest.approx(90.85) and acc["ci_low"] < 90.85 < acc["ci_high"]
    assert _row(df, "accuracy", "spread_pp")["value"] == pytest.approx(0.5)
    best = _row(df, "sparse_prediction", "loss_best (λ=0.0001)", "conv1")
    assert best["value"] == pytest.approx(0.18) and best["published"] == pytest.approx(0.162)
    assert _row(df, "sparse_prediction", "loss_dense (λ=0)", "conv2")["value"] == pytest.approx(0.3)
    top = _row(df, "mean_activation", "top_overlap", "fc7")
    assert top["value"] == pytest.approx(0.5) and top["shuffled"] == pytest.approx(0.1)
    ident = _row(df, "layer_identification", "linear_cka")
    assert ident["value"] == pytest.approx(100) and ident["published"] == pytest.approx(99.3)


def test_without_similarity_the_matching_table_gives_convergence_over_pairs_only():
    t = planted_tables()
    df = findings(t["accuracy"], t["matching"], LAYERS, DEPTHS, resampling=FAST)
    conv = df[df["section"] == "convergence"]
    assert set(conv["measure"]) == {"semi_matched_correlation", "matched_correlation"}
    assert set(conv["interval"]) == {"pairs"} and conv["untrained"].isna().all()


def test_markdown_and_html_show_every_finding():
    df = planted_findings()
    md = findings_markdown(df, "Study abc: planted.")
    assert md.startswith(MARKER) and "### Convergence by depth" in md
    headline = df["headline"].astype(bool)
    assert all(f"- {text}" in md for text in df.loc[headline, "text"])
    # every convergence number is in the layers × measures tables, with its floors
    lines = md.splitlines()
    conv1 = [line for line in lines if line.startswith("| conv1 |")]
    assert conv1[0].count("0.80 [0.79, 0.81]") == 4 and conv1[0].endswith("| 0.70 / 0.66 |")
    assert conv1[1] == "| conv1 |" + " 0.30 / 0.05 |" * 5
    page = findings_html(df, "Study abc: planted.")
    assert page.count('<table class="findings">') == df["section"].nunique()
    assert all(text.replace("'", "&#x27;") in page for text in df["text"])


def test_csv_page_shows_every_cell():
    df = pd.DataFrame({"layer": ["conv1", "fc7"], "value": [0.123456, np.nan], "n": [3, 4]})
    page = csv_html(df, "t")
    assert page.count("<tr>") == 3 and "0.1235" in page and ">conv1<" in page


# ------------------------------------------------------------------ the README's copy
def readme_block() -> tuple[str, str]:
    """The README's copy of the default study's findings: (block, its source CSV path)."""
    text = (ROOT / "README.md").read_text()
    start = text.index(MARKER)
    end = text.index("<!-- findings: end -->", start)
    source = re.search(r"`([^`]+findings\.csv)`", text[end:]).group(1)
    return text[start:end].rstrip("\n"), source


def test_the_readme_copy_is_what_the_rule_writes_from_the_committed_table():
    block, source = readme_block()
    table = pd.read_csv(ROOT / source)
    header = block.splitlines()[1]
    assert header.startswith("Study "), header
    assert findings_markdown(table, header, README_LEVEL).rstrip("\n") == block
