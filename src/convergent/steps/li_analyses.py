"""Steps of workflow/rules/li_analyses.smk, the rest of Li et al. (2016): mutual-information
matching, sparse prediction and clustering (per layer and block of pairs: a model B and its
partners A, one member per pair), each unit's top-activating images (per model), and one table
step per family (all pairs)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from convergent.io import InputError
from convergent.io.hdf5 import Groups
from convergent.progress import progress
from convergent.steps.compare import add_block_arguments, partner_name
from convergent.steps.spec import Step, add_spec

if TYPE_CHECKING:
    from convergent.io.layouts import PairFile

#: the attributes naming one layer of one pair, copied from its pair file into every result
PAIR_NAMES = ("layer", "model_a", "model_b", "architecture")


def _pair_names(attrs: dict) -> dict:
    return {k: attrs[k] for k in PAIR_NAMES}


# ------------------------------------------------------------------ per pair and layer
#: per pass of the MI histograms (its name), per chunk, each layer's paired (samples × units)
#: float64 rows of A and B: the same chunks in both passes
ChunkPairs = Callable[[str], Iterable[dict[str, tuple[np.ndarray, np.ndarray]]]]


def mutual_information(args: argparse.Namespace) -> None:
    from convergent.io.activations import ActivationFile, check_same_probe
    from convergent.io.layouts import MutualInformationFile, PairFile

    opt, layer, models = args.spec["analysis"], args.layer, args.spec["models"]
    with ActivationFile(args.b, models["b"]) as fb, \
            MutualInformationFile.block(args.out) as add:
        for path, model in zip(args.a, models["a"], strict=True):
            pair = PairFile(args.pair, partner_name(model), models=(model, models["b"]))
            with ActivationFile(path, model) as fa:
                check_same_probe(fa, fb)
                chunk_pairs = _dumped_chunks(fa, fb, layer, opt, pair.member)
                add(pair.member, *pair_information(opt, {layer: pair}, chunk_pairs)[layer])


def _dumped_chunks(fa, fb, layer: str, opt: dict, label: str) -> ChunkPairs:
    """The chunks of one layer of two activation dumps (:data:`ChunkPairs`)."""
    from convergent.moments import chunks

    parts = list(chunks(fa.n_images, opt["blocks"], opt["chunk_images"]))

    def chunk_pairs(name: str):
        with progress(fa.n_images, "img", f"MI {name} {layer} {label}") as bar:
            for _, start, stop in parts:
                yield {layer: (fa.samples(layer, start, stop), fb.samples(layer, start, stop))}
                bar.update(stop - start)

    return chunk_pairs


def pair_information(
    opt: dict, pairs: dict[str, PairFile], chunk_pairs: ChunkPairs
) -> dict[str, tuple[Groups, dict]]:
    """Per layer of one pair (A, B), the MI file member: MI of every unit pair, its matchings
    and the top-k agreement with the correlation matching of ``pairs[layer]`` (the layer's pair
    file member), from the two passes of every layer's histograms over ``chunk_pairs`` (from
    the dumps, one layer: ``mutual-information``; from the networks, all layers at once:
    ``stream-mutual-information``)."""
    from convergent.analysis import mutual_information as mi

    corr, hists = {}, {}
    for layer, pair in pairs.items():
        if pair.attrs["layer"] != layer:
            raise InputError(f"{pair.path}: a pair file of layer {pair.attrs['layer']!r}, "
                             f"given as {layer!r}'s; pass the files in the layers' order")
        corr[layer] = pair.matchings().semi_a2b
        hists[layer] = mi.UnitHistograms(int(pair.attrs["samples"]), opt["mi_bins"],
                                         opt["mi_zero"], opt["mi_quantile_samples"])
    for name in mi.PASSES:
        for chunk in chunk_pairs(name):
            for layer, (xa, xb) in chunk.items():
                hists[layer].add(xa, xb)
        for layer, hist in hists.items():
            try:
                hist.end_pass()
            except ValueError as err:  # the activations hold other rows than the pair file
                raise InputError(f"{pairs[layer].path}: {pairs[layer].member} is of other "
                                 f"samples ({err}); rerun snakemake to rebuild it") from None
    return {layer: _information(opt, pairs[layer], corr[layer], *hist.result())
            for layer, hist in hists.items()}


def _information(opt: dict, pair, corr_semi, edges_a, edges_b, counts) -> tuple[Groups, dict]:
    """The MI file member of one layer of one pair from its joint histograms."""
    from convergent.analysis import matching
    from convergent.analysis import mutual_information as mi
    from convergent.io.layouts import MutualInformationFile, UnitInformation

    info = UnitInformation(
        mi.mutual_information(counts, opt["mi_correction"]),
        mi.mutual_information(counts, "none"),
        mi.entropy(counts[:, 0].sum(axis=2)),
        mi.entropy(counts[0].sum(axis=1)),
    )
    matchings = matching.matchings(info.value)
    semi = matchings.semi_a2b
    k = min(opt["mi_top_k"], len(semi.value))
    attrs = {
        **_pair_names(pair.attrs),
        "samples": int(counts[0, 0].sum()),
        "bins": opt["mi_bins"],
        "correction": opt["mi_correction"],
        "quantile_rows": opt["mi_quantile_samples"] or int(pair.attrs["samples"]),
        "top_k": k,
        "top_k_agree": mi.top_pair_agreement(corr_semi.value, corr_semi.partner, semi.partner, k),
        # a unit all in one bin (dead) has MI 0 with every unit: no partner of its own
        "same_partner_fraction": matching.partner_agreement(corr_semi.partner, semi.partner,
                                                            info.entropy_a > 0),
    }
    print(
        f"{attrs['layer']} {pair.member}: mean semi-matched MI {semi.value.mean():.3f} nats; "
        f"{attrs['top_k_agree']} of the {k} best correlation pairs agree"
    )
    return MutualInformationFile.groups(info, (edges_a, edges_b), matchings), attrs


def _pairs_with_moments(args: argparse.Namespace):
    """Each pair of the block's pair file with its two models' moments files, checked to be
    the files of the pair's models (the rule passes the partners' files in pair order)."""
    from convergent.io.layouts import MomentsFile, PairFile

    pairs = PairFile.each(args.pair)
    if len(pairs) != len(args.moments_a):
        raise InputError(f"{args.pair}: holds {len(pairs)} pairs, given {len(args.moments_a)} "
                         "partners' moments; rerun snakemake to rebuild it")
    for pair, moments_a in zip(pairs, args.moments_a, strict=True):
        for path, model in ((moments_a, pair.attrs["model_a"]), (args.moments_b,
                                                                  pair.attrs["model_b"])):
            MomentsFile(path, model=model)
        yield pair, moments_a, args.moments_b


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
    from convergent.io.layouts import DIRECTIONS, SparseFit, SparsePredictionFile

    opt, layer = args.spec["analysis"], args.layer
    penalties = np.asarray(opt["sparse_penalties"], dtype=float)
    folds = opt["sparse_folds"]  # at most analysis.blocks: checked with the config
    with SparsePredictionFile.block(args.out) as add:
        for pair, moments_a, moments_b in _pairs_with_moments(args):
            fits = {}
            for direction, sums in zip(
                DIRECTIONS, _block_sums(pair, moments_a, moments_b, layer), strict=True
            ):
                # one lasso path per fold and one on all blocks, each a fit per penalty
                fits_total = (folds + 1) * len(penalties)
                with progress(fits_total, "fit",
                              f"sparse prediction {layer} {pair.member} {direction}") as bar:
                    r = sparse_prediction(sums, penalties, folds, opt["dead_unit_std"],
                                          advance=bar.update)
                fits[direction] = SparseFit(r.loss, r.nonzero, r.weights)
            attrs = {**_pair_names(pair.attrs), "folds": folds, "blocks": len(sums.count)}
            add(pair.member, SparsePredictionFile.groups(penalties, fits), attrs)
            loss = np.nanmean(fits["a2b"].loss, axis=1)
            print(f"{layer} {pair.member} A->B held-out ½MSE: "
                  + ", ".join(f"{v:.3f}" for v in loss))


def clustering(args: argparse.Namespace) -> None:
    from convergent.io.layouts import ClusteringFile

    with ClusteringFile.block(args.out) as add:
        for pair, moments_a, moments_b in _pairs_with_moments(args):
            add(pair.member, *_pair_clusters(args, pair, moments_a, moments_b))


def _pair_clusters(args: argparse.Namespace, pair, moments_a: str, moments_b: str):
    """Both clusterings of one pair's joint correlation matrix, and their composition."""
    from convergent.analysis import clustering as cl
    from convergent.io.layouts import ClusteringFile, Clusterings, Clusters, MomentsFile

    opt, layer = args.spec["analysis"], args.layer
    dead = opt["dead_unit_std"]
    c_ab = pair.between()
    within = [MomentsFile(p).layer(layer).within_correlation(dead)
              for p in (moments_a, moments_b)]
    s = cl.joint_matrix(within[0], c_ab, within[1])
    a = cl.affinity(s, opt["cluster_affinity"])
    p = c_ab.shape[0]
    live = cl.live_units(s)
    if live.sum() < 3:
        raise InputError(
            f"{layer} {pair.member}: {live.sum()} of the pair's {len(s)} units vary on the probe "
            "images (analysis.dead_unit_std), clustering needs 3; check the networks, or leave the "
            "layer out of layers"
        )
    k = min(opt["clusters"] or cl.default_clusters(p), int(live.sum()) - 1)
    with progress(2, "method", f"clustering {layer} {pair.member}: {live.sum()} live units of "
                  f"{len(s)} ({len(s) - live.sum()} dead, left out), {k} clusters") as bar:
        spectral = cl.spectral_labels(a, k, live)
        bar.update()
        link, leaves, hac = cl.hierarchical(a, k, live)
        bar.update()
    clusterings = Clusterings(Clusters(spectral, cl.cluster_order(spectral, a)),
                              Clusters(hac, leaves, link))
    attrs = {
        **_pair_names(pair.attrs),
        "clusters": k,
        "affinity": opt["cluster_affinity"],
        "units_a": p,
        "dead_units": int(len(s) - live.sum()),
    }
    for method, labels in (("spectral", spectral), ("hierarchical", hac)):
        comp = cl.composition(labels, p)
        for key in ("shared", "only_a", "only_b", "one_to_one"):
            attrs[f"{method}_{key}"] = getattr(comp, key)
    print(
        f"{layer} {pair.member}: {k} clusters; spectral {attrs['spectral_shared']} shared, "
        f"{attrs['spectral_only_a'] + attrs['spectral_only_b']} single-net"
    )
    return ClusteringFile.groups(s, clusterings), attrs


