"""One pair-layer's measures as rows: every measure of its data (:class:`LayerData`, from the
dumps or the forward pass) with bootstrap CIs and the shuffled null, the layer × layer matrix,
and the labels of a pair's rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from convergent import models
from convergent.analysis import similarity as sim
from convergent.analysis.measures import calibrate, calibrate_interval
from convergent.analysis.scatter import Scatter
from convergent.analysis.statistics import bootstrap, shuffled_pairing
from convergent.analysis.subsample import (
    SubsampleLayer,
    in_memory_measures,
    neighbour_reasons,
    subsample_measures,
)
from convergent.moments import BlockMoments, PairMoments, pair_moments_of_arrays
from convergent.progress import progress
from convergent.steps.similarity.options import SimilarityOptions


class Features(Protocol):
    """A model's subsample features by layer (a dump's ``SubsampleLayers``, read on first use;
    a streamed network's dict)."""

    def __getitem__(self, layer: str, /) -> SubsampleLayer: ...


@dataclass
class LayerData:
    """One pair-layer's data for the per-layer measures, however it was gathered (activation
    dumps: :func:`dump_layer_data`; the networks' forward pass: :func:`stream_pair_rows`):
    the effective conv convention, per-block (within A, within B, cross) sums and the shuffled
    null's cross sums (both None under ``flatten``: the scatter route then runs on the
    subsample's features; the null's None also without the null), the subsample features of
    A and B, and the probe blocks."""

    convention: str
    moments: PairMoments | None
    null_cross: BlockMoments | None
    sub_a: SubsampleLayer
    sub_b: SubsampleLayer
    blocks: int


def layer_measures(d: LayerData, layer: str, opts: SimilarityOptions) -> list[dict[str, Any]]:
    """Every measure of one pair-layer's data, with CIs, plus the shuffled null: the scatter
    route (exact over every probe image, or the subsample under 'flatten'; block bootstrap)
    and the Gram route on the subsample (image bootstrap)."""
    conv, blocks, sa, sb = d.convention, d.blocks, d.sub_a, d.sub_b
    n_sub = len(sa.x)
    img_conv = opts.image_features
    rows: list[dict[str, Any]] = []

    dead = {"dead_a": np.nan, "dead_b": np.nan}  # the units' dead fractions (scatter route)

    def add(kind: str, results: dict, convention: str, samples: float,
            why: dict[str, str] | None = None) -> None:
        for measure, (value, lo, hi) in results.items():
            rows.append(
                {"kind": kind, "measure": measure, "value": value, "ci_low": lo, "ci_high": hi,
                 "convention": convention, "samples": samples,
                 "undefined": (why or {}).get(measure, ""), **dead}
            )

    if conv == "flatten":
        moments = pair_moments_of_arrays(sa.reduced, sb.reduced, blocks)
        perm = shuffled_pairing(n_sub, opts.seed + 1)
        null_moments = pair_moments_of_arrays(sa.reduced, sb.reduced[perm], blocks)
    else:
        moments = d.moments
        # the null uses all blocks: the within-net sums are the pair's (paired_cross_moments)
        null_moments = None if d.null_cross is None else (*moments[:2], d.null_cross)
    dead_std, keep = opts.dead_unit_std, opts.measures.svcca_keep
    reduced = conv == "flatten" and (sa.was_reduced or sb.was_reduced)

    def scatter_stat(moms):
        def stat(idx: np.ndarray) -> dict[str, float]:
            s = Scatter.from_moments(*moms, idx)
            m = sim.scatter_measures(s, keep, reduced, opts.measures.shape_alpha)
            cross = moms[2]
            means = (cross.sum_x[idx].sum(0) / s.n, cross.sum_y[idx].sum(0) / s.n)
            m.update(sim.matched_correlation(s, dead_std, means))
            return sim.without_basis_measures(m) if reduced else m

        return stat

    def why(moms) -> dict[str, str]:
        return sim.undefined_reasons(Scatter.from_moments(*moms), keep, reduced)

    samples = float(moments[2].count.sum())
    if not reduced:  # principal components are no units: no dead fraction
        live = sim.live_units(Scatter.from_moments(*moments), dead_std)
        dead.update(dead_a=float(1 - live[0].mean()), dead_b=float(1 - live[1].mean()))
    resamples = opts.bootstrap + 1  # the estimate and the bootstrap resamples
    with progress(resamples, "resample", f"{layer} scatter-route bootstrap") as bar:
        add("pair", bootstrap(scatter_stat(moments), blocks, opts.bootstrap, opts.seed,
                              opts.ci, bar.update), conv, samples, why(moments))
    if null_moments is not None:
        est = scatter_stat(null_moments)(np.arange(blocks))
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, conv, samples,
            why(null_moments))

    # Gram and neighbour routes on the subsample, image bootstrap
    kendall = opts.kendall
    gram_why = neighbour_reasons(n_sub, opts.measures.knn_k)
    with progress(resamples, "resample", f"{layer} Gram-route bootstrap") as bar:
        add("pair", bootstrap(lambda idx: subsample_measures(sa, sb, idx, opts.measures, kendall),
                              n_sub, opts.bootstrap, opts.seed, opts.ci, bar.update),
            img_conv, float(n_sub), gram_why)
    if opts.shuffled_null:
        perm = shuffled_pairing(n_sub, opts.seed + 1)
        sb_null = SubsampleLayer(sb.x[perm], opts.rdm_metric)
        est = subsample_measures(sa, sb_null, np.arange(n_sub), opts.measures, kendall)
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, img_conv,
            float(n_sub), gram_why)
    return calibrated(rows)


