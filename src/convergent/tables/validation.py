"""Which measure to trust on these networks: every measure's tests at every layer in one table
(``tables/validation.csv``), and the findings' sentences that name the measures passing all of
them (docs/validation.md).

One row per architecture, layer and measure:

* group separation (from the similarity table's per-layer seed and condition pairs): AUPRC,
  its chance level, violation rate, the permutation p-value and the smallest p the networks
  allow; passes at p ≤ ``alpha``;
* monotonicity (from the per-network perturbation tables): the share of networks whose
  similarity falls at every step of the principal-component deletions and of the noise levels;
  passes when both fall in every network;
* probe: the median over networks of Spearman ρ between the similarity and a linear probe's
  accuracy over the perturbations; passes at ρ ≥ ``min_probe_spearman``;
* layer identification (from the layer × layer rows): how often the corresponding layer of
  the other network is the unique most similar one (%), beside chance 1/L; passes at
  ``min_identification`` or more.

A pass column is 1 or 0, NaN where the test could not be made (one training condition, no layer ×
layer rows) or the measure is undefined (``undefined`` says why); ``passes`` is 1 where all four
are 1, 0 where one is 0, NaN otherwise (no test failed, but not every one could be made).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from convergent.analysis.measures import MEASURES, display, orientation
from convergent.analysis.validation import falls, group_separation
from convergent.study import BASE_CONDITION, condition_of
from convergent.tables.finding import finding
from convergent.tables.similarity import layer_identification_hits

#: the tests, in the table's and the figure's order: (pass column, its name in sentences)
TESTS = {"separation_pass": "group separation", "monotone_pass": "monotonicity",
         "probe_pass": "probe rank correlation", "identification_pass": "layer identification"}
COLUMNS = ["architecture", "layer", "depth", "measure", "display", "separation_auprc",
           "separation_chance", "violation_rate", "separation_p", "separation_min_p",
           "within_pairs", "across_pairs", "separation_pass", "pc_falls", "noise_falls",
           "networks", "monotone_pass", "probe_spearman", "probe_pass", "identification_pct",
           "identification_chance_pct", "identification_pass", "passes", "undefined"]
#: pairs whose networks differ in their seeds or their training condition (not replicates or
#: one-bit perturbations: those are controls of another question)
PAIR_SOURCES = ("init", "data", "init+data", "condition")


@dataclass(frozen=True)
class Criteria:
    """When a measure passes (config ``validation``): the separation test's level and its
    permutations, the least probe rank correlation and identification rate."""

    alpha: float
    permutations: int
    seed: int
    min_probe_spearman: float
    min_identification: float


def _condition(model: str) -> str:
    return condition_of(model) or BASE_CONDITION


def separation(similarity: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """Group separation per architecture, layer and measure from the per-layer pair rows of
    trained networks of one architecture (seed pairs within a condition, condition pairs)."""
    rows = similarity[(similarity["analysis"] == "per_layer") & (similarity["kind"] == "pair")
                      & (similarity["comparison"] == "within")
                      & similarity["source"].isin(PAIR_SOURCES)
                      & similarity["measure"].isin(list(MEASURES))]
    out = []
    for (arch, layer, measure), g in rows.groupby(["arch_a", "layer_a", "measure"], sort=False):
        values = {(a, b): orientation(measure) * v
                  for a, b, v in zip(g["model_a"], g["model_b"], g["value"], strict=True)}
        nets = {m for pair in values for m in pair}
        sep = group_separation(values, {m: _condition(m) for m in nets}, criteria.permutations,
                               criteria.seed)
        out.append({"architecture": arch, "layer": layer, "measure": measure,
                    "separation_auprc": sep.auprc, "separation_chance": sep.chance,
                    "violation_rate": sep.violation_rate, "separation_p": sep.p_value,
                    "separation_min_p": sep.min_p, "within_pairs": sep.within,
                    "across_pairs": sep.across,
                    "separation_pass": (float(sep.p_value <= criteria.alpha)
                                        if np.isfinite(sep.p_value) else np.nan),
                    "undefined": next((w for w in g["undefined"].fillna("") if w), "")})
    return pd.DataFrame(out)


def monotonicity(perturbations: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """Per architecture, layer and measure: the share of networks whose similarity falls at
    every deletion step and every noise step, and the median probe rank correlation."""
    per_net = []
    keys = ["architecture", "model", "layer", "measure"]
    for (arch, _model, layer, measure), g in perturbations.groupby(keys, sort=False):
        v = orientation(measure) * g["value"].to_numpy(float)
        family = g["family"].to_numpy()
        order = np.argsort(g["level"].to_numpy(float), kind="stable")
        series = {f: v[order][np.isin(family[order], ["none", f])] for f in ("pc_deletion",
                                                                           "noise")}
        rho = (spearmanr(v, g["probe_accuracy"]).statistic
               if np.isfinite(v).all() and np.ptp(v) > 0 else np.nan)
        per_net.append({"architecture": arch, "layer": layer, "measure": measure,
                        "pc": falls(series["pc_deletion"]), "noise": falls(series["noise"]),
                        "rho": rho, "defined": bool(np.isfinite(v).all()),
                        "why": next((w for w in g["undefined"].fillna("") if w), "")})
    nets = pd.DataFrame(per_net)
    out = []
    for (arch, layer, measure), g in nets.groupby(["architecture", "layer", "measure"],
                                                  sort=False):
        defined = g["defined"].all()
        rho = float(np.median(g["rho"])) if g["rho"].notna().all() else np.nan
        out.append({"architecture": arch, "layer": layer, "measure": measure,
                    "pc_falls": g["pc"].mean() if defined else np.nan,
                    "noise_falls": g["noise"].mean() if defined else np.nan,
                    "networks": len(g),
                    "monotone_pass": float((g["pc"] & g["noise"]).all()) if defined else np.nan,
                    "probe_spearman": rho,
                    "probe_pass": (float(rho >= criteria.min_probe_spearman)
                                   if np.isfinite(rho) else (np.nan if not defined else 0.0)),
                    "undefined": next((w for w in g["why"] if w), "")})
    return pd.DataFrame(out)


def identification(similarity: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """Per architecture, layer and measure: how often the layer's corresponding layer in the
    other network is its unique most similar one (both directions, every seed pair)."""
    out = []
    lbl = similarity[similarity["analysis"] == "layer_by_layer"]
    for (arch, measure), (_, hits) in layer_identification_hits(similarity).items():
        g = lbl[lbl["arch_a"] == arch]
        layers = g.drop_duplicates("layer_a").sort_values("depth_a")["layer_a"].tolist()
        h = np.array(hits)
        n = len(layers)
        for k, layer in enumerate(layers):
            trials = np.r_[h[:, k], h[:, n + k]]
            pct = 100 * float(np.nanmean(trials)) if np.isfinite(trials).any() else np.nan
            out.append({"architecture": arch, "layer": layer, "measure": measure,
                        "identification_pct": pct, "identification_chance_pct": 100 / n,
                        "identification_pass": (float(pct >= 100 * criteria.min_identification)
                                                if np.isfinite(pct) else np.nan)})
    return pd.DataFrame(out)


def validation_table(similarity: pd.DataFrame, perturbations: pd.DataFrame,
                     criteria: Criteria) -> pd.DataFrame:
    """Every test of every measure at every layer (the module docstring's columns)."""
    keys = ["architecture", "layer", "measure"]
    parts = [separation(similarity, criteria), monotonicity(perturbations, criteria),
             identification(similarity, criteria)]
    table = None
    for part in parts:
        if part.empty:
            continue
        table = part if table is None else table.merge(part, on=keys, how="outer",
                                                       suffixes=("", "_2"))
        if "undefined_2" in table:
            table["undefined"] = [a if isinstance(a, str) and a else b for a, b in
                                  zip(table["undefined"], table.pop("undefined_2"), strict=True)]
    table = table.reindex(columns=COLUMNS)
    depth = similarity.drop_duplicates(["arch_a", "layer_a"]).set_index(["arch_a", "layer_a"])
    table["depth"] = [depth["depth_a"].get((a, layer), np.nan)
                      for a, layer in zip(table["architecture"], table["layer"], strict=True)]
    table["display"] = table["measure"].map(display)
    table["undefined"] = table["undefined"].fillna("")
    verdicts = table[list(TESTS)]
    table["passes"] = np.where((verdicts == 0).any(axis=1), 0.0,
                               np.where((verdicts == 1).all(axis=1), 1.0, np.nan))
    order = {m: k for k, m in enumerate(MEASURES)}
    table["_order"] = table["measure"].map(order)
    return (table.sort_values(["architecture", "depth", "_order"]).drop(columns="_order")
            .reset_index(drop=True))


def findings_rows(table: pd.DataFrame) -> list[dict]:
    """Per architecture and layer: the measures that pass every test, and how many pass each
    (the findings' "Which measure to trust" section)."""
    rows = []
    for (arch, layer), g in table.groupby(["architecture", "layer"], sort=False):
        passing = [display(m) for m in g.loc[g["passes"] == 1, "measure"]]
        counts = "; ".join(f"{name} {int((g[col] == 1).sum())}" for col, name in TESTS.items())
        names = ", ".join(passing) if passing else "none"
        untestable = [name for col, name in TESTS.items() if g[col].isna().all()]
        text = (f"{layer}: {len(passing)} of {len(g)} measures pass every test: {names} "
                f"(passing each: {counts})"
                + (f"; not testable at this layer: {', '.join(untestable)}." if untestable
                   else "."))
        rows.append(finding("validation", text, architecture=arch, layer=layer,
                            measure="measures_passing", value=float(len(passing)),
                            note=f"of {len(g)} measures"))
    return rows
