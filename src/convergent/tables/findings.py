"""The study's findings: its answers with numbers and intervals, each beside its floors and the
published value where one applies.

One long table, ``findings.csv``: a row per number (section, architecture, layer, measure,
value, interval, the floors it should be read against, the published value, the test and its
verdict) with the sentence that says what it shows and no more.  :mod:`convergent.tables.render`
draws it as Markdown (``findings.md``, the README's copy) and as HTML tables (the report).

Intervals are over networks, the study's independent unit
(:mod:`convergent.analysis.inference`: delete-one-network jackknife with the probe images'
variance added, Student t); accuracies get a t interval over seeds on the logit scale.  The
trends over depth are tests (:mod:`convergent.analysis.verdicts`), Holm-adjusted over all the
trends of the findings; a sentence states a trend only where the adjusted test supports it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import paper
from convergent.analysis import inference
from convergent.analysis.measures import display, orientation
from convergent.analysis.statistics import interval_sd
from convergent.analysis.verdicts import CONTRADICTED, SUPPORTED, adjusted, decide
from convergent.tables import findings_sections
from convergent.tables.finding import (
    COLUMNS,
    SEEDS,
    ci_text,
    decision_values,
    estimate_values,
    finding,
    label_of,
    network_id,
)
from convergent.tables.neural import neural_rows
from convergent.tables.validation import findings_rows as validation_findings

#: section key -> title, in the order they are shown
SECTIONS = {
    "accuracy": "Accuracy",
    "convergence": "Convergence by depth",
    "dead_units": "Dead units",
    "sparse_prediction": "Sparse prediction (Li et al. 2016, Table 1)",
    "mean_activation": "Most and least active units",
    "layer_identification": "Layer identification (Kornblith et al. 2019, Table 2)",
    "claims": "The commentary's claims, tested (Dong, Wang & Hu 2018)",
    "neural": "Neural predictivity across seeds",
    "validation": "Which measure to trust here (measure validation, docs/validation.md)",
}

#: the measures of the convergence section, in its order
CONVERGENCE = ("semi_matched_correlation", "matched_correlation", "linear_cka", "svcca_rho",
               "procrustes")
PUBLISHED_CONVERGENCE = {
    "semi_matched_correlation": paper.LI2016_SEMI_MATCHING,
    "matched_correlation": paper.LI2016_ONE_TO_ONE,
}
#: pairs whose networks differ in their seeds (not replicates, perturbations or conditions)
SEED_SOURCES = ("init", "data", "init+data")
#: a network whose test accuracy is below this multiple of chance has not learned the task
NEAR_CHANCE = 1.5


# ------------------------------------------------------------------ header and accuracy
def header(study: str, accuracy: pd.DataFrame, dataset: str, probe: str, layers: Sequence[str],
           level: float, recorded: int = 0) -> str:
    """The line that says which study the findings are of: how many networks were trained
    here, how many imported and how many models are activations recorded elsewhere (no
    network: ``recorded``), on what, compared where; the interval conventions."""
    names = accuracy["model"].astype(str)
    imported = names.str.contains("ckpt-").to_numpy()
    parts = []
    if (~imported).any():
        parts.append(f"{int((~imported).sum())} trained here on {dataset}")
    if imported.any():
        parts.append(f"{int(imported.sum())} imported (trained elsewhere)")
    if recorded:
        parts.append(f"{recorded} recorded elsewhere (activations only)")
    archs = ", ".join(dict.fromkeys(accuracy["arch"])) or "no networks"
    return (f"Study {study}: {len(accuracy) + recorded} models ({archs}): "
            f"{' and '.join(parts)}; "
            f"compared on {probe} at {', '.join(layers)}. Intervals at {level:.0%}: networks = "
            "t over networks (jackknife, probe images' variance added); seeds = t over seeds "
            "on the logit scale. Trends are two-sided t tests, Holm-adjusted over the "
            "findings' trends.")


def accuracy_rows(acc: pd.DataFrame, dataset: str, level: float = 0.95) -> list[dict]:
    """Per architecture (and training condition): mean test top-1 over seeds with its interval
    (logit t, within [0, 100]) and spread; networks near chance are flagged first."""
    rows = []
    acc = acc.assign(label=[label_of(a, m) for a, m in zip(acc["arch"], acc["model"],
                                                           strict=True)])
    for label, g in acc.groupby("label", sort=False):
        pct = g["test_acc_pct"].to_numpy(float)
        chance = float(g["chance_pct"].iloc[0]) if "chance_pct" in g else np.nan
        imported = g["model"].astype(str).str.contains("ckpt-").all()
        kind = "imported networks" if imported else "seeds"
        arch = str(g["arch"].iloc[0])
        source = paper.applies(paper.LI2016, arch, dataset)
        lo_pub, hi_pub = paper.LI2016_TOP1
        near = np.isfinite(chance) and (pct < NEAR_CHANCE * chance)
        if near.any():
            rows.append(finding(
                "accuracy", f"{label}: {int(near.sum())} of {len(pct)} networks are near chance "
                f"({chance:.1f} %): they have not learned the task, and their similarities "
                "describe architecture and input statistics, not learned features.",
                architecture=label, measure="networks_near_chance", value=float(near.sum()),
                chance=chance, note="near chance"))
        lo, hi = inference.logit_t_interval(pct, level)
        text = (f"{label}: test top-1 {pct.mean():.2f} % {ci_text(lo, hi)} over {len(pct)} "
                f"{kind} (range {pct.min():.2f}–{pct.max():.2f} %; chance {chance:.1f} %)")
        text += (f"; {source}: {lo_pub}–{hi_pub} %." if source else
                 "; no published counterpart.")
        rows.append(finding(
            "accuracy", text, architecture=label, measure="test_top1_pct",
            value=float(pct.mean()), ci_low=lo, ci_high=hi, interval=SEEDS, chance=chance,
            published=(lo_pub + hi_pub) / 2 if source else np.nan,
            published_source=source or "no published counterpart"))
        spread = float(pct.max() - pct.min())
        rows.append(finding(
            "accuracy", f"{label}: the {kind}' accuracies spread over {spread:.2f} percentage "
            "points" + (f" ({source}: {hi_pub - lo_pub:.2f})." if source else "."),
            architecture=label, measure="spread_pp", value=spread, interval="-",
            published=round(hi_pub - lo_pub, 2) if source else np.nan,
            published_source=source or "no published counterpart"))
    return rows


# ------------------------------------------------------------------ convergence by depth
def similarity_inputs(rows: pd.DataFrame, level: float = 0.95
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """From the long similarity table: the seed pairs' per-layer values of the convergence
    measures with the standard deviation of their block bootstrap (from its ``level``
    interval) and their networks, the untrained baseline and the shuffled null."""
    per_layer = rows[(rows["analysis"] == "per_layer") & rows["measure"].isin(CONVERGENCE)]
    within = per_layer[(per_layer["comparison"] == "within")
                       & per_layer["source"].isin(SEED_SOURCES)]
    pairs = within[within["kind"] == "pair"].assign(
        architecture=lambda d: [label_of(a, m) for a, m in zip(d["arch_a"], d["model_a"],
                                                               strict=True)],
        layer=lambda d: d["layer_a"],
        net_a=lambda d: [network_id(a, m) for a, m in zip(d["arch_a"], d["model_a"],
                                                         strict=True)],
        net_b=lambda d: [network_id(a, m) for a, m in zip(d["arch_b"], d["model_b"],
                                                         strict=True)],
        sd=lambda d: interval_sd(d["ci_low"], d["ci_high"], level),
    )
    pairs["pair"] = pairs["net_a"] + "__" + pairs["net_b"]
    untrained = per_layer[(per_layer["comparison"] == "untrained") & (per_layer["kind"] == "pair")]
    return (pairs[["architecture", "pair", "net_a", "net_b", "layer", "measure", "value", "sd"]],
            _layer_means(untrained), _layer_means(within[within["kind"] == "shuffled"]))


def _layer_means(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean value per architecture, layer and measure (a floor: untrained or shuffled)."""
    return (rows.groupby(["arch_a", "layer_a", "measure"])["value"].mean()
            .rename_axis(["architecture", "layer", "measure"]).reset_index())


