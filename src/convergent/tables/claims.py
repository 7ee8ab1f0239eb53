"""The commentary's claims (Dong, Wang & Hu 2018, on Li et al. 2016), tested on the study's pairs.

Each claim is an effect computed from cells of pairs of networks — pairs that differ in the
initialisation only, in the data order only, in both, by one bit of the initial weights (the
perturbation control of Summers & Dinneen 2021), in nothing (replicates), in the architecture,
or that were trained under another condition — with an interval over networks
(:mod:`convergent.analysis.inference`: delete-one-network jackknife of the effect, cells
together, probe images' variance added; Student t), a stated test and a verdict, raw and
Holm-adjusted over the table (:mod:`convergent.analysis.verdicts`; the adjusted one is the
headline).  Effects are in the measure's units, oriented so that larger means more alike (a
distance's sign is flipped).

A control must be able to fail: replicates that are bit-identical (same weights hash) are
reported as deterministic and serve as no floor; the divergence claims (d, d3) are tested
against the one-bit perturbation instead, which diverges like any numerical noise would.

Beside each effect: the similarity of the pairs the claim is about, its floors — the
untrained-network baseline and the shuffled-image null of the same pairs — and the learned
share, (similarity − untrained) / (similarity − shuffled) clipped to [0, 1].  Under the
``positions`` convention the shuffled null keeps the spatial layout, so it is above zero in conv
layers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from convergent.analysis import inference
from convergent.analysis.measures import display, orientation
from convergent.analysis.statistics import interval_sd
from convergent.analysis.verdicts import Decision, adjusted, decide
from convergent.study import BASE_CONDITION
from convergent.study import condition_of as study_condition

COLUMNS = ("claim", "statement", "architecture", "measure", "layers", "cells", "pairs", "effect",
           "ci_low", "ci_high", "interval", "test", "method", "p_value", "p_holm",
           "verdict_raw", "verdict", "similarity", "similarity_b", "untrained", "shuffled",
           "learned_share", "text")

#: claim id -> what it says (the sentence the verdict is about)
CLAIMS = {
    "a": "Convergence falls with depth (Li et al. 2016)",
    "b": "Higher layers are less linearly predictable from another seed (Li et al. 2016)",
    "c": "The most and least active units differ across nets (Li et al. 2016)",
    "r": "Rerunning the same seeds reproduces the network (the replicate floor)",
    "d": "Initialisation alone produces divergence above the floor (the commentary)",
    "d2": "Initialisation alone diverges about as much as varying both seeds (the commentary)",
    "d3": "Data order alone produces divergence above the floor (context)",
    "e": "Different architectures diverge more than seeds of one architecture (the commentary)",
    "f": "More stimulus variation makes seeds converge (Hong et al. 2016; the commentary: no)",
}
#: the measure each fixed-measure claim is tested with
PREDICTABILITY, ACTIVITY = "regression_r2", "mean_activation_rank"
SEEDS = ("init", "data", "init+data")
#: the verdict of replicates that are bit-identical: no claim can use them as a floor
DETERMINISTIC = "deterministic (identical)"


@dataclass(frozen=True)
class Cell:
    """Pairs of one kind for one measure: values and block-bootstrap SDs (pairs × layers),
    each row's two networks, the shuffled null (pairs × layers) and the untrained baseline per
    layer."""

    values: pd.DataFrame
    sd: pd.DataFrame
    shuffled: pd.DataFrame
    untrained: pd.Series

    @property
    def pairs(self) -> int:
        return len(self.values)

    @property
    def networks(self) -> list[inference.Pair]:
        return [tuple(p.split("__")) for p in self.values.index]

    def columns(self, layers: Sequence[str]) -> Cell:
        return Cell(self.values[list(layers)], self.sd[list(layers)],
                    self.shuffled[list(layers)], self.untrained[list(layers)])


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
    s = float(np.nanmean(c.values.to_numpy())) if c.pairs else np.nan
    u = float(np.nanmean(c.untrained)) if c.untrained.notna().any() else np.nan
    z = float(np.nanmean(c.shuffled.to_numpy())) if c.shuffled.notna().any().any() else np.nan
    share = np.nan
    if np.isfinite(z) and orientation(measure) * (s - z) > 0:  # a distance: s below the null
        share = float(np.clip((s - u) / (s - z), 0.0, 1.0))
    return {"similarity": s, "untrained": u, "shuffled": z, "learned_share": share}


def _estimate(statistic: inference.Statistic, cells: Sequence[Cell], measure: str
              ) -> inference.Estimate:
    """The network-level estimate of ``statistic`` of the cells' oriented values."""
    sign = orientation(measure)
    return inference.estimate(statistic, [sign * c.values.to_numpy() for c in cells],
                              [c.networks for c in cells], [c.sd.to_numpy() for c in cells])


