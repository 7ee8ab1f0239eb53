"""Steps of workflow/rules/li_analyses.smk, the rest of Li et al. (2016): mutual-information
matching, sparse prediction and clustering (per pair and layer), each unit's top-activating
images (per model), and one table step per family (all pairs)."""

from __future__ import annotations

import argparse

import numpy as np

from convergent.io import InputError
from convergent.progress import progress
from convergent.steps import Step, add_spec

#: the attributes naming one layer of one pair, copied from its pair file into every result
PAIR_NAMES = ("layer", "model_a", "model_b", "architecture")


def _pair_names(attrs: dict) -> dict:
    return {k: attrs[k] for k in PAIR_NAMES}


# ------------------------------------------------------------------ per pair and layer
def mutual_information(args: argparse.Namespace) -> None:
    from convergent.analysis import matching
    from convergent.analysis import mutual_information as mi
    from convergent.io.activations import ActivationFile, check_same_probe
    from convergent.io.layouts import MutualInformationFile, PairFile, UnitInformation
    from convergent.moments import chunks

    opt, layer = args.spec["analysis"], args.layer
    models = tuple(args.spec["models"])
    with ActivationFile(args.a, models[0]) as fa, ActivationFile(args.b, models[1]) as fb:
        check_same_probe(fa, fb)
        shape = fa.layer(layer).shape
        rows = fa.n_images * int(np.prod(shape[2:]))
        parts = list(chunks(fa.n_images, opt["blocks"], opt["chunk_images"]))
        passes = iter(("bin edges", "joint histograms"))  # unit_histograms' two passes

        def chunk_pairs():
            with progress(fa.n_images, "img", f"MI {next(passes)} {layer}") as bar:
                for _, start, stop in parts:
                    yield fa.samples(layer, start, stop), fb.samples(layer, start, stop)
                    bar.update(stop - start)

        edges_a, edges_b, counts = mi.unit_histograms(
            chunk_pairs, rows, shape[1], opt["mi_bins"], opt["mi_zero"], opt["mi_quantile_samples"]
        )
    info = UnitInformation(
        mi.mutual_information(counts, opt["mi_correction"]),
        mi.mutual_information(counts, "none"),
        mi.entropy(counts[:, 0].sum(axis=2)),
        mi.entropy(counts[0].sum(axis=1)),
    )
    pair = PairFile(args.pair, models=models)
    corr_semi = pair.matchings().semi_a2b
    matchings = matching.matchings(info.value)
    semi = matchings.semi_a2b
    k = min(opt["mi_top_k"], shape[1])
    attrs = {
        **_pair_names(pair.attrs),
        "samples": int(counts[0, 0].sum()),
        "bins": opt["mi_bins"],
        "correction": opt["mi_correction"],
        "quantile_rows": opt["mi_quantile_samples"] or rows,
        "top_k": k,
        "top_k_agree": mi.top_pair_agreement(corr_semi.value, corr_semi.partner, semi.partner, k),
        "same_partner_fraction": float(np.mean(corr_semi.partner == semi.partner)),
    }
    MutualInformationFile.save(args.out, info, (edges_a, edges_b), matchings, attrs)
    print(
        f"{layer}: mean semi-matched MI {semi.value.mean():.3f} nats; "
        f"{attrs['top_k_agree']} of the {k} best correlation pairs agree"
    )


def _block_sums(pair, moments_a: str, moments_b: str, layer: str):
    """The per-block sums of sparse prediction both ways, from the pair file's cross sums and
    the two models' within sums (no pass over the activations)."""
    from convergent.analysis.sparse_prediction import BlockSums
    from convergent.io.layouts import MomentsFile

    cross = pair.cross()
    ma, mb = (MomentsFile(path).layer(layer) for path in (moments_a, moments_b))
    for path, m in ((moments_a, ma), (moments_b, mb)):
        if not np.array_equal(m.count, cross.count):
            raise InputError(
                f"{path}: per-block counts differ from {pair.path}'s (blocks or probe changed); "
                "rerun snakemake to rebuild both"
            )
    a2b = BlockSums.from_moments(ma, mb, cross)
    return a2b, a2b.transposed(mb.sum_xy, np.diagonal(ma.sum_xy, axis1=1, axis2=2))


def sparse_prediction(args: argparse.Namespace) -> None:
    from convergent.analysis.sparse_prediction import sparse_prediction
    from convergent.io.layouts import DIRECTIONS, PairFile, SparseFit, SparsePredictionFile

    opt, layer = args.spec["analysis"], args.layer
    penalties = np.asarray(opt["sparse_penalties"], dtype=float)
    folds = opt["sparse_folds"]  # at most analysis.blocks: checked with the config
    pair = PairFile(args.pair)
    fits = {}
    for direction, sums in zip(
        DIRECTIONS, _block_sums(pair, args.moments_a, args.moments_b, layer), strict=True
    ):
        # one lasso path per fold and one on all blocks, each a fit per penalty
        fits_total = (folds + 1) * len(penalties)
        with progress(fits_total, "fit", f"sparse prediction {layer} {direction}") as bar:
            r = sparse_prediction(sums, penalties, folds, opt["dead_unit_std"], advance=bar.update)
        fits[direction] = SparseFit(r.loss, r.nonzero, r.weights)
    attrs = {**_pair_names(pair.attrs), "folds": folds, "blocks": len(sums.count)}
    SparsePredictionFile.save(args.out, penalties, fits, attrs)
    loss = np.nanmean(fits["a2b"].loss, axis=1)
    print(f"{layer} A->B held-out ½MSE: " + ", ".join(f"{v:.3f}" for v in loss))


