"""Steps of workflow/rules/similarity.smk: every similarity measure of each pair of a block
(the pairs whose later model is one model) — per layer (bootstrap CIs, the shuffled-pairing
null) and layer × layer — and their tables.  Per-model work (subsample features, within-net
sums) is done once per model and job; a pair streams its cross sums only, from the activation
dumps (``similarity``) or, under ``probe.stream``, from its networks' forward pass
(``stream-similarity``, rule stream_similarity): both gather a pair-layer's data
(:class:`LayerData`) that the same measures read.

A pair's rows are long-format, one per number: analysis (per_layer | layer_by_layer), kind
(pair | shuffled), the two models and layers, the layers' relative depths, measure, value,
ci_low, ci_high, convention (the conv-layer convention that produced the number) and samples;
a per-layer pair row also its calibrated score against the shuffled null with its interval
(calibrated, calibrated_low, calibrated_high: :func:`convergent.analysis.measures.calibrate`).
Formulas live in :mod:`convergent.analysis.similarity` and :mod:`convergent.analysis.subsample`.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from convergent import models
from convergent.analysis import similarity as sim
from convergent.analysis.measures import calibrate, calibrate_interval
from convergent.analysis.statistics import bootstrap, shuffled_pairing
from convergent.analysis.subsample import (
    SubsampleLayer,
    in_memory_measures,
    neighbour_reasons,
    subsample_index,
    subsample_measures,
)
from convergent.io import InputError
from convergent.io.activations import ActivationFile
from convergent.moments import (
    BlockMoments,
    PairMoments,
    block_bounds,
    image_features,
    layer_moments,
    pair_moments_of_arrays,
    paired_cross_moments,
)
from convergent.moments.conventions import effective_convention, positions
from convergent.moments.sums import spec_sums_device
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


class JobModel:
    """One model's activation file in a similarity job, with the per-model work every pair of
    the job that holds it shares: its subsample features (Gram, RDM, PCA) and its per-block
    within-net sums per layer and convention — read from its moments file (``positions``,
    what the moments rule computes once per model) or else streamed once per job."""

    def __init__(
        self,
        f: ActivationFile,
        opts: dict[str, Any],
        blocks: int,
        chunk_images: int,
        moments: str | None = None,
    ) -> None:
        self.f, self.blocks, self.chunk_images, self.moments = f, blocks, chunk_images, moments
        self.sums_device = opts.get("sums_device", "cpu")
        self.feats = SubsampleLayers(f, opts)
        self._within: dict[tuple[str, str], BlockMoments] = {}

    def within(self, layer: str, convention: str) -> BlockMoments:
        """Per-block sums XᵀX of ``layer`` under ``convention`` (``mean`` or ``positions``)."""
        key = layer, convention
        if key not in self._within:
            if convention == "positions" and self.moments is not None:
                self._within[key] = self._stored(layer)
            else:
                with progress(self.f.n_images, "img", f"{layer} within sums") as bar:
                    self._within[key] = layer_moments(self.f, layer, self.blocks,
                                                      self.chunk_images, bar.update, convention,
                                                      sums_device=self.sums_device)
        return self._within[key]

    def close(self) -> None:
        self.f.file.close()

    def _stored(self, layer: str) -> BlockMoments:
        """The moments file's layer, checked against the activation file and the job's blocks."""
        per_image = positions(self.f.layer(layer).shape[1:])
        return stored_within(self.moments, self.f.attrs["model"], layer,
                             self.f.attrs.get("probe_hash"), self.f.n_images, per_image,
                             self.blocks, self.f.path)


def stored_within(
    path: str,
    model: str,
    layer: str,
    probe_hash: str | None,
    n_images: int,
    per_image: int,
    blocks: int,
    probe_of: str,
) -> BlockMoments:
    """A moments file's layer (the ``positions`` within sums), refused unless it is over the
    same probe set (``probe_hash``, named by ``probe_of``) in the job's blocks."""
    from convergent.io.layouts import MomentsFile

    f = MomentsFile(path, model=model)
    m = f.layer(layer)
    expected = [(hi - lo) * per_image for lo, hi in block_bounds(n_images, blocks)]
    if f.attrs.get("probe_hash") != probe_hash or not np.array_equal(m.count, expected):
        raise InputError(
            f"{path}: its sums are not over the probe blocks of {probe_of} "
            f"(analysis.blocks = {blocks}); rerun snakemake to rebuild it"
        )
    return m


