"""Steps of workflow/rules/similarity.smk: every similarity measure of one pair of models —
per layer (bootstrap CIs, the shuffled-pairing null) and layer × layer — and their tables.

A pair's rows are long-format, one per number: analysis (per_layer | layer_by_layer), kind
(pair | shuffled), the two models and layers, the layers' relative depths, measure, value,
ci_low, ci_high, convention (the conv-layer convention that produced the number) and samples.
Formulas live in :mod:`convergent.analysis.similarity` and :mod:`convergent.analysis.subsample`.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from convergent import models
from convergent.analysis import similarity as sim
from convergent.analysis.statistics import bootstrap, shuffled_pairing
from convergent.analysis.subsample import SubsampleLayer, subsample_index, subsample_measures
from convergent.io.activations import ActivationFile
from convergent.moments import (
    image_features,
    pair_moments,
    pair_moments_of_arrays,
    paired_cross_moments,
)
from convergent.moments.conventions import effective_convention
from convergent.progress import progress
from convergent.steps import Step, add_spec


class SubsampleLayers:
    """Each layer's subsample features of one file, read and prepared once per job (the
    per-layer measures and the layer x layer matrix share them)."""

    def __init__(self, f: ActivationFile, opts: dict[str, Any]) -> None:
        self.f, self.opts = f, opts
        self.sub = subsample_index(f.n_images, opts["subsample"], opts["seed"])
        self.layers: dict[str, SubsampleLayer] = {}

    def __getitem__(self, layer: str) -> SubsampleLayer:
        if layer not in self.layers:
            x = image_features(self.f, layer, self.sub, self.opts["image_features"])
            self.layers[layer] = SubsampleLayer(x, self.opts["rdm_metric"])
        return self.layers[layer]


def per_layer_rows(
    fa: ActivationFile,
    fb: ActivationFile,
    layer: str,
    opts: dict[str, Any],
    blocks: int,
    chunk_images: int,
    feats: tuple[SubsampleLayers, SubsampleLayers] | None = None,
) -> list[dict[str, Any]]:
    """Every measure of one same-named layer of A and B, with CIs, plus the shuffled null."""
    conv = effective_convention(fa, layer, fb, layer, opts["conv_convention"])
    feats = feats or (SubsampleLayers(fa, opts), SubsampleLayers(fb, opts))
    sub = feats[0].sub
    img_conv = opts["image_features"]
    sa, sb = feats[0][layer], feats[1][layer]
    rows: list[dict[str, Any]] = []

    def add(kind: str, results: dict, convention: str, samples: float) -> None:
        for measure, (value, lo, hi) in results.items():
            rows.append(
                {"kind": kind, "measure": measure, "value": value, "ci_low": lo, "ci_high": hi,
                 "convention": convention, "samples": samples}
            )

    # scatter route: exact over every probe image (or the subsample for 'flatten'), block bootstrap
    if conv == "flatten":
        moments = pair_moments_of_arrays(sa.reduced, sb.reduced, blocks)
        perm = shuffled_pairing(len(sub), opts["seed"] + 1)
        null_moments = pair_moments_of_arrays(sa.reduced, sb.reduced[perm], blocks)
    else:
        with progress(fa.n_images, "img", f"{layer} moments") as bar:
            moments = pair_moments(fa, layer, fb, layer, conv, blocks, chunk_images,
                                   advance=bar.update)
        perm = shuffled_pairing(fa.n_images, opts["seed"] + 1)
        null_moments = None
        if opts["nulls"]["shuffled"]:
            with progress(fa.n_images, "img", f"{layer} shuffled-pairing moments") as bar:
                cross = paired_cross_moments(fa, layer, fb, layer, conv, blocks, chunk_images,
                                             perm, bar.update)
            # the null uses all blocks: the within-net sums are the pair's (see the function)
            null_moments = (moments[0], moments[1], cross)
    dead_std = opts["dead_unit_std"]
    reduced = conv == "flatten" and (sa.was_reduced or sb.was_reduced)

    def scatter_stat(moms):
        def stat(idx: np.ndarray) -> dict[str, float]:
            s = sim.Scatter.from_moments(*moms, idx)
            m = sim.scatter_measures(s, opts["svcca_keep"])
            cross = moms[2]
            means = (cross.sum_x[idx].sum(0) / s.n, cross.sum_y[idx].sum(0) / s.n)
            m.update(sim.matched_correlation(s, dead_std, means))
            return sim.without_basis_measures(m) if reduced else m

        return stat

    samples = float(moments[2].count.sum())
    resamples = opts["bootstrap"] + 1  # the estimate and the bootstrap resamples
    with progress(resamples, "resample", f"{layer} scatter-route bootstrap") as bar:
        add("pair", bootstrap(scatter_stat(moments), blocks, opts["bootstrap"], opts["seed"],
                              opts["ci"], bar.update), conv, samples)
    if null_moments is not None:
        est = scatter_stat(null_moments)(np.arange(blocks))
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, conv, samples)

    # Gram route on the subsample, image bootstrap
    kendall = opts["kendall"]
    with progress(resamples, "resample", f"{layer} Gram-route bootstrap") as bar:
        add("pair", bootstrap(lambda idx: subsample_measures(sa, sb, idx, opts, kendall),
                              len(sub), opts["bootstrap"], opts["seed"], opts["ci"], bar.update),
            img_conv, float(len(sub)))
    if opts["nulls"]["shuffled"]:
        perm = shuffled_pairing(len(sub), opts["seed"] + 1)
        sb_null = SubsampleLayer(sb.x[perm], opts["rdm_metric"])
        est = subsample_measures(sa, sb_null, np.arange(len(sub)), opts, kendall)
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, img_conv,
            float(len(sub)))
    return rows


def layer_by_layer_rows(
    fa: ActivationFile,
    fb: ActivationFile,
    layers: list[str],
    opts: dict[str, Any],
    feats: tuple[SubsampleLayers, SubsampleLayers] | None = None,
) -> list[dict[str, Any]]:
    """Every (layer of A, layer of B) on the subsample's per-image features (no CIs)."""
    feats = feats or (SubsampleLayers(fa, opts), SubsampleLayers(fb, opts))
    sub = feats[0].sub
    conv = opts["image_features"]
    rows = []
    all_idx = np.arange(len(sub))
    pairs = [(la, lb) for la in layers for lb in layers]
    for la, lb in progress(len(pairs), "pair", "layer x layer", pairs):
        xa, xb = feats[0][la], feats[1][lb]
        m = sim.data_measures(xa.centred, xb.centred, opts["svcca_keep"])
        if xa.was_reduced or xb.was_reduced:
            m = sim.without_basis_measures(m)
        m.update(subsample_measures(xa, xb, all_idx, opts, kendall=False))
        for measure, value in m.items():
            rows.append(
                {"kind": "pair", "layer_a": la, "layer_b": lb, "measure": measure,
                 "value": value, "ci_low": np.nan, "ci_high": np.nan, "convention": conv,
                 "samples": float(len(sub))}
            )
    return rows