def matching_inputs(per_pair: pd.DataFrame) -> pd.DataFrame:
    """The matched correlations of the matching table over live units (no per-pair interval:
    sd 0), when there is no similarity table."""
    value_vars = {"semi_mean_live": "semi_matched_correlation",
                  "one_to_one_mean_live": "matched_correlation"}
    if "semi_mean_live" not in per_pair:  # a table written before live means existed
        value_vars = {k.removesuffix("_live"): v for k, v in value_vars.items()}
    long = per_pair.melt(id_vars=["architecture", "model_a", "model_b", "layer"],
                         value_vars=list(value_vars), var_name="measure")
    long["measure"] = long["measure"].map(value_vars)
    long["net_a"] = [network_id(a, m) for a, m in zip(long["architecture"], long["model_a"],
                                                       strict=True)]
    long["net_b"] = [network_id(a, m) for a, m in zip(long["architecture"], long["model_b"],
                                                       strict=True)]
    long["pair"] = long["net_a"] + "__" + long["net_b"]
    long["architecture"] = [label_of(a, m) for a, m in zip(long["architecture"],
                                                            long["model_a"], strict=True)]
    return long.assign(sd=0.0)[["architecture", "pair", "net_a", "net_b", "layer", "measure",
                                "value", "sd"]]