def calibrated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (one pair-layer's) with each pair row's calibrated score and interval against
    the shuffled row of its measure and convention (NaN without one, and on the null's rows)."""
    null = {(r["measure"], r["convention"]): r["value"] for r in rows if r["kind"] == "shuffled"}
    for r in rows:
        s0 = null.get((r["measure"], r["convention"]), np.nan) if r["kind"] == "pair" else np.nan
        r["calibrated"] = calibrate(r["measure"], r["value"], s0)
        r["calibrated_low"], r["calibrated_high"] = calibrate_interval(
            r["measure"], r["ci_low"], r["ci_high"], s0)
    return rows


def layer_by_layer_rows(
    feats_a: Features,
    feats_b: Features,
    layers: list[str],
    opts: SimilarityOptions,
) -> list[dict[str, Any]]:
    """Every (layer of A, layer of B) on the subsample's per-image features, unit matchings
    included (no CIs)."""
    conv = opts.image_features
    rows = []
    n_sub = len(feats_a[layers[0]].x)
    pairs = [(la, lb) for la in layers for lb in layers]
    for la, lb in progress(len(pairs), "pair", "layer x layer", pairs):
        m, why = in_memory_measures(feats_a[la], feats_b[lb], opts.measures, opts.dead_unit_std)
        for measure, value in m.items():
            rows.append(
                {"kind": "pair", "layer_a": la, "layer_b": lb, "measure": measure,
                 "value": value, "ci_low": np.nan, "ci_high": np.nan, "convention": conv,
                 "samples": float(n_sub), "undefined": why.get(measure, "")}
            )
    return rows


def labelled_rows(
    id_a: str,
    id_b: str,
    per_layer: dict[str, list[dict[str, Any]]],
    layer_by_layer: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """One pair's rows (per layer, then layer × layer) labelled with its models (ids
    ``arch/name``), layers and the layers' relative depths."""
    (arch_a, model_a), (arch_b, model_b) = (i.split("/", 1) for i in (id_a, id_b))
    base = {"arch_a": arch_a, "model_a": model_a, "arch_b": arch_b, "model_b": model_b}
    rows = []
    for layer, layer_rows in per_layer.items():
        for r in layer_rows:
            rows.append({"analysis": "per_layer", **base, "layer_a": layer, "layer_b": layer, **r})
    for r in layer_by_layer:
        rows.append({"analysis": "layer_by_layer", **base, **r})
    for r in rows:
        r["depth_a"] = models.relative_depth(arch_a, r["layer_a"])
        r["depth_b"] = models.relative_depth(arch_b, r["layer_b"])
    return rows
