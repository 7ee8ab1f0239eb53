"""CLI steps of the Li et al. (2016) analysis suite (registered by :mod:`convergent.cli`).

One step per rule: ``mutual-information``, ``sparse-prediction`` and ``clustering`` (per pair
and layer), ``top-units`` (per model) and one table step per family (all pairs).  Each reads
what earlier rules wrote (pair files, moments files, activation dumps), calls the pure functions
of :mod:`convergent.analysis` and writes one output atomically.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import numpy as np

from convergent import io
from convergent.io import InputError


def _spec(text: str) -> dict:
    return json.loads(text)


def _within(path: str, layer: str, dead_std: float) -> np.ndarray:
    from convergent.analysis.correlation import within_correlation

    m = io.read_group(path, "moments", layer)
    return within_correlation(m["count"].sum(), m["sum_x"].sum(0), m["sum_xy"].sum(0), dead_std)


def _pair_names(attrs: dict) -> dict:
    return {k: attrs[k] for k in ("layer", "model_a", "model_b", "architecture")}


# ------------------------------------------------------------------ mutual information
def cmd_mutual_information(args: argparse.Namespace) -> None:
    from convergent.activations import ActivationFile, check_same_probe, chunks
    from convergent.analysis import matching
    from convergent.analysis import mutual_information as mi

    opt, layer = args.spec["analysis"], args.layer
    bins, zero = opt["mi_bins"], opt["mi_zero"]
    model_a, model_b = args.spec["models"]
    with ActivationFile(args.a, model_a) as fa, ActivationFile(args.b, model_b) as fb:
        check_same_probe(fa, fb)
        shape = fa.layer(layer).shape
        rows = fa.n_images * int(np.prod(shape[2:]))
        parts = list(chunks(fa.n_images, opt["blocks"], opt["chunk_images"]))

        def both(start: int, stop: int) -> np.ndarray:
            return np.hstack([fa.samples(layer, start, stop), fb.samples(layer, start, stop)])

        # pass 1: per-unit bin edges from a row subsample (the same rows for both nets)
        sample = mi.subsample_rows(
            (both(s, e) for _, s, e in parts), rows, opt["mi_quantile_samples"], seed=0
        )
        p = shape[1]
        edges_a = mi.bin_edges(sample[:, :p], bins, zero)
        edges_b = mi.bin_edges(sample[:, p:], bins, zero)
        del sample
        # pass 2: joint histograms of every unit pair
        hist = mi.JointHistogram(edges_a, edges_b, zero)
        for _, start, stop in parts:
            hist.add(fa.samples(layer, start, stop), fb.samples(layer, start, stop))
    info = mi.mutual_information(hist.counts, opt["mi_correction"])
    plugin = mi.mutual_information(hist.counts, "none")
    h_a = mi.entropy(hist.counts[:, 0].sum(axis=2))
    h_b = mi.entropy(hist.counts[0].sum(axis=1))
    pair = io.read_attrs(args.pair, "pair")
    corr_semi = io.read_group(args.pair, "pair", "semi_a2b")
    semi_a2b, semi_b2a = matching.semi_matching(info), matching.semi_matching(info.T)
    one = matching.one_to_one_matching(info)
    k = min(opt["mi_top_k"], p)
    groups = {
        "mi": {"value": info, "plugin": plugin, "entropy_a": h_a, "entropy_b": h_b},
        "edges": {"a": edges_a, "b": edges_b},
        "semi_a2b": dict(zip(("partner", "value"), semi_a2b, strict=True)),
        "semi_b2a": dict(zip(("partner", "value"), semi_b2a, strict=True)),
        "one2one": dict(zip(("partner", "value"), one, strict=True)),
    }
    attrs = {
        **_pair_names(pair),
        "samples": int(hist.counts[0, 0].sum()),
        "bins": bins,
        "correction": opt["mi_correction"],
        "quantile_rows": opt["mi_quantile_samples"] or rows,
        "top_k": k,
        "top_k_agree": mi.top_pair_agreement(
            corr_semi["value"], corr_semi["partner"], semi_a2b[0], k
        ),
        "same_partner_fraction": float(np.mean(corr_semi["partner"] == semi_a2b[0])),
    }
    io.write_arrays(args.out, "mutual_information", groups, attrs)
    print(
        f"{layer}: mean semi-matched MI {semi_a2b[1].mean():.3f} nats; "
        f"{attrs['top_k_agree']} of the {k} best correlation pairs agree"
    )


# ------------------------------------------------------------------ sparse prediction
def _block_sums(pair: str, moments_a: str, moments_b: str, layer: str):
    from convergent.analysis.sparse_prediction import BlockSums

    with io.open_h5(pair, "pair file") as f:
        if "cross" not in f:
            raise InputError(
                f"{pair}: has no per-block cross sums ('cross'); it was written by an older "
                "compare step — delete it and rerun snakemake"
            )
    cross = io.read_group(pair, "pair", "cross")
    ma = io.read_group(moments_a, "moments", layer)
    mb = io.read_group(moments_b, "moments", layer)
    for path, m in ((moments_a, ma), (moments_b, mb)):
        if not np.array_equal(m["count"], cross["count"]):
            raise InputError(
                f"{path}: per-block counts differ from {pair}'s (blocks or probe changed); "
                "rerun snakemake to rebuild both"
            )
    diag = lambda m: np.diagonal(m["sum_xy"], axis1=1, axis2=2)  # noqa: E731
    a2b = BlockSums(
        cross["count"], cross["sum_x"], cross["sum_y"], ma["sum_xy"], cross["sum_xy"], diag(mb)
    )
    return a2b, a2b.transposed(mb["sum_xy"], diag(ma))


def cmd_sparse_prediction(args: argparse.Namespace) -> None:
    from convergent.analysis.sparse_prediction import sparse_prediction

    opt, layer = args.spec["analysis"], args.layer
    penalties = np.asarray(opt["sparse_penalties"], dtype=float)
    folds = opt["sparse_folds"]  # at most analysis.blocks: checked with the config
    groups = {"penalties": {"value": penalties}}
    for name, sums in zip(
        ("a2b", "b2a"), _block_sums(args.pair, args.moments_a, args.moments_b, layer), strict=True
    ):
        r = sparse_prediction(sums, penalties, folds, opt["dead_unit_std"])
        groups[name] = {
            "loss": r.loss,
            "nonzero": r.nonzero,
            "weights": r.weights.astype(np.float64),
        }
    attrs = {
        **_pair_names(io.read_attrs(args.pair, "pair")),
        "folds": folds,
        "blocks": len(sums.count),
    }
    io.write_arrays(args.out, "sparse_prediction", groups, attrs)
    loss = np.nanmean(groups["a2b"]["loss"], axis=1)
    print(f"{layer} A->B held-out ½MSE: " + ", ".join(f"{v:.3f}" for v in loss))


# ------------------------------------------------------------------ clustering
def cmd_clustering(args: argparse.Namespace) -> None:
    from convergent.analysis import clustering as cl

    opt, layer = args.spec["analysis"], args.layer
    dead = opt["dead_unit_std"]
    c_ab = io.read_group(args.pair, "pair", "correlation")["between"]
    s = cl.joint_matrix(
        _within(args.moments_a, layer, dead), c_ab, _within(args.moments_b, layer, dead)
    )
    a = cl.affinity(s, opt["cluster_affinity"])
    p = c_ab.shape[0]
    k = opt["clusters"] or cl.default_clusters(p)
    k = min(k, len(s) - 1)
    spectral = cl.spectral_labels(a, k)
    link, leaves, hac = cl.hierarchical(a, k)
    groups = {
        "joint": {"correlation": s},
        "spectral": {"labels": spectral, "order": cl.cluster_order(spectral, a)},
        "hierarchical": {"labels": hac, "order": leaves, "linkage": link},
    }
    attrs = {
        **_pair_names(io.read_attrs(args.pair, "pair")),
        "clusters": k,
        "affinity": opt["cluster_affinity"],
        "units_a": p,
    }
    for method, labels in (("spectral", spectral), ("hierarchical", hac)):
        comp = cl.composition(labels, p)
        for key in ("shared", "only_a", "only_b", "one_to_one"):
            attrs[f"{method}_{key}"] = getattr(comp, key)
    io.write_arrays(args.out, "clustering", groups, attrs)
    print(
        f"{layer}: {k} clusters; spectral {attrs['spectral_shared']} shared, "
        f"{attrs['spectral_only_a'] + attrs['spectral_only_b']} single-net"
    )


# ------------------------------------------------------------------ top units
def cmd_top_units(args: argparse.Namespace) -> None:
    from convergent.activations import ActivationFile, chunks
    from convergent.analysis.top_units import TopUnits

    groups = {}
    with ActivationFile(args.activations, args.spec["model"]) as f:
        for layer in args.spec["layers"]:
            top = TopUnits.empty(f.units(layer), args.spec["patches"])
            # one block: the running top-n (a stable merge) does not depend on the chunking
            for _, start, stop in chunks(f.n_images, 1, args.spec["chunk_images"]):
                top.add(f.layer(layer)[start:stop], start)
            groups[layer] = top.as_dict()
        groups["probe"] = {"index": f.file["probe/index"][()]}
        attrs = {k: f.attrs[k] for k in ("model", "architecture", "probe_hash")}
    io.write_arrays(args.out, "top_units", groups, attrs)


# ------------------------------------------------------------------ tables
# One step (and rule) per table family: a failing family never takes the others' tables with it.
def cmd_mi_tables(args: argparse.Namespace) -> None:
    from convergent import li_tables

    per_pair = li_tables.mi_rows(args.inputs)
    summary = li_tables.mi_summary(per_pair, args.layers)
    li_tables.write_csv(per_pair, args.per_pair)
    li_tables.write_csv(summary, args.summary)
    print(summary.to_string(index=False, float_format="%.3f"))


def cmd_sparse_tables(args: argparse.Namespace) -> None:
    from convergent import li_tables

    per_pair = li_tables.sparse_rows(args.inputs)
    loss, predictors = li_tables.sparse_tables(per_pair, args.layers)
    li_tables.write_csv(per_pair, args.per_pair)
    li_tables.write_csv(loss, args.loss)
    li_tables.write_csv(predictors, args.predictors)
    print(loss.to_string(index=False, float_format="%.3f"))


def cmd_clustering_table(args: argparse.Namespace) -> None:
    from convergent import li_tables

    li_tables.write_csv(li_tables.clustering_rows(args.inputs, args.layers), args.out)


# ------------------------------------------------------------------ parsers
def add_steps(step: Callable[[str, Callable, str], argparse.ArgumentParser]) -> None:
    """Register the steps with ``cli.parser``'s ``step(name, func, help)``."""
    s = step("mutual-information", cmd_mutual_information, "MI matching of one layer of a pair")
    s.add_argument("--a", required=True, help="activation file of net A")
    s.add_argument("--b", required=True, help="activation file of net B")
    per_layer = [s]
    s = step("sparse-prediction", cmd_sparse_prediction, "L1 path of A->B and B->A prediction")
    per_layer.append(s)
    s = step("clustering", cmd_clustering, "spectral + hierarchical clusters of the joint matrix")
    per_layer.append(s)
    for s in per_layer:
        what = "models (ids A and B must hold), analysis" if s is per_layer[0] else "analysis"
        s.add_argument("--spec", type=_spec, required=True, help=f"JSON: {what} options")
        s.add_argument("--pair", required=True, help="the pair file of this layer")
        if s is not per_layer[0]:
            s.add_argument("--moments-a", required=True)
            s.add_argument("--moments-b", required=True)
        s.add_argument("--layer", required=True)
        s.add_argument("--out", required=True)

    s = step("top-units", cmd_top_units, "each unit's top-activating probe images")
    s.add_argument(
        "--spec", type=_spec, required=True, help="JSON: model, layers, chunk_images, patches"
    )
    s.add_argument("--activations", required=True)
    s.add_argument("--out", required=True)

    for name, func, help, outputs in (
        ("mi-tables", cmd_mi_tables, "MI matching tables", ("per-pair", "summary")),
        (
            "sparse-tables",
            cmd_sparse_tables,
            "sparse prediction tables (Li et al. Table 1)",
            ("per-pair", "loss", "predictors"),
        ),
        ("clustering-table", cmd_clustering_table, "cluster composition table", ("out",)),
    ):
        s = step(name, func, help)
        s.add_argument("--inputs", nargs="+", required=True, help="the per-pair result files")
        s.add_argument("--layers", nargs="+", required=True, help="layer order of the rows")
        for out in outputs:
            s.add_argument(f"--{out}", required=True, help="CSV written")