# ------------------------------------------------------------------ per model
def top_units(args: argparse.Namespace) -> None:
    from convergent.io.activations import ActivationFile
    from convergent.io.layouts import TopUnitsFile
    from convergent.moments import chunks

    spec = args.spec
    with ActivationFile(args.activations, spec["model"]) as f:
        # one block: the running top-n (a stable merge) does not depend on the chunking
        parts = ((start, {layer: f.layer(layer)[start:stop] for layer in spec["layers"]})
                 for _, start, stop in chunks(f.n_images, 1, spec["chunk_images"]))
        with progress(f.n_images, "img", f"top units of {len(spec['layers'])} layers") as bar:
            layers = top_units_of(parts, spec["patches"], bar.update)
        attrs = {k: f.attrs[k] for k in ("model", "architecture", "probe_hash")}
        TopUnitsFile.save(args.out, layers, f.probe_index, attrs)


def top_units_of(
    parts: Iterable[tuple[int, dict[str, np.ndarray]]], patches: int,
    advance: Callable[[int], object] | None = None,
) -> dict:
    """Each layer's :class:`~convergent.analysis.top_units.TopUnits` of ``patches`` images per
    unit, from (first image, {layer: (images, ...) activations}) parts in image order
    (from a dump: ``top-units``; from the network: ``stream-top-units``), in the parts' layer
    order; ``advance(n)`` after each part of n images."""
    from convergent.analysis.top_units import TopUnits
    from convergent.moments.conventions import units

    top: dict[str, TopUnits] = {}
    for start, layers in parts:
        for layer, x in layers.items():
            if layer not in top:
                top[layer] = TopUnits.empty(units(x.shape[1:]), patches)
            top[layer].add(x, start)
        if advance:
            advance(len(x))
    return top