def as_job_model(
    x: ActivationFile | JobModel, opts: dict[str, Any], blocks: int, chunk_images: int
) -> JobModel:
    """``x``, or a model of one pair alone (no moments file, nothing shared)."""
    return x if isinstance(x, JobModel) else JobModel(x, opts, blocks, chunk_images)


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


def dump_layer_data(a: JobModel, b: JobModel, layer: str, opts: dict[str, Any]) -> LayerData:
    """A pair-layer's data from the activation dumps: a pair streams its cross sums (and the
    shuffled null's) only, the within sums are each model's own."""
    fa, fb, blocks, chunk_images = a.f, b.f, a.blocks, a.chunk_images
    sums_device = opts.get("sums_device", "cpu")
    conv = effective_convention(fa, layer, fb, layer, opts["conv_convention"])
    moments = null_cross = None
    if conv != "flatten":
        within = a.within(layer, conv), b.within(layer, conv)
        with progress(fa.n_images, "img", f"{layer} cross sums") as bar:
            cross = paired_cross_moments(fa, layer, fb, layer, conv, blocks, chunk_images,
                                         advance=bar.update, sums_device=sums_device)
        moments = (*within, cross)
        if opts["nulls"]["shuffled"]:
            perm = shuffled_pairing(fa.n_images, opts["seed"] + 1)
            with progress(fa.n_images, "img", f"{layer} shuffled-pairing cross sums") as bar:
                null_cross = paired_cross_moments(fa, layer, fb, layer, conv, blocks,
                                                  chunk_images, perm, bar.update, sums_device)
    return LayerData(conv, moments, null_cross, a.feats[layer], b.feats[layer], blocks)


