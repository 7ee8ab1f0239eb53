"""The commentary's claims (Dong, Wang & Hu 2018, on Li et al. 2016), tested on the study's pairs.

Each claim is an effect computed from cells of pairs of networks — pairs that differ in the
initialisation only, in the data order only, in both, in nothing (replicates), in the
architecture, or that were trained under another condition — with a bootstrap interval over the
pairs and, within each pair, its probe-block bootstrap (``pairs+blocks``:
:func:`convergent.analysis.statistics.pairs_and_blocks`; two cells are resampled
independently), and a verdict (:mod:`convergent.analysis.verdicts`).  Effects are in the
measure's units, oriented so that larger means more alike (a distance's sign is flipped).

Beside each effect: the similarity of the pairs the claim is about (e.g. the init-only pairs
of claim d, the cross-architecture pairs of claim e), its floors — the untrained-network
baseline (what architecture and input statistics alone give) and the shuffled-image null of the
same pairs — and the learned share, (similarity − untrained) / (similarity − shuffled) clipped
to [0, 1]: how much of the similarity above the null training added.  Under the ``positions``
convention the shuffled null keeps the spatial layout (images are shuffled, positions are not),
so it is above zero in conv layers.

Pairs are independent when no network is in two of them (``pairing: consecutive``); under
``pairing: all`` a cell's pairs share networks and its intervals are too narrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from convergent.analysis.networks import grouping_test
from convergent.analysis.similarity import HIGHER_IS_MORE_SIMILAR
from convergent.analysis.statistics import interval_sd, pairs_and_blocks, percentile_ci, slope
from convergent.analysis.verdicts import difference_draws, verdict
from convergent.study import BASE_CONDITION
from convergent.study import condition_of as study_condition
from convergent.tables.findings import Resampling

COLUMNS = ("claim", "statement", "architecture", "measure", "layers", "cells", "pairs", "effect",
           "ci_low", "ci_high", "interval", "test", "verdict", "similarity", "similarity_b",
           "untrained", "shuffled", "learned_share", "text")

#: claim id -> what it says (the sentence the verdict is about)
CLAIMS = {
    "a": "Convergence falls with depth (Li et al. 2016)",
    "b": "Higher layers are less linearly predictable from another seed (Li et al. 2016)",
    "c": "The most and least active units differ across nets (Li et al. 2016)",
    "d": "Initialisation alone produces divergence above the replicate floor (the commentary)",
    "d2": "Initialisation alone diverges about as much as varying both seeds (the commentary)",
    "d3": "Data order alone produces divergence above the replicate floor (context)",
    "e": "Different architectures diverge more than seeds of one architecture (the commentary)",
    "f": "More stimulus variation makes seeds converge (Hong et al. 2016; the commentary: no)",
}
#: the measure each fixed-measure claim is tested with
PREDICTABILITY, ACTIVITY = "regression_r2", "mean_activation_rank"
SEEDS = ("init", "data", "init+data")


@dataclass(frozen=True)
class Cell:
    """Pairs of one kind for one measure: values and block-bootstrap SDs (pairs × layers) with
    the shuffled null (pairs × layers) and the untrained baseline per layer."""

    values: pd.DataFrame
    sd: pd.DataFrame
    shuffled: pd.DataFrame
    untrained: pd.Series

    @property
    def pairs(self) -> int:
        return len(self.values)


def condition_of(model: str) -> str:
    """A model's training condition, ``base`` for training as it is (checkpoints too)."""
    return study_condition(model) or BASE_CONDITION


def labelled(rows: pd.DataFrame) -> pd.DataFrame:
    """The per-layer similarity rows with each pair's conditions (``condition`` when both
    models share one, else ``mixed``)."""
    per_layer = rows[rows["analysis"] == "per_layer"].copy()
    ca, cb = per_layer["model_a"].map(condition_of), per_layer["model_b"].map(condition_of)
    untrained = per_layer["comparison"] == "untrained"
    per_layer["condition"] = np.where(untrained | (ca == cb), ca, "mixed")
    per_layer["pair"] = (per_layer["arch_a"] + "/" + per_layer["model_a"] + "__"
                         + per_layer["arch_b"] + "/" + per_layer["model_b"])
    return per_layer