def _row(claim: str, arch: str, measure: str, layers: str, cells: str, pairs: str,
         est: inference.Estimate, test: str, margin: float, level: float,
         floors: dict[str, float], similarity_b: float = np.nan) -> dict:
    """One tested claim, its raw decision kept for the table's Holm adjustment."""
    decision = decide(est, test, margin, 1 - level)
    # the interval that matches the test: (1 − 2α) for equivalence (TOST), else (1 − α)
    shown = 2 * level - 1 if test == "|·| ≤ margin" else level
    lo, hi = est.interval(shown)
    return {"claim": claim, "statement": CLAIMS[claim], "architecture": arch,
            "measure": measure, "layers": layers, "cells": cells, "pairs": pairs,
            "effect": est.value, "ci_low": lo, "ci_high": hi,
            "interval": f"networks, t, {shown:.0%}", "test": test.replace("margin", f"{margin:g}"),
            "method": decision.method, "p_value": decision.p, "verdict_raw": decision.verdict,
            "similarity_b": similarity_b, **floors, "_decision": decision}


def _enough(*cells: Cell) -> bool:
    """Every cell has two pairs or more (an interval over networks needs them)."""
    return all(c.pairs >= 2 and np.isfinite(c.values.to_numpy()).any() for c in cells)


def _seed_cells(rows: pd.DataFrame, measure: str, layers: Sequence[str],
                archs: Sequence[str], level: float) -> list[tuple[str, Cell]]:
    """(architecture, cell) of each architecture's seed pairs (init, data or both differ) of
    the base condition, where there are enough of them."""
    cells = [(arch, cell(rows, measure, layers, level, comparison="within", sources=SEEDS,
                         condition=BASE_CONDITION, archs=[arch])) for arch in archs]
    return [(arch, c) for arch, c in cells if _enough(c)]


def slope_rows(rows: pd.DataFrame, claim: str, measure: str, layers: Sequence[str],
               depths: dict[str, dict[str, float]], level: float) -> list[dict]:
    """Claims (a), (b): per architecture, the slope over relative depth of the seed pairs' mean
    (over every layer, and over the conv layers alone)."""
    out = []
    for arch, c in _seed_cells(rows, measure, layers, depths, level):
        spans = {"all layers": list(layers)}
        conv = [layer for layer in layers if layer.startswith("conv")]
        if 1 < len(conv) < len(layers):
            spans["conv layers"] = conv
        for name, span in spans.items():
            sub = c.columns(span)
            est = _estimate(inference.depth_slope([depths[arch][x] for x in span]), [sub],
                            measure)
            out.append(_row(claim, arch, measure, f"{name} ({span[0]}–{span[-1]})",
                            "seed pairs", str(c.pairs), est, "< 0", 0.0, level,
                            _floors(sub, measure)))
    return out


def activity_rows(rows: pd.DataFrame, layers: Sequence[str], archs: Sequence[str],
                  margin: float, level: float) -> list[dict]:
    """Claim (c): matched units' rank agreement of mean activation is negligible (|ρ| ≤
    margin, what random partners give), mean over layers."""
    return [_row("c", arch, ACTIVITY, "all layers", "seed pairs", str(c.pairs),
                 _estimate(inference.overall_mean, [c], ACTIVITY), "|·| ≤ margin", margin,
                 level, _floors(c, ACTIVITY))
            for arch, c in _seed_cells(rows, ACTIVITY, layers, archs, level)]


