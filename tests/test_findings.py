"""The findings (results/findings.md, tables/findings.csv) on planted tables with known answers,
and the README's copy of the default study's findings against the renderer."""

from __future__ import annotations

import html
import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from convergent.analysis.matching import rank_agreement, tie_groups
from convergent.tables.findings import CONVERGENCE, findings
from convergent.tables.render import (
    MARKER,
    README_LEVEL,
    csv_html,
    findings_html,
    findings_markdown,
    model_columns,
)

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
DEPTH = np.linspace(0, 1, len(LAYERS))  # alexnet_small's relative depths of these layers
DEPTHS = {"alexnet_small": dict(zip(LAYERS, DEPTH, strict=True))}
MODELS = [f"alexnet_small/i{k}-d{k}" for k in range(4)]


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


def test_rank_agreement_does_not_depend_on_which_tied_partner_was_picked():
    """B's units 0 and 1 correlate alike with everything (a unit and a rescaled copy): the
    matching may give A's unit either; the answer must not change."""
    rng = np.random.default_rng(5)
    c = rng.uniform(-0.2, 0.9, (6, 6))
    c[:, 1] = c[:, 0]
    a, b = rng.gamma(2.0, size=6), rng.gamma(2.0, size=6)
    b[1] = 10 * b[0]  # the copy is far more active
    partner = np.arange(6)
    swapped = partner.copy()
    swapped[[0, 1]] = [1, 0]
    one = rank_agreement(a, b, partner, between=c)
    other = rank_agreement(a, b, swapped, between=c)
    assert one == other
    assert rank_agreement(a, b, partner) != rank_agreement(a, b, swapped)  # without: it would



def test_tie_groups_partition_the_rows_as_sorting_them_would():
    """Rows equal to 9 decimals (a copy, a copy off by 1e-12, the dead units' zero rows, one
    of them −0.0) share a label, every other row has its own: the partition of
    ``np.unique(axis=0)``."""
    rng = np.random.default_rng(6)
    c = rng.normal(size=(64, 64))
    c[10], c[11] = c[3], c[3] * (1 + 1e-12)
    c[20:30] = 0.0
    c[30] = -0.0
    labels = tie_groups(c)
    reference = np.unique(np.round(c, 9), axis=0, return_inverse=True)[1].ravel()
    np.testing.assert_array_equal(labels[:, None] == labels, reference[:, None] == reference)
    assert len(np.unique(labels)) == 64 - 2 - 10