def cell(rows: pd.DataFrame, measure: str, layers: Sequence[str], level: float, *,
         comparison: str, sources: Sequence[str] | None, condition: str,
         archs: Sequence[str] | None = None) -> Cell:
    """The pairs of ``labelled`` rows of one comparison (within | cross), sources and
    condition, at ``layers`` (columns in that order)."""
    g = rows[(rows["measure"] == measure) & (rows["comparison"] == comparison)
             & (rows["condition"] == condition)]
    if sources is not None:
        g = g[g["source"].isin(sources)]
    if archs is not None:
        g = g[g["arch_a"].isin(archs)]
    pair, null = g[g["kind"] == "pair"], g[g["kind"] == "shuffled"]

    def table(d: pd.DataFrame, column: str) -> pd.DataFrame:
        return (d.pivot_table(index="pair", columns="layer_a", values=column, dropna=False)
                .reindex(columns=list(layers)))

    pair = pair.assign(sd=interval_sd(pair["ci_low"], pair["ci_high"], level))
    values = table(pair, "value")
    base = rows[(rows["measure"] == measure) & (rows["comparison"] == "untrained")
                & (rows["kind"] == "pair") & (rows["condition"] == condition)
                & rows["arch_a"].isin(pair["arch_a"].unique())]
    return Cell(values, table(pair, "sd").reindex(values.index).fillna(0.0),
                table(null, "value").reindex(values.index),
                base.groupby("layer_a")["value"].mean().reindex(list(layers)))


def _floors(c: Cell, measure: str) -> dict[str, float]:
    """A cell's similarity over the row's layers, its floors and the learned share
    (s − untrained) / (s − shuffled), clipped to [0, 1] (an untrained network below the
    shuffled null leaves all of it to training); NaN when s is no better than the null."""
    s = float(np.nanmean(c.values.to_numpy()))
    u = float(np.nanmean(c.untrained)) if c.untrained.notna().any() else np.nan
    z = float(np.nanmean(c.shuffled.to_numpy())) if c.shuffled.notna().any().any() else np.nan
    share = np.nan
    if np.isfinite(z) and _sign(measure) * (s - z) > 0:  # a distance: s below the null
        share = float(np.clip((s - u) / (s - z), 0.0, 1.0))
    return {"similarity": s, "untrained": u, "shuffled": z, "learned_share": share}


def _sign(measure: str) -> float:
    return 1.0 if HIGHER_IS_MORE_SIMILAR.get(measure, True) else -1.0


def _draws(c: Cell, measure: str, resampling: Resampling, offset: int = 0) -> np.ndarray:
    """Bootstrap draws (resamples × layers) of the cell's oriented per-layer mean."""
    return _sign(measure) * pairs_and_blocks(c.values.to_numpy(), c.sd.to_numpy(),
                                             resampling.resamples, resampling.seed + offset)


def _row(claim: str, arch: str, measure: str, layers: str, cells: str, pairs: str,
         effect: float, draws: np.ndarray, test: str, margin: float, resampling: Resampling,
         floors: dict[str, float], similarity_b: float = np.nan) -> dict:
    lo, hi = percentile_ci(draws, resampling.level)
    v = verdict(lo, hi, test, margin)
    shown_test = test.replace("margin", f"{margin:g}")
    floor_text = ", ".join(
        f"{name} {floors[key]:.2f}" for key, name in (("untrained", "untrained network"),
                                                        ("shuffled", "shuffled images"))
        if np.isfinite(floors[key]))
    share = floors["learned_share"]
    text = (f"{CLAIMS[claim]} — {measure} at {layers} ({cells}, {pairs} pairs): effect "
            f"{effect:+.3f} [{lo:+.3f}, {hi:+.3f}], test {shown_test}: {v}. Similarity "
            f"{floors['similarity']:.2f}" + (f" (floors: {floor_text}" if floor_text else "")
            + (f"; {share:.0%} of it above chance is learned)" if np.isfinite(share)
               else ")" if floor_text else "") + ".")
    return {"claim": claim, "statement": CLAIMS[claim], "architecture": arch,
            "measure": measure, "layers": layers, "cells": cells, "pairs": pairs,
            "effect": effect, "ci_low": lo, "ci_high": hi, "interval": "pairs+blocks",
            "test": shown_test, "verdict": v, "similarity_b": similarity_b, **floors,
            "text": text}