def _contrast(claim: str, arch: str, measure: str, a: Cell, b: Cell, names: str, test: str,
              margin: float, level: float, subject: str = "a") -> dict:
    """mean(a) − mean(b) over layers, oriented, with one jackknife over the networks of both
    cells (cells that share networks are dependent); the floors are those of the ``subject``
    cell (the pairs whose divergence the claim is about), ``similarity_b`` the other's."""
    est = _estimate(inference.contrast, [a, b], measure)
    main, other = (a, b) if subject == "a" else (b, a)
    return _row(claim, arch, measure, "all layers", names, f"{a.pairs} vs {b.pairs}", est, test,
                margin, level, _floors(main, measure), float(np.nanmean(other.values.to_numpy())))


def replicate_row(arch: str, measure: str, replicates: Cell, identical: bool,
                  level: float) -> dict:
    """Claim (r): the replicate pairs (same seeds, rerun) — deterministic (bit-identical
    weights), or their similarity, the floor that numerical non-determinism sets."""
    row = _row("r", arch, measure, "all layers", "replicates", str(replicates.pairs),
               _estimate(inference.overall_mean, [replicates], measure), "> 0", 0.0, level,
               _floors(replicates, measure))
    if identical:
        row["_decision"] = Decision(np.nan, DETERMINISTIC, "weights hashes equal", True)
        row.update(effect=np.nan, ci_low=np.nan, ci_high=np.nan, test="-", p_value=np.nan,
                   method="weights hashes equal", verdict_raw=DETERMINISTIC)
    return row


def source_rows(rows: pd.DataFrame, measure: str, layers: Sequence[str], archs: Sequence[str],
                margin: float, level: float, identical: Collection[str]) -> list[dict]:
    """Claims (r), (d), (d2), (d3) per architecture: the replicates; the floor − init only and
    the floor − data only, against the one-bit perturbation and, where replicates are not
    identical, against them too; init only − both seeds (equivalence)."""
    out = []
    for arch in archs:
        def of(source: str, arch=arch) -> Cell:
            return cell(rows, measure, layers, level, comparison="within", sources=[source],
                        condition=BASE_CONDITION, archs=[arch])

        rep, perturb = of("replicate"), of("perturb")
        init, data, both = of("init"), of("data"), of("init+data")
        same = bool(rep.pairs) and all(p in identical for p in rep.values.index)
        if rep.pairs:
            out.append(replicate_row(arch, measure, rep, same, level))
        floors = [("one-bit perturbation", perturb)] + ([] if same else [("replicates", rep)])
        for claim, other, what in (("d", init, "init only"), ("d3", data, "data only")):
            for name, floor in floors:
                if _enough(floor, other):
                    out.append(_contrast(claim, arch, measure, floor, other,
                                         f"{name} vs {what}", "> 0", 0.0, level, "b"))
        if _enough(init, both):
            out.append(_contrast("d2", arch, measure, init, both, "init only vs both seeds",
                                 "|·| ≤ margin", margin, level))
    return out


def architecture_rows(rows: pd.DataFrame, measure: str, layers: Sequence[str],
                      level: float) -> list[dict]:
    """Claim (e): pairs within an architecture that differ in both seeds (every
    architecture's, pooled) − pairs of different architectures (which differ in both seeds
    too), layer by layer at matched relative depth (same layer names)."""
    within = cell(rows, measure, layers, level, comparison="within", sources=["init+data"],
                  condition=BASE_CONDITION)
    cross = cell(rows, measure, layers, level, comparison="cross", sources=None,
                 condition=BASE_CONDITION)
    if not _enough(within, cross):
        return []
    return [_contrast("e", "across", measure, within, cross,
                      "seeds within vs across architectures", "> 0", 0.0, level, "b")]


def variation_rows(rows: pd.DataFrame, measure: str, layers: Sequence[str],
                   archs: Sequence[str], variation: dict[str, str] | None,
                   level: float) -> list[dict]:
    """Claim (f): pairs differing in both seeds trained with more stimulus variation − such
    pairs trained with less (like with like: the same source of divergence on both sides)."""
    if not variation:
        return []
    out = []
    for arch in archs:
        more, less = (cell(rows, measure, layers, level, comparison="within",
                           sources=["init+data"], condition=variation[side], archs=[arch])
                      for side in ("more", "less"))
        if _enough(more, less):
            out.append(_contrast("f", arch, measure, more, less,
                                 f"{variation['more']} vs {variation['less']}", "> 0", 0.0,
                                 level))
    return out


