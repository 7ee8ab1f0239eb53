"""Similarity results across pairs: the long per-pair table, per-layer summaries (with nulls and
the kind of pair) and the layer-identification table beside Kornblith et al. 2019."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import paper
from convergent.analysis.measures import MEASURES
from convergent.analysis.similarity import layer_identification
from convergent.io import InputError
from convergent.study import seed_model_parts

#: the two directions of regression; the table reports their mean (Kornblith's symmetrisation)
ONE_WAY = ("regression_r2_ab", "regression_r2_ba")


def source_of(a: str, b: str) -> str:
    """What differs between two trained models of one architecture: init, data, both,
    perturb (one bit of the initial weights, same data order), replicate (same seeds, a rerun)
    or condition (trained under different conditions)."""
    pa, pb = seed_model_parts(str(a).split("/")[-1]), seed_model_parts(str(b).split("/")[-1])
    if pa is None or pb is None:
        return "-"
    if pa.condition != pb.condition:
        return "condition"
    init, data = pa.init_seed != pb.init_seed, pa.data_seed != pb.data_seed
    if init and data:
        return "init+data"
    if init or data:
        return "init" if init else "data"
    return "perturb" if pa.perturb != pb.perturb else "replicate"


def comparison_of(row: pd.Series) -> str:
    if str(row["model_b"]).startswith("untrained") or str(row["model_a"]).startswith("untrained"):
        return "untrained"
    return "within" if row["arch_a"] == row["arch_b"] else "cross"


def read_rows(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Every pair's CSV, with the comparison type and the source of divergence added."""
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise InputError(
                f"{path}: unreadable similarity CSV ({err}); delete it and rerun snakemake"
            ) from None
    rows = pd.concat(frames, ignore_index=True)
    rows["comparison"] = rows.apply(comparison_of, axis=1)
    rows["source"] = [
        source_of(a, b) if c == "within" else "-"
        for a, b, c in zip(rows["model_a"], rows["model_b"], rows["comparison"], strict=True)
    ]
    return rows


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-layer measures: mean, sd, range over pairs and the mean bootstrap CI (and the mean
    calibrated score against the shuffled null), for each comparison (within / cross
    architecture / against untrained), pair kind and null."""
    per_layer = rows[rows["analysis"] == "per_layer"]
    keys = ["comparison", "kind", "arch_a", "arch_b", "layer_a", "depth_a", "measure",
            "convention"]
    g = per_layer.groupby(keys, sort=False)
    out = g.agg(
        pairs=("value", "size"),
        mean=("value", "mean"),
        sd=("value", "std"),
        min=("value", "min"),
        max=("value", "max"),
        ci_low_mean=("ci_low", "mean"),
        ci_high_mean=("ci_high", "mean"),
        **({"calibrated_mean": ("calibrated", "mean")} if "calibrated" in per_layer else {}),
    ).reset_index()
    return out.rename(columns={"layer_a": "layer", "depth_a": "depth"}).sort_values(
        ["comparison", "kind", "arch_a", "arch_b", "measure", "depth"]
    )


def similarity_matrices(rows: pd.DataFrame) -> dict[tuple, tuple[list, list, np.ndarray]]:
    """{(arch_a, model_a, arch_b, model_b, measure): (layers_a, layers_b, matrix)} of the
    layer × layer rows, layers ordered by depth."""
    lbl = rows[(rows["analysis"] == "layer_by_layer") & (rows["kind"] == "pair")]
    out = {}
    for key, g in lbl.groupby(["arch_a", "model_a", "arch_b", "model_b", "measure"], sort=False):
        m = g.pivot_table(index="layer_a", columns="layer_b", values="value", dropna=False)
        la = g.drop_duplicates("layer_a").sort_values("depth_a")["layer_a"].tolist()
        lb = g.drop_duplicates("layer_b").sort_values("depth_b")["layer_b"].tolist()
        out[key] = (la, lb, m.reindex(index=la, columns=lb).to_numpy())
    return out


def layer_identification_hits(
    rows: pd.DataFrame,
) -> dict[tuple[str, str], tuple[list[tuple[str, str]], list[np.ndarray]]]:
    """{(architecture, measure): (the pairs' networks, per pair whether each layer of A against
    B and of B against A finds the corresponding layer most similar: 1, 0, or NaN where the
    measure is undefined at some candidate)} on the within-architecture seed pairs of trained
    models (Kornblith et al.'s sanity check)."""
    # replicate and perturbation pairs (identical or nearly) are no test of identification
    within = rows[(rows["comparison"] == "within")
                  & ~rows["source"].isin(["replicate", "perturb"])]
    hits: dict[tuple[str, str], tuple[list, list]] = {}
    for (arch, model_a, arch_b, model_b, measure), (la, lb, m) in \
            similarity_matrices(within).items():
        if la != lb or measure not in MEASURES or measure in ONE_WAY:
            continue
        ids, per_pair = hits.setdefault((arch, measure), ([], []))
        ids.append((f"{arch}/{model_a}", f"{arch_b}/{model_b}"))
        per_pair.append(layer_identification(m, MEASURES[measure].larger_is_similar))
    return hits


def layer_identification_table(rows: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per measure: the percentage of layers (of A against B and of B against A) whose most
    similar layer in the other network is the corresponding one, over the layers where the
    measure is defined at every candidate (how many: ``defined_layers``), beside the chance
    level 1/L and Kornblith et al.'s Table 2 where it applies (their Tiny-10 CNNs on CIFAR-10,
    or a documented analogue: ``paper.applies``)."""
    table = []
    for (arch, measure), (_, h) in layer_identification_hits(rows).items():
        flat = np.concatenate(h)
        layers = len(h[0]) // 2
        table.append({
            "architecture": arch,
            "measure": measure,
            "accuracy_pct": 100 * float(np.nanmean(flat)) if np.isfinite(flat).any() else np.nan,
            "pairs": len(h),
            "layers": layers,
            "defined_layers": float(np.isfinite(flat).sum() / (2 * len(h))),
            "chance_pct": 100 / layers,
            "kornblith2019_pct": (paper.KORNBLITH2019_LAYER_ID.get(measure, np.nan)
                                  if paper.applies(paper.KORNBLITH2019, arch, dataset)
                                  else np.nan),
        })
    return pd.DataFrame(table, columns=["architecture", "measure", "accuracy_pct", "pairs",
                                        "layers", "defined_layers", "chance_pct",
                                        "kornblith2019_pct"])