def pair_rows(
    fa: ActivationFile,
    fb: ActivationFile,
    layers: list[str],
    opts: dict[str, Any],
    blocks: int,
    chunk_images: int,
) -> list[dict[str, Any]]:
    """Per-layer and layer × layer rows of one pair, labelled with models, layers and depths."""
    arch_a, arch_b = fa.attrs["architecture"], fb.attrs["architecture"]
    base = {
        "arch_a": arch_a,
        "model_a": str(fa.attrs["model"]).split("/")[-1],
        "arch_b": arch_b,
        "model_b": str(fb.attrs["model"]).split("/")[-1],
    }
    rows = []
    # held for the whole job only when the layer x layer matrix reuses them
    feats = None
    if opts["layer_by_layer"]:
        feats = SubsampleLayers(fa, opts), SubsampleLayers(fb, opts)
    for layer in layers:
        for r in per_layer_rows(fa, fb, layer, opts, blocks, chunk_images, feats):
            rows.append({"analysis": "per_layer", **base, "layer_a": layer, "layer_b": layer, **r})
    if opts["layer_by_layer"]:
        for r in layer_by_layer_rows(fa, fb, layers, opts, feats):
            rows.append({"analysis": "layer_by_layer", **base, **r})
    for r in rows:
        r["depth_a"] = models.relative_depth(arch_a, r["layer_a"])
        r["depth_b"] = models.relative_depth(arch_b, r["layer_b"])
    return rows


def similarity(args: argparse.Namespace) -> None:
    import pandas as pd

    from convergent.io.activations import check_same_probe
    from convergent.tables import write_csv

    spec, a_opts = args.spec, args.spec["analysis"]
    model_a, model_b = spec["models"]
    with ActivationFile(args.a, model_a) as fa, ActivationFile(args.b, model_b) as fb:
        check_same_probe(fa, fb)
        opts = {**spec["similarity"], "dead_unit_std": a_opts["dead_unit_std"]}
        rows = pair_rows(fa, fb, spec["layers"], opts, a_opts["blocks"], a_opts["chunk_images"])
    write_csv(pd.DataFrame(rows), args.out)


def similarity_tables(args: argparse.Namespace) -> None:
    from convergent.tables import similarity as st
    from convergent.tables import write_csv

    rows = st.read_rows(args.inputs)
    write_csv(rows, args.per_pair)
    write_csv(st.summary(rows), args.summary)
    ident = st.layer_identification_table(rows)
    write_csv(ident, args.layer_identification)
    print(ident.to_string(index=False, float_format="%.1f"))


def register(step: Step) -> None:
    s = step("similarity", similarity, "similarity measures, CIs and nulls of one pair")
    add_spec(s, "models (the ids files A and B must hold), layers, analysis, similarity")
    s.add_argument("--a", required=True, help="activation file of model A")
    s.add_argument("--b", required=True, help="activation file of model B")
    s.add_argument("--out", required=True, help="long-format CSV, one row per number")

    s = step("similarity-tables", similarity_tables, "aggregate similarity CSVs")
    s.add_argument("--inputs", nargs="+", required=True, help="every pair's similarity CSV")
    s.add_argument("--per-pair", required=True, help="CSV: all rows, labelled")
    s.add_argument("--summary", required=True, help="CSV: per layer, over pairs")
    s.add_argument("--layer-identification", required=True, help="CSV: Kornblith's test")