def _floor(floor: pd.DataFrame | None, arch: str, layer: str, measure: str) -> float:
    if floor is None or floor.empty:
        return np.nan
    arch = arch.split(" (")[0]
    hit = floor[(floor["architecture"] == arch) & (floor["layer"] == layer)
                & (floor["measure"] == measure)]
    return float(hit["value"].iloc[0]) if len(hit) else np.nan


def pair_table(g: pd.DataFrame, order: Sequence[str], column: str = "value"
               ) -> tuple[np.ndarray, list[inference.Pair]]:
    """(pairs × layers array of ``column``, each row's two networks) of one group's rows."""
    wide = g.pivot_table(index=["net_a", "net_b"], columns="layer", values=column,
                         dropna=False).reindex(columns=list(order))
    return wide.to_numpy(float), [tuple(i) for i in wide.index]


def _layer_sentence(measure: str, layer: str, value: float, lo: float, hi: float,
                    published: float, source: str | None, untrained: float, shuffled: float
                    ) -> str:
    text = f"{layer}: {display(measure)} {value:.2f} {ci_text(lo, hi)}"
    if source and np.isfinite(published):
        text += f"; {source}: {published:.2f}"
    floors = [f"{name} {v:.2f}" for name, v in (("untrained network", untrained),
                                                ("shuffled images", shuffled)) if np.isfinite(v)]
    return text + (f" (floors: {', '.join(floors)})." if floors else ".")


def convergence_rows(pairs: pd.DataFrame, layers: Sequence[str],
                     depths: dict[str, dict[str, float]], untrained: pd.DataFrame | None,
                     shuffled: pd.DataFrame | None, dataset: str, level: float) -> list[dict]:
    """Per architecture and measure: each layer's mean over pairs with its interval over
    networks and its floors, then the slope of that mean over relative depth (0 = first
    read-out, 1 = last) as a two-sided test, over every layer and over the conv layers."""
    rows = []
    order_of = {m: k for k, m in enumerate(CONVERGENCE)}
    groups = sorted(pairs.groupby(["architecture", "measure"], sort=False),
                    key=lambda kv: order_of[kv[0][1]])
    for (label, measure), g in groups:
        arch = label.split(" (")[0]
        order = [layer for layer in layers if layer in set(g["layer"])]
        values, ids = pair_table(g, order)
        sd, _ = pair_table(g, order, "sd")
        if not np.isfinite(values).any():  # e.g. basis measures on PCA-reduced layers
            continue
        source = paper.applies(paper.LI2016, arch, dataset)
        for k, layer in enumerate(order):
            est = inference.estimate(inference.layer_mean(k), [values], [ids], [sd])
            if not np.isfinite(est.value):
                continue
            lo, hi = est.interval(level)
            pub = PUBLISHED_CONVERGENCE.get(measure, {}).get(layer, np.nan) if source else np.nan
            u, s = _floor(untrained, label, layer, measure), _floor(shuffled, label, layer,
                                                                    measure)
            rows.append(finding(
                "convergence", _layer_sentence(measure, layer, est.value, lo, hi, pub, source,
                                               u, s),
                headline=False, architecture=label, layer=layer, measure=measure,
                **estimate_values(est, level), untrained=u, shuffled=s, published=pub,
                published_source=(source if np.isfinite(pub) else "no published counterpart")))
        # over every compared layer, and over the conv layers alone (Li et al.'s claim is
        # about conv1-conv5; fully connected layers can reverse the trend)
        spans = {"slope": list(range(len(order)))}
        conv = [k for k, layer in enumerate(order) if layer.startswith("conv")]
        if 1 < len(conv) < len(order):
            spans["slope (conv)"] = conv
        for name, ks in spans.items():
            if len(ks) < 2:
                continue
            depth = [depths[arch][order[k]] for k in ks]
            sub, sub_sd = values[:, ks], sd[:, ks]
            est = inference.estimate(inference.depth_slope(depth), [sub], [ids], [sub_sd])
            # oriented: a positive slope means more alike with depth, for distances too
            oriented = inference.Estimate(orientation(measure) * est.value, est.se, est.df,
                                          est.units)
            decision = decide(oriented, "> 0", alpha=1 - level)
            rows.append(finding(
                "convergence", "", architecture=label, layer=name, measure=measure,
                **estimate_values(est, level), **decision_values(decision),
                note=f"{order[ks[0]]} → {order[ks[-1]]}", _decision=decision))
    return rows


