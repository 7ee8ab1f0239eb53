"""All similarity measures of one pair of models: per layer (with bootstrap CIs and the shuffled
pairing null) and layer × layer (for heatmaps and layer identification).

Reads two activation dumps (``ActivationFile``) and returns long-format rows, one per number:
analysis (per_layer | layer_by_layer), kind (pair | shuffled), the two models and layers, the
layers' relative depths, measure, value, ci_low, ci_high, convention (the conv-layer convention
that produced the number) and samples.  Formulas live in ``analysis.similarity`` / ``analysis.rsa``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convergent import models
from convergent.activations import ActivationFile
from convergent.analysis import correlation, matching, rsa
from convergent.analysis import similarity as sim
from convergent.analysis.statistics import bootstrap, shuffled_pairing
from convergent.features import (
    block_moments_of,
    effective_convention,
    image_features,
    stream_moments,
)

SUBSAMPLE_MEASURES = ("linear_cka_debiased", "rbf_cka", "rsa_spearman", "rsa_kendall_tau_a")
#: measures tied to the units' basis, which ``reduce_features`` replaces by principal components
BASIS_MEASURES = ("pwcca", "matched_correlation", "semi_matched_correlation")


def subsample_index(n_images: int, size: int, seed: int) -> np.ndarray:
    """A seeded random subset of the probe images (sorted), all of them if ``size`` ≥ n."""
    if size >= n_images:
        return np.arange(n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, size, replace=False))


def relative_depth(arch: str, layer: str) -> float:
    """Index of ``layer`` among ``arch``'s read-out layers, scaled to [0, 1]."""
    names = models.layer_names(arch)
    return names.index(layer) / max(len(names) - 1, 1)


# ------------------------------------------------------------------ subsample (Gram/RDM) measures
class SubsampleLayer:
    """Per-image features of one layer on the subsample, with the n × n matrices the Gram-route
    measures need (computed once, indexed by bootstrap resamples)."""

    def __init__(self, x: np.ndarray, rdm_metric: str) -> None:
        self.x = x
        self.reduced = sim.reduce_features(x)
        self.was_reduced = self.reduced is not x
        self.gram = sim.gram_linear(x)
        sq = np.diag(self.gram)
        self.sq_dist = np.maximum(sq[:, None] + sq[None, :] - 2 * self.gram, 0.0)
        n = len(x)
        square = np.zeros((n, n))
        iu = np.triu_indices(n, 1)
        square[iu] = rsa.rdm(x, rdm_metric)
        self.rdm_square = square + square.T

    def rbf(self, idx: np.ndarray, fraction: float) -> np.ndarray:
        d = self.sq_dist[np.ix_(idx, idx)]
        median = np.median(d)
        return np.exp(-d / (2 * fraction**2 * median)) if median > 0 else np.ones_like(d)


def without_basis_measures(m: dict[str, float]) -> dict[str, float]:
    """``m`` with its basis-dependent measures set to NaN: undefined on PCA-reduced features.

    Matching the units themselves instead would need p × q correlations and an O(p³)
    assignment per bootstrap resample for exactly the layers wider than the subsample.
    """
    return {k: np.nan if k in BASIS_MEASURES else v for k, v in m.items()}


def subsample_measures(
    a: SubsampleLayer, b: SubsampleLayer, idx: np.ndarray, opts: dict[str, Any], kendall: bool
) -> dict[str, float]:
    """Debiased linear CKA, RBF CKA and RSA of images ``idx`` (repeats allowed: RDM entries
    that pair an image with its own copy are dropped)."""
    ii = np.ix_(idx, idx)
    iu = np.triu_indices(len(idx), 1)
    keep = idx[iu[0]] != idx[iu[1]]
    ra, rb = a.rdm_square[ii][iu][keep], b.rdm_square[ii][iu][keep]
    out = {
        "linear_cka_debiased": sim.cka(a.gram[ii], b.gram[ii], debiased=True),
        "rbf_cka": sim.cka(a.rbf(idx, opts["rbf_fraction"]), b.rbf(idx, opts["rbf_fraction"])),
        "rsa_spearman": rsa.compare(ra, rb, "spearman"),
    }
    if kendall:
        out["rsa_kendall_tau_a"] = rsa.compare(ra, rb, "kendall_tau_a")
    return out


# ------------------------------------------------------------------ per layer
def matched_correlation(s: sim.Scatter, dead_std: float) -> dict[str, float]:
    """Li et al.'s mean matched unit correlation (semi- and one-to-one matching) from the same
    scatter matrices, so that it gets the same bootstrap CI as the other measures."""
    c = correlation.scatter_correlation(s.n, s.sxx, s.syy, s.sxy, dead_std)
    return {
        "semi_matched_correlation": float(np.mean(matching.semi_matching(c)[1])),
        "matched_correlation": float(np.nanmean(matching.one_to_one_matching(c)[1])),
    }