def _enough(*cells: Cell) -> bool:
    """Every cell has two pairs or more (an interval over pairs needs them)."""
    return all(c.pairs >= 2 and np.isfinite(c.values.to_numpy()).any() for c in cells)


def _seed_cells(rows: pd.DataFrame, measure: str, layers: Sequence[str],
                archs: Sequence[str], level: float) -> list[tuple[str, Cell]]:
    """(architecture, cell) of each architecture's seed pairs (init, data or both differ) of
    the base condition, where there are enough of them."""
    cells = [(arch, cell(rows, measure, layers, level, comparison="within", sources=SEEDS,
                         condition=BASE_CONDITION, archs=[arch])) for arch in archs]
    return [(arch, c) for arch, c in cells if _enough(c)]


def slope_rows(rows: pd.DataFrame, claim: str, measure: str, layers: Sequence[str],
               depths: dict[str, dict[str, float]], resampling: Resampling) -> list[dict]:
    """Claims (a), (b): per architecture, the slope over relative depth of the seed pairs' mean
    (over every layer, and over the conv layers alone)."""
    out = []
    for arch, c in _seed_cells(rows, measure, layers, depths, resampling.level):
        draws = _draws(c, measure, resampling)
        means = _sign(measure) * np.nanmean(c.values.to_numpy(), axis=0)
        spans = {"all layers": list(layers)}
        conv = [layer for layer in layers if layer.startswith("conv")]
        if 1 < len(conv) < len(layers):
            spans["conv layers"] = conv
        for name, span in spans.items():
            ks = [list(layers).index(layer) for layer in span]
            depth = np.array([depths[arch][layer] for layer in span])
            sub = Cell(c.values[span], c.sd[span], c.shuffled[span], c.untrained[span])
            out.append(_row(
                claim, arch, measure, f"{name} ({span[0]}–{span[-1]})", "seed pairs",
                str(c.pairs), float(slope(depth, means[ks])[0]), slope(depth, draws[:, ks]),
                "< 0", 0.0, resampling, _floors(sub, measure)))
    return out


def activity_rows(rows: pd.DataFrame, layers: Sequence[str], archs: Sequence[str],
                  margin: float, resampling: Resampling) -> list[dict]:
    """Claim (c): matched units' rank agreement of mean activation is negligible (|ρ| ≤
    margin, what random partners give), mean over layers."""
    out = []
    for arch, c in _seed_cells(rows, ACTIVITY, layers, archs, resampling.level):
        draws = np.nanmean(_draws(c, ACTIVITY, resampling), axis=1)
        out.append(_row("c", arch, ACTIVITY, "all layers", "seed pairs", str(c.pairs),
                        float(np.nanmean(c.values.to_numpy())), draws, "|·| ≤ margin", margin,
                        resampling, _floors(c, ACTIVITY)))
    return out


def _contrast(claim: str, arch: str, measure: str, layers: Sequence[str], a: Cell, b: Cell,
              names: str, test: str, margin: float, resampling: Resampling,
              subject: str = "a") -> dict:
    """mean(a) − mean(b) over layers, oriented, with independent resamples of the two cells;
    the floors are those of the ``subject`` cell (the pairs whose divergence the claim is
    about), ``similarity_b`` the other cell's similarity."""
    draws = difference_draws(_draws(a, measure, resampling), _draws(b, measure, resampling, 1))
    sign = _sign(measure)
    effect = sign * float(np.nanmean(np.nanmean(a.values.to_numpy(), axis=0)
                                     - np.nanmean(b.values.to_numpy(), axis=0)))
    main, other = (a, b) if subject == "a" else (b, a)
    return _row(claim, arch, measure, "all layers", names, f"{a.pairs} vs {b.pairs}", effect,
                draws, test, margin, resampling, _floors(main, measure),
                float(np.nanmean(other.values.to_numpy())))