def trend_sentences(rows: list[dict], level: float) -> None:
    """Holm-adjust the slopes' tests over all of them and write their sentences: a trend is
    stated only where the adjusted test supports it."""
    slopes = [r for r in rows if "_decision" in r]
    decisions = [r.pop("_decision") for r in slopes]
    p_holm, verdicts = adjusted(decisions, 1 - level)
    for r, d, q, verdict in zip(slopes, decisions, p_holm, verdicts, strict=True):
        r["p_holm"], r["verdict"] = q, verdict
        trend = {SUPPORTED: "networks grow more alike with depth",
                 CONTRADICTED: "networks grow less alike with depth"}.get(
            verdict, "the study cannot tell whether networks grow more or less alike with "
                     "depth (inconclusive)")
        p_text = (f"p = {d.p:.2g}, Holm-adjusted over {len(slopes)} trends p = {q:.2g}"
                  if np.isfinite(q) else "too few networks for a test")
        r["text"] = (f"{display(r['measure'])} over depth ({r['note']}): slope "
                     f"{r['value']:+.2f} {ci_text(r['ci_low'], r['ci_high'])} per unit of "
                     f"relative depth; {d.method}, {p_text}: {trend}.")


# ------------------------------------------------------------------ assembly
def findings(
    accuracy: pd.DataFrame,
    matching: pd.DataFrame | None,
    layers: Sequence[str],
    depths: dict[str, dict[str, float]],
    dataset: str,
    similarity: pd.DataFrame | None = None,
    sparse: pd.DataFrame | None = None,
    mean_activation: pd.DataFrame | None = None,
    claims: pd.DataFrame | None = None,
    neural: pd.DataFrame | None = None,
    level: float = 0.95,
    validation: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The findings table from the study's tables (the optional ones when configured; the
    matching table is read when there is no similarity table); ``depths``: each architecture's
    relative depth of each layer; ``dataset``: the name published values are matched on."""
    rows = accuracy_rows(accuracy, dataset, level)
    if similarity is not None:
        pairs, untrained, shuffled = similarity_inputs(similarity, level)
        rows += convergence_rows(pairs, layers, depths, untrained, shuffled, dataset, level)
    elif matching is not None:
        rows += convergence_rows(matching_inputs(matching), layers, depths, None, None,
                                 dataset, level)
    trend_sentences(rows, level)
    rows += findings_sections.dead_unit_rows(similarity, matching, layers, level)
    if sparse is not None:
        rows += findings_sections.sparse_rows(sparse, layers, dataset, level)
    if mean_activation is not None:
        rows += findings_sections.mean_activation_rows(mean_activation, layers, level)
    if similarity is not None:
        rows += findings_sections.layer_identification_rows(similarity, dataset, level)
    if claims is not None:
        rows += findings_sections.claim_rows(claims)
    if neural is not None:
        rows += neural_rows(neural, level)
    if validation is not None:
        rows += validation_findings(validation)
    return pd.DataFrame(rows, columns=list(COLUMNS))