def _text(r: dict, family: int) -> str:
    """The row's sentence, from its numbers and its adjusted verdict alone."""
    floor_text = ", ".join(
        f"{name} {r[key]:.2f}" for key, name in (("untrained", "untrained network"),
                                                  ("shuffled", "shuffled images"))
        if np.isfinite(r[key]))
    share = r["learned_share"]
    floors = (f"Similarity {r['similarity']:.2f}" + (f" (floors: {floor_text}" if floor_text
                                                      else "")
              + (f"; {share:.0%} of it above chance is learned)" if np.isfinite(share)
                 else ")" if floor_text else "") + ".")
    head = f"{CLAIMS[r['claim']]} — {display(r['measure'])} at {r['layers']} ({r['cells']}, " \
           f"{r['pairs']} pairs)"
    if r["verdict"] == DETERMINISTIC:
        return f"{head}: the replicates' weights are bit-identical: {DETERMINISTIC}; no floor. " \
               + floors
    if not np.isfinite(r["effect"]):
        return (f"{head}: the effect is undefined (the measure is undefined where it is "
                f"needed; the similarity table says why): {r['verdict']}. " + floors)
    if not np.isfinite(r["p_value"]):
        return f"{head}: effect {r['effect']:+.3f}, too few networks for an interval: " \
               f"{r['verdict']}. " + floors
    return (f"{head}: effect {r['effect']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] "
            f"({r['interval']}), test {r['test']}, {r['method']}: p = {r['p_value']:.2g}, "
            f"Holm-adjusted over {family} verdicts p = {r['p_holm']:.2g}: {r['verdict']} "
            f"(unadjusted: {r['verdict_raw']}). " + floors)


def claims(
    rows: pd.DataFrame,
    layers: Sequence[str],
    depths: dict[str, dict[str, float]],
    measures: Sequence[str],
    margin: float = 0.05,
    variation: dict[str, str] | None = None,
    level: float = 0.95,
    identical: Collection[str] = (),
) -> pd.DataFrame:
    """The claims table from the long similarity table (``tables.similarity.read_rows``);
    ``depths``: each architecture's relative depth of each layer; ``identical``: the pairs
    (arch/model__arch/model) whose networks are bit-identical.  A claim the design has no
    cells for (two pairs or more each) has no row; the verdicts are Holm-adjusted over the
    table."""
    rows = labelled(rows)
    archs = list(depths)
    out = []
    for measure in measures:
        out += slope_rows(rows, "a", measure, layers, depths, level)
    out += slope_rows(rows, "b", PREDICTABILITY, layers, depths, level)
    out += activity_rows(rows, layers, archs, margin, level)
    for measure in measures:
        out += source_rows(rows, measure, layers, archs, margin, level, identical)
        out += architecture_rows(rows, measure, layers, level)
        out += variation_rows(rows, measure, layers, archs, variation, level)
    tested = [r for r in out if r["verdict_raw"] != DETERMINISTIC]
    p_holm, verdicts = adjusted([r["_decision"] for r in tested], 1 - level)
    for r, q, v in zip(tested, p_holm, verdicts, strict=True):
        r["p_holm"], r["verdict"] = q, v
    for r in out:
        del r["_decision"]
        if r["verdict_raw"] == DETERMINISTIC:
            r["p_holm"], r["verdict"] = np.nan, DETERMINISTIC
        r["text"] = _text(r, len(tested))
    order = {c: k for k, c in enumerate(CLAIMS)}
    table = pd.DataFrame(out, columns=list(COLUMNS))
    return table.sort_values("claim", key=lambda s: s.map(order), kind="stable")


def untested(table: pd.DataFrame) -> list[str]:
    """The claims the design gave no row (no cells of two pairs or more)."""
    return [c for c in CLAIMS if c not in set(table["claim"])]