def source_rows(rows: pd.DataFrame, measure: str, layers: Sequence[str], archs: Sequence[str],
                margin: float, resampling: Resampling) -> list[dict]:
    """Claims (d), (d2), (d3): replicate floor − init only, init only − both, replicate floor
    − data only, per architecture."""
    out = []
    for arch in archs:
        def of(source: str, arch=arch) -> Cell:
            return cell(rows, measure, layers, resampling.level, comparison="within",
                        sources=[source], condition=BASE_CONDITION, archs=[arch])

        rep, init, data, both = of("replicate"), of("init"), of("data"), of("init+data")
        for claim, a, b, names, test, subject in (
            ("d", rep, init, "replicates vs init only", "> 0", "b"),
            ("d2", init, both, "init only vs both seeds", "|·| ≤ margin", "a"),
            ("d3", rep, data, "replicates vs data only", "> 0", "b"),
        ):
            if _enough(a, b):
                out.append(_contrast(claim, arch, measure, layers, a, b, names, test, margin,
                                     resampling, subject))
    return out


def architecture_rows(rows: pd.DataFrame, measure: str, layers: Sequence[str],
                      resampling: Resampling) -> list[dict]:
    """Claim (e): pairs within an architecture that differ in both seeds (every
    architecture's, pooled) − pairs of different architectures (which differ in both seeds
    too), layer by layer at matched relative depth (same layer names)."""
    within = cell(rows, measure, layers, resampling.level, comparison="within",
                  sources=["init+data"], condition=BASE_CONDITION)
    cross = cell(rows, measure, layers, resampling.level, comparison="cross", sources=None,
                 condition=BASE_CONDITION)
    if not _enough(within, cross):
        return []
    return [_contrast("e", "across", measure, layers, within, cross,
                      "seeds within vs across architectures", "> 0", 0.0, resampling, "b")]


def variation_rows(rows: pd.DataFrame, measure: str, layers: Sequence[str],
                   archs: Sequence[str], variation: dict[str, str] | None,
                   resampling: Resampling) -> list[dict]:
    """Claim (f): pairs differing in both seeds trained with more stimulus variation − such
    pairs trained with less (like with like: the same source of divergence on both sides)."""
    if not variation:
        return []
    out = []
    for arch in archs:
        more, less = (cell(rows, measure, layers, resampling.level, comparison="within",
                           sources=["init+data"], condition=variation[side], archs=[arch])
                      for side in ("more", "less"))
        if _enough(more, less):
            out.append(_contrast("f", arch, measure, layers, more, less,
                                 f"{variation['more']} vs {variation['less']}", "> 0", 0.0,
                                 resampling))
    return out


def claims(
    rows: pd.DataFrame,
    layers: Sequence[str],
    depths: dict[str, dict[str, float]],
    measures: Sequence[str],
    margin: float = 0.05,
    variation: dict[str, str] | None = None,
    resampling: Resampling | None = None,
) -> pd.DataFrame:
    """The claims table from the long similarity table (``tables.similarity.read_rows``);
    ``depths``: each architecture's relative depth of each layer.  A claim the design has no
    cells for (two pairs or more each) has no row."""
    resampling = resampling or Resampling()
    rows = labelled(rows)
    archs = list(depths)
    out = []
    for measure in measures:
        out += slope_rows(rows, "a", measure, layers, depths, resampling)
    out += slope_rows(rows, "b", PREDICTABILITY, layers, depths, resampling)
    out += activity_rows(rows, layers, archs, margin, resampling)
    for measure in measures:
        out += source_rows(rows, measure, layers, archs, margin, resampling)
        out += architecture_rows(rows, measure, layers, resampling)
        out += variation_rows(rows, measure, layers, archs, variation, resampling)
    order = {c: k for k, c in enumerate(CLAIMS)}
    table = pd.DataFrame(out, columns=list(COLUMNS))
    return table.sort_values("claim", key=lambda s: s.map(order), kind="stable")


def untested(table: pd.DataFrame) -> list[str]:
    """The claims the design gave no row (no cells of two pairs or more)."""
    return [c for c in CLAIMS if c not in set(table["claim"])]


# ------------------------------------------------------------------ all networks at once
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
