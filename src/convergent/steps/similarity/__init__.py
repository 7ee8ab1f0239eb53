"""Steps of workflow/rules/similarity.smk: every similarity measure of each pair of a block
(the pairs whose later model is one model) — per layer (bootstrap CIs, the shuffled-pairing
null) and layer × layer — and their tables.  Per-model work (subsample features, within-net
sums) is done once per model and job; a pair streams its cross sums only, from the activation
dumps (``similarity``) or, under ``probe.stream``, from its networks' forward pass
(``stream-similarity``, rule stream_similarity): both gather a pair-layer's data
(:class:`~convergent.steps.similarity.rows.LayerData`) that the same measures read.  Here the
steps; :mod:`.options` the job's typed options, built once from its spec; :mod:`.rows` a
pair-layer's measures as rows; :mod:`.dumps` and :mod:`.streamed` the two ways of gathering.

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
from typing import TYPE_CHECKING

from convergent.io import InputError
from convergent.steps.spec import Step, add_spec

if TYPE_CHECKING:  # the modules that compute load in the steps: every CLI start reads this one
    from convergent.steps.similarity.dumps import JobModel
    from convergent.steps.similarity.streamed import StreamModel

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

    from convergent.io.activations import ActivationFile, check_same_probe
    from convergent.steps.similarity.dumps import JobModel, pair_rows
    from convergent.steps.similarity.options import SimilarityOptions
    from convergent.tables import write_csv

    spec = args.spec
    pairs = [tuple(ids) for ids in spec["models"]]
    files = _pair_files(args, len(pairs))
    opts = SimilarityOptions.from_spec(spec)
    blocks, chunk_images = spec["analysis"]["blocks"], spec["analysis"]["chunk_images"]
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


def stream_similarity(args: argparse.Namespace) -> None:
    from convergent.steps.gpus import claim_gpu

    claim_gpu()  # before CUDA starts: concurrent stream jobs get a GPU each
    import pandas as pd

    from convergent.data import DataSpec
    from convergent.steps.similarity.options import SimilarityOptions
    from convergent.steps.similarity.streamed import StreamJob, StreamModel, stream_pair_rows
    from convergent.tables import write_csv

    spec = args.spec
    pairs = [tuple(ids) for ids in spec["models"]]
    files = _pair_files(args, len(pairs), "checkpoint_a", "checkpoint_b")
    job = StreamJob(DataSpec.from_config(spec["dataset"]), spec["probe"], spec["layers"],
                    SimilarityOptions.from_spec(spec), spec["analysis"]["blocks"])
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