def per_layer_rows(
    fa: ActivationFile,
    fb: ActivationFile,
    layer: str,
    opts: dict[str, Any],
    blocks: int,
    chunk_images: int,
) -> list[dict[str, Any]]:
    """Every measure of one same-named layer of A and B, with CIs, plus the shuffled null."""
    conv = effective_convention(fa, layer, fb, layer, opts["conv_convention"])
    sub = subsample_index(fa.n_images, opts["subsample"], opts["seed"])
    img_conv = opts["image_features"]
    sa = SubsampleLayer(image_features(fa, layer, sub, img_conv), opts["rdm_metric"])
    sb = SubsampleLayer(image_features(fb, layer, sub, img_conv), opts["rdm_metric"])
    rows: list[dict[str, Any]] = []

    def add(kind: str, results: dict, convention: str, samples: float) -> None:
        for measure, (value, lo, hi) in results.items():
            rows.append(
                {"kind": kind, "measure": measure, "value": value, "ci_low": lo, "ci_high": hi,
                 "convention": convention, "samples": samples}
            )

    # scatter route: exact over every probe image (or the subsample for 'flatten'), block bootstrap
    if conv == "flatten":
        moments = block_moments_of(sa.reduced, sb.reduced, blocks)
        perm = shuffled_pairing(len(sub), opts["seed"] + 1)
        null_moments = block_moments_of(sa.reduced, sb.reduced[perm], blocks)
    else:
        moments = stream_moments(fa, layer, fb, layer, conv, blocks, chunk_images)
        perm = shuffled_pairing(fa.n_images, opts["seed"] + 1)
        null_moments = (
            stream_moments(fa, layer, fb, layer, conv, blocks, chunk_images, perm)
            if opts["nulls"]["shuffled"]
            else None
        )
    dead_std = opts.get("dead_unit_std", 1e-6)
    reduced = conv == "flatten" and (sa.was_reduced or sb.was_reduced)

    def scatter_stat(moms):
        def stat(idx: np.ndarray) -> dict[str, float]:
            s = sim.Scatter.from_moments(*moms, idx)
            m = sim.scatter_measures(s, opts["svcca_keep"])
            m.update(matched_correlation(s, dead_std))
            return without_basis_measures(m) if reduced else m

        return stat

    samples = float(moments[2].count.sum())
    add("pair", bootstrap(scatter_stat(moments), blocks, opts["bootstrap"], opts["seed"],
                          opts["ci"]), conv, samples)
    if null_moments is not None:
        est = scatter_stat(null_moments)(np.arange(blocks))
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, conv, samples)

    # Gram route on the subsample, image bootstrap
    kendall = opts["kendall"]
    add("pair", bootstrap(lambda idx: subsample_measures(sa, sb, idx, opts, kendall), len(sub),
                          opts["bootstrap"], opts["seed"], opts["ci"]), img_conv, float(len(sub)))
    if opts["nulls"]["shuffled"]:
        perm = shuffled_pairing(len(sub), opts["seed"] + 1)
        sb_null = SubsampleLayer(sb.x[perm], opts["rdm_metric"])
        est = subsample_measures(sa, sb_null, np.arange(len(sub)), opts, kendall)
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, img_conv,
            float(len(sub)))
    return rows


# ------------------------------------------------------------------ layer × layer
def layer_by_layer_rows(
    fa: ActivationFile, fb: ActivationFile, layers: list[str], opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every (layer of A, layer of B) on the subsample's per-image features (no CIs)."""
    sub = subsample_index(fa.n_images, opts["subsample"], opts["seed"])
    conv = opts["image_features"]
    feats = [
        {layer: SubsampleLayer(image_features(f, layer, sub, conv), opts["rdm_metric"])
         for layer in layers}
        for f in (fa, fb)
    ]
    rows = []
    all_idx = np.arange(len(sub))
    for la, xa in feats[0].items():
        for lb, xb in feats[1].items():
            m = sim.data_measures(xa.reduced, xb.reduced, opts["svcca_keep"])
            if xa.was_reduced or xb.was_reduced:
                m = without_basis_measures(m)
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
    for layer in layers:
        for r in per_layer_rows(fa, fb, layer, opts, blocks, chunk_images):
            rows.append({"analysis": "per_layer", **base, "layer_a": layer, "layer_b": layer, **r})
    if opts["layer_by_layer"]:
        for r in layer_by_layer_rows(fa, fb, layers, opts):
            rows.append({"analysis": "layer_by_layer", **base, **r})
    for r in rows:
        r["depth_a"] = relative_depth(arch_a, r["layer_a"])
        r["depth_b"] = relative_depth(arch_b, r["layer_b"])
    return rows