# ------------------------------------------------------------------ tables
def mi_tables(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.mutual_information import mi_rows, mi_summary

    per_pair = mi_rows(args.inputs)
    summary = mi_summary(per_pair, args.layers, args.dataset)
    write_csv(per_pair, args.per_pair)
    write_csv(summary, args.summary)
    print(summary.to_string(index=False, float_format="%.3f"))


def sparse_tables(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.sparse_prediction import sparse_rows
    from convergent.tables.sparse_prediction import sparse_tables as tables

    per_pair = sparse_rows(args.inputs)
    loss, predictors = tables(per_pair, args.layers, args.dataset)
    write_csv(per_pair, args.per_pair)
    write_csv(loss, args.loss)
    write_csv(predictors, args.predictors)
    print(loss.to_string(index=False, float_format="%.3f"))


def clustering_table(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.clustering import clustering_rows

    write_csv(clustering_rows(args.inputs, args.layers), args.out)


def register(step: Step) -> None:
    s = step("mutual-information", mutual_information,
             "MI matching of one layer of a block of pairs")
    add_spec(s, "models ({a: partner ids, b: id}: what the files must hold), analysis")
    add_block_arguments(s, "activation")
    per_layer = [s]
    s = step("sparse-prediction", sparse_prediction, "L1 path of A->B and B->A prediction")
    add_spec(s, "layers, analysis")
    per_layer.append(s)
    s = step("clustering", clustering, "spectral + hierarchical clusters of the joint matrix")
    add_spec(s, "layers, analysis")
    per_layer.append(s)
    for s in per_layer:
        s.add_argument("--pair", required=True, help="the block's pair file of this layer")
        if s is not per_layer[0]:
            s.add_argument("--moments-a", nargs="+", required=True,
                           help="moments files of the partners A, in the pair file's order")
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
        s.add_argument("--inputs", nargs="+", required=True, help="the blocks' result files")
        s.add_argument("--layers", nargs="+", required=True, help="layer order of the rows")
        for out in outputs:
            s.add_argument(f"--{out}", required=True, help="CSV written")
        if name != "clustering-table":
            s.add_argument("--dataset", required=True,
                           help="dataset.name (published values match it)")