# ------------------------------------------------------------------ planted study tables
def planted_tables(decline: float = 0.3, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The tables the findings read, for 4 seeds: matched correlations and every convergence
    measure fall from conv1 to fc7 by ``decline`` (distances rise); untrained floor 0.3."""
    rng = np.random.default_rng(seed)
    accuracy = pd.DataFrame({"model": MODELS, "arch": "alexnet_small",
                             "test_acc_pct": [90.9, 90.8, 91.1, 90.6], "chance_pct": 10.0})
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
                          "layer": layer, "units": 20, "dead_a": 0, "dead_b": 0,
                          "semi_mean": level + 0.05, "one_to_one_mean": level,
                          "semi_mean_live": level + 0.05, "one_to_one_mean_live": level})
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


def planted_findings(dataset: str = "fashion_mnist", **kw) -> pd.DataFrame:
    t = planted_tables(**kw)
    return findings(t["accuracy"], t["matching"], LAYERS, DEPTHS, dataset,
                    similarity=t["similarity"], sparse=t["sparse"],
                    mean_activation=t["mean_activation"])


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
    assert conv1["published"] == pytest.approx(0.663) and conv1["interval"] == "networks"
    assert "analogue" in conv1["published_source"]
    assert "conv1: one-to-one matched r (live units) 0.80" in conv1["text"]
    assert ": 0.66" in conv1["text"] and "untrained network 0.30" in conv1["text"]
    for measure in CONVERGENCE:
        trend = _row(df, "convergence", measure, "slope")
        sign = 1 if measure == "procrustes" else -1
        assert trend["ci_low"] < sign * 0.3 < trend["ci_high"], measure
        assert trend["verdict"] == "contradicted" and trend["p_holm"] <= 0.05, measure
        assert "networks grow less alike with depth" in trend["text"], measure
        assert "Holm-adjusted over 10 trends" in trend["text"]
        conv = _row(df, "convergence", measure, "slope (conv)")  # conv1 → conv5 alone
        assert conv["ci_low"] < sign * 0.3 < conv["ci_high"] and "conv1 → conv5" in conv["text"]


def test_a_flat_profile_is_inconclusive_never_no_effect_and_a_rise_grows_alike():
    flat = _row(planted_findings(decline=0.0), "convergence", "linear_cka", "slope")
    assert flat["ci_low"] < 0 < flat["ci_high"] and flat["verdict"] == "inconclusive"
    assert "cannot tell" in flat["text"] and "no effect" not in flat["text"]
    rise = _row(planted_findings(decline=-0.3), "convergence", "linear_cka", "slope")
    assert rise["ci_low"] > 0 and "networks grow more alike" in rise["text"]


def test_the_other_sections_report_the_planted_numbers():
    df = planted_findings()
    acc = _row(df, "accuracy", "test_top1_pct")
    assert acc["value"] == pytest.approx(90.85) and acc["ci_low"] < 90.85 < acc["ci_high"]
    assert acc["chance"] == 10 and "chance 10.0 %" in acc["text"]
    assert _row(df, "accuracy", "spread_pp")["value"] == pytest.approx(0.5)
    best = _row(df, "sparse_prediction", "loss_best (λ=0.0001)", "conv1")
    assert best["value"] == pytest.approx(0.18) and best["published"] == pytest.approx(0.162)
    assert _row(df, "sparse_prediction", "loss_dense (λ=0)", "conv2")["value"] == pytest.approx(0.3)
    top = _row(df, "mean_activation", "top_overlap", "fc7")
    assert top["value"] == pytest.approx(0.5) and top["chance"] == pytest.approx(0.1)
    ident = _row(df, "layer_identification", "linear_cka")
    assert ident["value"] == pytest.approx(100) and ident["chance"] == pytest.approx(100 / 7)
    assert "defined at 7 of 7 layers" in ident["text"] and "chance 14.3 %" in ident["text"]
    # Kornblith et al.'s Tiny-10 CNNs on CIFAR-10 are no counterpart of these networks
    assert np.isnan(ident["published"])
    assert ident["published_source"] == "no published counterpart"


def test_published_values_only_where_they_apply():
    """A study of alexnet_small on another dataset (no documented analogue) shows none."""
    df = planted_findings(dataset="mnist_like")
    conv1 = _row(df, "convergence", "matched_correlation", "conv1")
    assert np.isnan(conv1["published"]) and "Li et al." not in conv1["text"]
    acc = _row(df, "accuracy", "test_top1_pct")
    assert "no published counterpart" in acc["text"] and np.isnan(acc["published"])
    md = findings_markdown(df, "Study abc: planted.")
    assert "no published counterpart" in md and "Li et al." not in md.split("### Sparse")[0]


def test_networks_near_chance_and_imported_networks_are_said_so():
    t = planted_tables()
    acc = t["accuracy"].assign(model=[f"ckpt-r{k}" for k in range(4)],
                               test_acc_pct=[8.9, 11.2, 9.5, 10.4])
    df = findings(acc, None, LAYERS, DEPTHS, "fashion_mnist")
    near = _row(df, "accuracy", "networks_near_chance")
    assert near["value"] == 4 and "near chance" in near["text"]
    assert df.iloc[0]["measure"] == "networks_near_chance"  # the first line says so
    top1 = _row(df, "accuracy", "test_top1_pct")
    assert "4 imported networks" in top1["text"] and 0 < top1["ci_low"] < top1["ci_high"] < 100
    from convergent.tables.findings import header
    line = header("abc", acc, "fashion_mnist", "2000 test images", LAYERS, 0.95)
    assert "4 imported" in line and "trained here" not in line


def test_dead_units_are_in_the_open():
    t = planted_tables()
    m = t["matching"]
    # network i0 has 2 of its 20 units dead, the others none
    match = m.assign(dead_a=np.where(m["model_a"] == MODELS[0], 2, 0), dead_b=0,
                     semi_mean=0.6, semi_mean_live=0.65)
    df = findings(t["accuracy"], match, LAYERS, DEPTHS, "fashion_mnist")
    dead = _row(df, "dead_units", "dead_fraction", "conv1")
    assert dead["value"] == pytest.approx(0.025)  # 10 % in one of four networks
    assert "0%–10%" in dead["text"] and "over live units 0.65" in dead["text"]
    assert "as r = 0 (the all-unit mean) 0.60" in dead["text"]


def test_without_similarity_the_matching_table_gives_convergence_over_networks():
    t = planted_tables()
    df = findings(t["accuracy"], t["matching"], LAYERS, DEPTHS, "fashion_mnist")
    conv = df[df["section"] == "convergence"]
    assert set(conv["measure"]) == {"semi_matched_correlation", "matched_correlation"}
    assert set(conv["interval"]) == {"networks"} and conv["untrained"].isna().all()


def test_markdown_and_html_show_every_finding():
    df = planted_findings()
    md = findings_markdown(df, "Study abc: planted.")
    assert md.startswith(MARKER) and "### Convergence by depth" in md
    headline = df["headline"].astype(bool)
    assert all(f"- {text}" in md for text in df.loc[headline, "text"])
    # every convergence number is in the layers × measures tables, with its floors
    lines = md.splitlines()
    conv1 = [line for line in lines if line.startswith("| conv1 |")]
    assert conv1[0].count("0.80 [") == 4 and conv1[0].endswith("| 0.70 / 0.66 |")
    assert conv1[1] == "| conv1 |" + " 0.30 / 0.05 |" * 5
    page = findings_html(df, "Study abc: planted.")
    assert page.count('<table class="findings">') == df["section"].nunique()
    assert all(text.replace("'", "&#x27;") in page for text in df["text"])


def test_table_pages_name_models_alike_and_scroll_sideways():
    """Every table of the report: architecture first, then the model by its name within it
    (the accuracy table stores ``arch/model`` beside ``arch``; pair tables ``arch_a``), in a
    box that scrolls when the table is wider than the page."""
    accuracy = pd.DataFrame({"model": ["mycnn/ckpt-x", "mycnn/i0-d0"], "arch": "mycnn",
                             "test_acc_pct": [90.0, 91.0]})
    pairs = pd.DataFrame({"arch_a": ["mycnn"], "arch_b": ["resnet18"], "model_a": ["ckpt-x"],
                          "model_b": ["resnet18/ckpt-y"], "value": [0.5]})
    assert list(model_columns(accuracy).columns[:2]) == ["architecture", "model"]
    assert list(model_columns(accuracy)["model"]) == ["ckpt-x", "i0-d0"]
    shown = model_columns(pairs)
    assert list(shown.columns[:2]) == ["architecture_a", "architecture_b"]
    assert list(shown["model_a"]) == ["ckpt-x"] and list(shown["model_b"]) == ["ckpt-y"]
    page = csv_html(accuracy, "accuracy")
    assert '<div class="wide"><table class="csv">' in page and "mycnn/" not in page
    assert "overflow-x: auto" in page


def test_csv_page_shows_every_cell():
    df = pd.DataFrame({"layer": ["conv1", "fc7"], "value": [0.123456, np.nan], "n": [3, 4]})
    page = csv_html(df, "t")
    assert page.count("<tr>") == 3 and "0.1235" in page and ">conv1<" in page


def test_csv_page_keeps_short_texts_on_one_line_and_lets_prose_wrap():
    """A device name beside a 64-character hash was squeezed to one word a line; prose (a
    reason) still wraps."""
    device, reason = "CPU: AMD EPYC (x86_64, AVX2)", "undefined: " + "n < 2 × rank; " * 5
    page = csv_html(pd.DataFrame({"device": [device], "reason": [reason]}), "t")
    assert f'<td class="short">{html.escape(device)}</td>' in page
    assert f"<td>{html.escape(reason)}</td>" in page
    assert "td.short { white-space: nowrap; }" in page


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


def test_the_readme_head_is_the_first_lines_of_its_findings_block():
    """The README's first screen shows the findings' first lines (study, accuracy, the layer
    table): the lines scripts/readme_findings.py takes from the block, each one of them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "readme_findings", ROOT / "scripts" / "readme_findings.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    text = (ROOT / "README.md").read_text()
    start = text.index(script.HEAD)
    head = text[start:text.index(script.HEAD_END, start)].rstrip("\n")
    block, _ = readme_block()
    assert head == script.head(block)
    assert start < text.index(MARKER)  # above the block, on the first screen
    lines = head.splitlines()
    assert lines[1].startswith("Study ") and any("test top-1" in line for line in lines)
    assert sum(line.startswith("| conv") for line in lines) >= 1
    assert all(line in block.splitlines() for line in lines[1:])