def per_layer_rows(
    a: JobModel, b: JobModel, layer: str, opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every measure of one same-named layer of A and B, with CIs, plus the shuffled null."""
    return layer_measures(dump_layer_data(a, b, layer, opts), layer, opts)


def layer_measures(d: LayerData, layer: str, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """Every measure of one pair-layer's data, with CIs, plus the shuffled null: the scatter
    route (exact over every probe image, or the subsample under 'flatten'; block bootstrap)
    and the Gram route on the subsample (image bootstrap)."""
    conv, blocks, sa, sb = d.convention, d.blocks, d.sub_a, d.sub_b
    n_sub = len(sa.x)
    img_conv = opts["image_features"]
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
        perm = shuffled_pairing(n_sub, opts["seed"] + 1)
        null_moments = pair_moments_of_arrays(sa.reduced, sb.reduced[perm], blocks)
    else:
        moments = d.moments
        # the null uses all blocks: the within-net sums are the pair's (paired_cross_moments)
        null_moments = None if d.null_cross is None else (*moments[:2], d.null_cross)
    dead_std = opts["dead_unit_std"]
    reduced = conv == "flatten" and (sa.was_reduced or sb.was_reduced)

    def scatter_stat(moms):
        def stat(idx: np.ndarray) -> dict[str, float]:
            s = sim.Scatter.from_moments(*moms, idx)
            m = sim.scatter_measures(s, opts["svcca_keep"], reduced, opts["shape_alpha"])
            cross = moms[2]
            means = (cross.sum_x[idx].sum(0) / s.n, cross.sum_y[idx].sum(0) / s.n)
            m.update(sim.matched_correlation(s, dead_std, means))
            return sim.without_basis_measures(m) if reduced else m

        return stat

    def why(moms) -> dict[str, str]:
        return sim.undefined_reasons(sim.Scatter.from_moments(*moms), opts["svcca_keep"],
                                     reduced)

    samples = float(moments[2].count.sum())
    if not reduced:  # principal components are no units: no dead fraction
        live = sim.live_units(sim.Scatter.from_moments(*moments), dead_std)
        dead.update(dead_a=float(1 - live[0].mean()), dead_b=float(1 - live[1].mean()))
    resamples = opts["bootstrap"] + 1  # the estimate and the bootstrap resamples
    with progress(resamples, "resample", f"{layer} scatter-route bootstrap") as bar:
        add("pair", bootstrap(scatter_stat(moments), blocks, opts["bootstrap"], opts["seed"],
                              opts["ci"], bar.update), conv, samples, why(moments))
    if null_moments is not None:
        est = scatter_stat(null_moments)(np.arange(blocks))
        add("shuffled", {k: (v, np.nan, np.nan) for k, v in est.items()}, conv, samples,
            why(null_moments))

    # Gram and neighbour routes on the subsample, image bootstrap
    kendall = opts["kendall"]
    gram_why = neighbour_reasons(n_sub, opts["knn_k"])
    with progress(resamples, "resample", f"{layer} Gram-route bootstrap") as bar:
        add("pair", bootstrap(lambda idx: subsample_measures(sa, sb, idx, opts, kendall),
                              n_sub, opts["bootstrap"], opts["seed"], opts["ci"], bar.update),
            img_conv, float(n_sub), gram_why)
    if opts["nulls"]["shuffled"]:
        perm = shuffled_pairing(n_sub, opts["seed"] + 1)
        sb_null = SubsampleLayer(sb.x[perm], opts["rdm_metric"])
        est = subsample_measures(sa, sb_null, np.arange(n_sub), opts, kendall)
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
    feats_a: SubsampleLayers | Mapping[str, SubsampleLayer],
    feats_b: SubsampleLayers | Mapping[str, SubsampleLayer],
    layers: list[str],
    opts: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every (layer of A, layer of B) on the subsample's per-image features, unit matchings
    included (no CIs)."""
    conv = opts["image_features"]
    rows = []
    n_sub = len(feats_a[layers[0]].x)
    pairs = [(la, lb) for la in layers for lb in layers]
    for la, lb in progress(len(pairs), "pair", "layer x layer", pairs):
        m, why = in_memory_measures(feats_a[la], feats_b[lb], opts, opts["dead_unit_std"])
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


def pair_rows(
    a: ActivationFile | JobModel,
    b: ActivationFile | JobModel,
    layers: list[str],
    opts: dict[str, Any],
    blocks: int,
    chunk_images: int,
) -> list[dict[str, Any]]:
    """Per-layer and layer × layer rows of one pair, from its activation dumps (an
    ActivationFile is a model of this pair alone: no moments file, nothing shared)."""
    a, b = (as_job_model(x, opts, blocks, chunk_images) for x in (a, b))
    per_layer = {layer: per_layer_rows(a, b, layer, opts) for layer in layers}
    lbl = layer_by_layer_rows(a.feats, b.feats, layers, opts) if opts["layer_by_layer"] else []
    return labelled_rows(model_id(a.f), model_id(b.f), per_layer, lbl)


def model_id(f: ActivationFile) -> str:
    """``arch/name`` of a file's model (its attrs: the dump's architecture and model)."""
    return f"{f.attrs['architecture']}/{str(f.attrs['model']).split('/')[-1]}"


PairFiles = tuple[str, str, str | None, str | None]


def _pair_files(args: argparse.Namespace, n_pairs: int, a: str = "a", b: str = "b"
                ) -> list[PairFiles]:
    """(A's file, B's file, A's moments, B's moments) per pair of the spec's models, checked
    (A's and B's files: the arguments ``--a``/``--b``, or those named ``a``/``b``)."""
    files_a, files_b = getattr(args, a), getattr(args, b)
    lists = {f"--{a.replace('_', '-')}": files_a, f"--{b.replace('_', '-')}": files_b}
    if args.moments_a is not None or args.moments_b is not None:
        lists.update({"--moments-a": args.moments_a or [], "--moments-b": args.moments_b or []})
    for flag, files in lists.items():
        if len(files) != n_pairs:
            raise InputError(
                f"{flag}: {len(files)} files for the spec's {n_pairs} pairs of models; give one "
                "per pair, in the order of the spec's models"
            )
    none = [None] * n_pairs
    return list(zip(files_a, files_b, args.moments_a or none, args.moments_b or none,
                    strict=True))


def similarity(args: argparse.Namespace) -> None:
    import pandas as pd

    from convergent.io.activations import check_same_probe
    from convergent.tables import write_csv

    spec, a_opts = args.spec, args.spec["analysis"]
    pairs = [tuple(ids) for ids in spec["models"]]
    files = _pair_files(args, len(pairs))
    opts = {**spec["similarity"], "dead_unit_std": a_opts["dead_unit_std"],
            "sums_device": spec_sums_device(spec)}
    blocks, chunk_images = a_opts["blocks"], a_opts["chunk_images"]
    # a model's file is opened and prepared once, and let go after its last pair (the later
    # model is in every pair of its job, each partner in one: memory stays at two models)
    uses = Counter(key for (a, b, _, _), (id_a, id_b) in zip(files, pairs, strict=True)
                   for key in {(a, id_a), (b, id_b)})
    held: dict[tuple[str, str], JobModel] = {}

    def model(path: str, model_id: str, moments: str | None) -> JobModel:
        if (path, model_id) not in held:
            held[path, model_id] = JobModel(ActivationFile(path, model_id), opts, blocks,
                                            chunk_images, moments)
        return held[path, model_id]

    rows = []
    try:
        for (id_a, id_b), (path_a, path_b, moments_a, moments_b) in zip(pairs, files,
                                                                         strict=True):
            a, b = model(path_a, id_a, moments_a), model(path_b, id_b, moments_b)
            check_same_probe(a.f, b.f)
            rows += pair_rows(a, b, spec["layers"], opts, blocks, chunk_images)
            for key in {(path_a, id_a), (path_b, id_b)}:
                uses[key] -= 1
                if not uses[key]:
                    held.pop(key).close()
    finally:
        for m in held.values():
            m.close()
    write_csv(pd.DataFrame(rows), args.out)


# ------------------------------------------------------------------ streamed (probe.stream)
class StreamModel:
    """One network of a streamed similarity job (``probe.stream``: no dumps) with the per-model
    work every pair of the job that holds it shares, as :class:`JobModel`: its subsample
    features (collected in its first pair's pass) and its within-net sums per layer and
    convention (``positions``: its moments file, which rule stream_moments writes; else
    accumulated in its first pair's pass)."""

    def __init__(self, model: str, checkpoint: str, moments: str | None, job: StreamJob) -> None:
        from convergent import models as nets

        self.id, self.arch, self.checkpoint, self.moments = (
            model, model.split("/")[0], checkpoint, moments)
        self.job = job
        self.readouts = {layer: nets.READOUTS[self.arch][layer] for layer in job.layers}
        self.probe, _ = self.batches()
        self.feats: dict[str, SubsampleLayer] = {}
        self.sums: dict[tuple[str, str], BlockMoments] = {}
        self._net = None

    @property
    def net(self):
        if self._net is None:
            from convergent.moments.forward import device
            from convergent.training import load_network

            self._net = load_network(self.checkpoint, self.arch)[0].to(device())
        return self._net

    def batches(self, order: np.ndarray | None = None):
        """(probe set, its batches under this network's preprocessing; ``order``: shuffled)."""
        from convergent.data import probe_batches

        return probe_batches(self.job.data, self.job.probe, self.arch, order)

    def needs_within(self, layer: str, convention: str) -> bool:
        """Whether the pass must accumulate this model's within sums of ``layer``."""
        stored = convention == "positions" and self.moments is not None
        return not stored and (layer, convention) not in self.sums

    def within(self, layer: str, convention: str, shape: tuple) -> BlockMoments:
        """Per-block sums XᵀX of ``layer`` (read-out ``shape`` per image) under ``convention``."""
        if (layer, convention) not in self.sums:
            self.sums[layer, convention] = self._stored(layer, positions(shape))
        return self.sums[layer, convention]

    def _stored(self, layer: str, per_image: int) -> BlockMoments:
        return stored_within(self.moments, self.id, layer, self.probe.hash,
                             len(self.probe.index), per_image, self.job.blocks,
                             "this probe set")


@dataclass
class StreamJob:
    """What every network of a streamed job shares: data, probe, layers, options, blocks."""

    data: Any
    probe: dict[str, Any]
    layers: list[str]
    opts: dict[str, Any]
    blocks: int


def stream_pair_rows(a: StreamModel, b: StreamModel) -> list[dict[str, Any]]:
    """Per-layer and layer × layer rows of one pair, from its networks' forward pass: pass 1
    accumulates every layer's cross sums (and the within sums and subsample features that
    neither model holds yet), pass 2 (the shuffled null) B on the probe in the shuffled order
    against A in order, for the null's cross sums."""
    from convergent.moments.conventions import grid_convention
    from convergent.moments.forward import PairPass, forward_pair

    job, opts = a.job, a.job.opts
    if a.probe.hash != b.probe.hash:
        raise InputError(f"{a.id} and {b.id}: their probe sets differ; check probe and dataset")
    n, layers, models = len(a.probe.index), job.layers, (a, b)
    sub = subsample_index(n, opts["subsample"], opts["seed"])

    def loader(m: StreamModel, order: np.ndarray | None = None):
        return m.batches(order)[1]

    # one loader for both nets where they share preprocessing and read-outs (same arch)
    same = a.arch == b.arch
    first = PairPass(
        layers, n, job.blocks,
        lambda _layer, sa, sb: grid_convention(opts["conv_convention"], sa, sb),
        within=lambda side, layer, conv: models[side].needs_within(layer, conv),
        collect=lambda side, layer: layer not in models[side].feats,
        subsample=sub, image_convention=opts["image_features"])
    with progress(n, "img", f"pass 1 of {a.id} vs {b.id}: cross sums, features") as bar:
        first.run(forward_pair(a.net, a.readouts, loader(a), b.net, b.readouts,
                               None if same else loader(b)), bar.update)
    conv = first.conventions
    for side, m in enumerate(models):
        for layer in layers:
            x = first.features(side, layer)
            if x is not None:
                m.feats[layer] = SubsampleLayer(x, opts["rdm_metric"])
            sums = first.within(side, layer)
            if sums is not None:
                m.sums[layer, conv[layer]] = sums
    summed = [layer for layer in layers if conv[layer] != "flatten"]
    null = None
    if opts["nulls"]["shuffled"] and summed:
        perm = shuffled_pairing(n, opts["seed"] + 1)
        null = PairPass(summed, n, job.blocks, lambda layer, *_: conv[layer])
        with progress(n, "img", f"pass 2 of {a.id} vs {b.id}: shuffled pairing") as bar:
            null.run(forward_pair(a.net, a.readouts, loader(a), b.net, b.readouts,
                                  loader(b, perm)), bar.update)
    per_layer = {}
    for layer in layers:
        moments = None
        if layer in summed:
            shape_a, shape_b = first.shapes[layer]
            moments = (a.within(layer, conv[layer], shape_a),
                       b.within(layer, conv[layer], shape_b), first.cross(layer))
        data = LayerData(conv[layer], moments, null.cross(layer) if null and layer in summed
                         else None, a.feats[layer], b.feats[layer], job.blocks)
        per_layer[layer] = layer_measures(data, layer, opts)
    lbl = layer_by_layer_rows(a.feats, b.feats, layers, opts) if opts["layer_by_layer"] else []
    return labelled_rows(a.id, b.id, per_layer, lbl)


def stream_similarity(args: argparse.Namespace) -> None:
    from convergent.steps import claim_gpu

    claim_gpu()  # before CUDA starts: concurrent stream jobs get a GPU each
    import pandas as pd

    from convergent.data import DataSpec
    from convergent.tables import write_csv

    spec, a_opts = args.spec, args.spec["analysis"]
    pairs = [tuple(ids) for ids in spec["models"]]
    files = _pair_files(args, len(pairs), "checkpoint_a", "checkpoint_b")
    opts = {**spec["similarity"], "dead_unit_std": a_opts["dead_unit_std"],
            "sums_device": spec_sums_device(spec)}
    job = StreamJob(DataSpec.from_config(spec["dataset"]), spec["probe"], spec["layers"], opts,
                    a_opts["blocks"])
    # a network is loaded and its per-model work done once, and let go after its last pair
    uses = Counter(i for ids in pairs for i in set(ids))
    held: dict[str, StreamModel] = {}
    rows = []
    for ids, (ckpt_a, ckpt_b, moments_a, moments_b) in zip(pairs, files, strict=True):
        for model, ckpt, moments in zip(ids, (ckpt_a, ckpt_b), (moments_a, moments_b),
                                        strict=True):
            if model not in held:
                held[model] = StreamModel(model, ckpt, moments, job)
        rows += stream_pair_rows(held[ids[0]], held[ids[1]])
        for model in set(ids):
            uses[model] -= 1
            if not uses[model]:
                del held[model]
    write_csv(pd.DataFrame(rows), args.out)


def similarity_tables(args: argparse.Namespace) -> None:
    from convergent.tables import similarity as st
    from convergent.tables import write_csv

    rows = st.read_rows(args.inputs)
    write_csv(rows, args.per_pair)
    write_csv(st.summary(rows), args.summary)
    ident = st.layer_identification_table(rows, args.dataset)
    write_csv(ident, args.layer_identification)
    print(ident.to_string(index=False, float_format="%.1f"))


def _add_moments_and_out(s: argparse.ArgumentParser) -> None:
    """The arguments both similarity steps share: the optional moments files and the CSV."""
    s.add_argument("--moments-a", nargs="+",
                   help="moments file of each pair's A (the positions convention's within sums;"
                        " without them the job computes them, once per model)")
    s.add_argument("--moments-b", nargs="+", help="moments file of each pair's B")
    s.add_argument("--out", required=True, help="long-format CSV, one row per number")


def register(step: Step) -> None:
    s = step("similarity", similarity,
             "similarity measures, CIs and nulls of a block of pairs (one later model's)")
    add_spec(s, "models (per pair, the ids [A, B] its files must hold), layers, analysis, "
                "similarity")
    s.add_argument("--a", nargs="+", required=True, help="activation file of each pair's A")
    s.add_argument("--b", nargs="+", required=True, help="activation file of each pair's B")
    _add_moments_and_out(s)

    s = step("stream-similarity", stream_similarity,
             "similarity measures of a block of pairs from the networks (probe.stream)")
    add_spec(s, "models (per pair, [A, B]), dataset, probe, layers, analysis (blocks, "
                "dead_unit_std), similarity")
    s.add_argument("--checkpoint-a", nargs="+", required=True, help="checkpoint of each pair's A")
    s.add_argument("--checkpoint-b", nargs="+", required=True, help="checkpoint of each pair's B")
    _add_moments_and_out(s)

    s = step("similarity-tables", similarity_tables, "aggregate similarity CSVs")
    s.add_argument("--inputs", nargs="+", required=True, help="every similarity job's CSV")
    s.add_argument("--per-pair", required=True, help="CSV: all rows, labelled")
    s.add_argument("--summary", required=True, help="CSV: per layer, over pairs")
    s.add_argument("--layer-identification", required=True, help="CSV: Kornblith's test")
    s.add_argument("--dataset", required=True, help="dataset.name (published values match it)")