def clustering(args: argparse.Namespace) -> None:
    from convergent.analysis import clustering as cl
    from convergent.io.layouts import ClusteringFile, Clusterings, Clusters, MomentsFile, PairFile

    opt, layer = args.spec["analysis"], args.layer
    dead = opt["dead_unit_std"]
    pair = PairFile(args.pair)
    c_ab = pair.between()
    within = [MomentsFile(p).layer(layer).within_correlation(dead)
              for p in (args.moments_a, args.moments_b)]
    s = cl.joint_matrix(within[0], c_ab, within[1])
    a = cl.affinity(s, opt["cluster_affinity"])
    p = c_ab.shape[0]
    k = min(opt["clusters"] or cl.default_clusters(p), len(s) - 1)
    with progress(2, "method", f"clustering {layer}: {len(s)} units, {k} clusters") as bar:
        spectral = cl.spectral_labels(a, k)
        bar.update()
        link, leaves, hac = cl.hierarchical(a, k)
        bar.update()
    clusterings = Clusterings(Clusters(spectral, cl.cluster_order(spectral, a)),
                              Clusters(hac, leaves, link))
    attrs = {
        **_pair_names(pair.attrs),
        "clusters": k,
        "affinity": opt["cluster_affinity"],
        "units_a": p,
    }
    for method, labels in (("spectral", spectral), ("hierarchical", hac)):
        comp = cl.composition(labels, p)
        for key in ("shared", "only_a", "only_b", "one_to_one"):
            attrs[f"{method}_{key}"] = getattr(comp, key)
    ClusteringFile.save(args.out, s, clusterings, attrs)
    print(
        f"{layer}: {k} clusters; spectral {attrs['spectral_shared']} shared, "
        f"{attrs['spectral_only_a'] + attrs['spectral_only_b']} single-net"
    )


# ------------------------------------------------------------------ per model
def top_units(args: argparse.Namespace) -> None:
    from convergent.analysis.top_units import TopUnits
    from convergent.io.activations import ActivationFile
    from convergent.io.layouts import TopUnitsFile
    from convergent.moments import chunks

    layers = {}
    with ActivationFile(args.activations, args.spec["model"]) as f:
        for layer in args.spec["layers"]:
            top = TopUnits.empty(f.units(layer), args.spec["patches"])
            # one block: the running top-n (a stable merge) does not depend on the chunking
            with progress(f.n_images, "img", f"top units {layer}") as bar:
                for _, start, stop in chunks(f.n_images, 1, args.spec["chunk_images"]):
                    top.add(f.layer(layer)[start:stop], start)
                    bar.update(stop - start)
            layers[layer] = top
        attrs = {k: f.attrs[k] for k in ("model", "architecture", "probe_hash")}
        index = f.probe_index
    TopUnitsFile.save(args.out, layers, index, attrs)


# ------------------------------------------------------------------ tables
def mi_tables(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.mutual_information import mi_rows, mi_summary

    per_pair = mi_rows(args.inputs)
    summary = mi_summary(per_pair, args.layers)
    write_csv(per_pair, args.per_pair)
    write_csv(summary, args.summary)
    print(summary.to_string(index=False, float_format="%.3f"))


def sparse_tables(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.sparse_prediction import sparse_rows
    from convergent.tables.sparse_prediction import sparse_tables as tables

    per_pair = sparse_rows(args.inputs)
    loss, predictors = tables(per_pair, args.layers)
    write_csv(per_pair, args.per_pair)
    write_csv(loss, args.loss)
    write_csv(predictors, args.predictors)
    print(loss.to_string(index=False, float_format="%.3f"))


def clustering_table(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.clustering import clustering_rows

    write_csv(clustering_rows(args.inputs, args.layers), args.out)


def register(step: Step) -> None:
    s = step("mutual-information", mutual_information, "MI matching of one layer of a pair")
    add_spec(s, "models (the ids files A and B must hold), layers, analysis")
    s.add_argument("--a", required=True, help="activation file of model A")
    s.add_argument("--b", required=True, help="activation file of model B")
    per_layer = [s]
    s = step("sparse-prediction", sparse_prediction, "L1 path of A->B and B->A prediction")
    add_spec(s, "layers, analysis")
    per_layer.append(s)
    s = step("clustering", clustering, "spectral + hierarchical clusters of the joint matrix")
    add_spec(s, "layers, analysis")
    per_layer.append(s)
    for s in per_layer:
        s.add_argument("--pair", required=True, help="the pair file of this layer")
        if s is not per_layer[0]:
            s.add_argument("--moments-a", required=True, help="moments file of model A")
            s.add_argument("--moments-b", required=True, help="moments file of model B")
        s.add_argument("--layer", required=True, help="the layer analysed")
        s.add_argument("--out", required=True, help="the result file written")

    s = step("top-units", top_units, "each unit's top-activating probe images")
    add_spec(s, "model, layers, chunk_images, patches")
    s.add_argument("--activations", required=True, help="the model's activation file")
    s.add_argument("--out", required=True, help="the top-units file written")

    for name, func, help, outputs in (
        ("mi-tables", mi_tables, "MI matching tables", ("per-pair", "summary")),
        (
            "sparse-tables",
            sparse_tables,
            "sparse prediction tables (Li et al. Table 1)",
            ("per-pair", "loss", "predictors"),
        ),
        ("clustering-table", clustering_table, "cluster composition table", ("out",)),
    ):
        s = step(name, func, help)
        s.add_argument("--inputs", nargs="+", required=True, help="the per-pair result files")
        s.add_argument("--layers", nargs="+", required=True, help="layer order of the rows")
        for out in outputs:
            s.add_argument(f"--{out}", required=True, help="CSV written")
