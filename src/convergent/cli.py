"""``convergent <step>``: the command-line steps the Snakemake rules call, one call per job.

Each step reads its inputs, calls the pure functions of the package and writes its outputs
atomically.  Bad input ends in one line naming the file or key and the fix (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from convergent import io
from convergent.io import InputError

if TYPE_CHECKING:
    from convergent.moments import BlockMoments


def _spec(text: str) -> dict:
    return json.loads(text)


# ------------------------------------------------------------------ steps
def cmd_train(args: argparse.Namespace) -> None:
    from convergent.train import fit

    summary = fit(args.spec, args.outdir, threads=args.threads)
    print(f"{summary['model']}: test accuracy {100 * summary['test_acc']:.2f}%")


def cmd_dump(args: argparse.Namespace) -> None:
    import torch

    from convergent import activations, models
    from convergent.data import DataSpec, probe_batches
    from convergent.train import load_network

    spec = args.spec
    if args.threads:
        torch.set_num_threads(args.threads)
    network, hp = load_network(args.checkpoint, spec["arch"])
    readouts = {layer: models.READOUTS[hp["arch"]][layer] for layer in spec["layers"]}
    probe, batches = probe_batches(DataSpec.from_config(spec["dataset"]), spec["probe"], hp["arch"])
    attrs = {
        "model": spec["model"],
        "architecture": hp["arch"],
        "init_seed": hp["init_seed"],
        "data_seed": hp["data_seed"],
        "replicate": spec["replicate"],
        "checkpoint_sha256": io.sha256(args.checkpoint),
        "dataset": spec["dataset"]["name"],
        "probe_set": probe.name,
        "probe_hash": probe.hash,
    }
    activations.dump(
        network,
        readouts,
        batches,
        len(probe.index),
        args.out,
        attrs,
        probe.index,
        probe.label,
        spec["probe"]["dtype"],
        compress=spec["probe"].get("compression", "gzip") == "gzip",
    )


def cmd_moments(args: argparse.Namespace) -> None:
    from convergent.activations import ActivationFile
    from convergent.moments import layer_moments

    a = args.spec["analysis"]
    with ActivationFile(args.activations, args.spec["model"]) as f:
        groups = {
            layer: layer_moments(f, layer, a["blocks"], a["chunk_images"]).as_dict()
            for layer in args.spec["layers"]
        }
        attrs = {k: f.attrs[k] for k in ("model", "architecture", "probe_hash")}
    io.write_arrays(args.out, "moments", groups, {**attrs, "blocks": a["blocks"]})


def cmd_compare(args: argparse.Namespace) -> None:
    from convergent.activations import ActivationFile, check_same_probe
    from convergent.moments import cross_moments

    a_opts, layer = args.spec["analysis"], args.layer
    model_a, model_b = args.spec["models"]
    with ActivationFile(args.a, model_a) as fa, ActivationFile(args.b, model_b) as fb:
        check_same_probe(fa, fb)
        if fa.attrs["architecture"] != fb.attrs["architecture"]:
            raise InputError(
                f"{args.a} and {args.b}: different architectures; pairs compare "
                "models of one architecture"
            )
        # per-block cross sums are kept in the pair file: held-out splits (sparse prediction)
        # and bootstraps reuse them instead of streaming the activations again
        blocks = cross_moments(fa, fb, layer, a_opts["blocks"], a_opts["chunk_images"])
        names = fa.attrs["model"], fb.attrs["model"]
        arch = fa.attrs["architecture"]
    write_pair(args.out, layer, blocks, (args.moments_a, args.moments_b), names, arch, a_opts)


def _stream_setup(args: argparse.Namespace, checkpoints: list[str]) -> tuple:
    """Networks on the job's device, their read-outs, the probe and its batches."""
    import torch

    from convergent import models, stream
    from convergent.data import DataSpec, probe_batches
    from convergent.train import load_network

    spec = args.spec
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = stream.device()
    nets = [load_network(ckpt, spec["arch"])[0].to(dev) for ckpt in checkpoints]
    readouts = {layer: models.READOUTS[spec["arch"]][layer] for layer in spec["layers"]}
    data = DataSpec.from_config(spec["dataset"])
    probe, batches = probe_batches(data, spec["probe"], spec["arch"])
    return nets, readouts, probe, batches


def cmd_stream_moments(args: argparse.Namespace) -> None:
    from convergent.stream import stream_moments

    spec, blocks = args.spec, args.spec["analysis"]["blocks"]
    (net,), readouts, probe, batches = _stream_setup(args, [args.checkpoint])
    moments = stream_moments(net, readouts, batches, len(probe.index), blocks)
    groups = {layer: moments[layer].as_dict() for layer in spec["layers"]}
    attrs = {"model": spec["model"], "architecture": spec["arch"], "probe_hash": probe.hash}
    io.write_arrays(args.out, "moments", groups, {**attrs, "blocks": blocks, "streamed": True})


def cmd_stream_compare(args: argparse.Namespace) -> None:
    from pathlib import Path

    from convergent.stream import stream_cross

    spec, a_opts = args.spec, args.spec["analysis"]
    nets, readouts, probe, batches = _stream_setup(args, [args.checkpoint_a, args.checkpoint_b])
    for path in (args.moments_a, args.moments_b):
        if io.read_attrs(path, "moments").get("probe_hash") != probe.hash:
            raise InputError(
                f"{path}: moments of another probe set; rerun snakemake to rebuild it"
            )
    cross = stream_cross(*nets, readouts, batches, len(probe.index), a_opts["blocks"])
    moments = (args.moments_a, args.moments_b)
    for layer in spec["layers"]:
        out = str(Path(args.out_dir) / f"{layer}.h5")
        write_pair(out, layer, cross[layer], moments, tuple(spec["models"]), spec["arch"], a_opts)


def write_pair(
    out: str,
    layer: str,
    blocks: BlockMoments,
    moments: tuple[str, str],
    names: tuple[str, str],
    arch: str,
    a_opts: dict,
) -> None:
    """One pair file (the compare rule's output) from a layer's per-block cross moments and the
    two models' within-net moment files; shared by compare and stream-compare."""
    from convergent.analysis import correlation, matching

    cross = blocks.total()
    var = []
    for path, name in zip(moments, names, strict=True):
        io.check_model(path, io.read_attrs(path, "moments").get("model"), name)
        m = io.read_group(path, "moments", layer)
        if m["count"].sum() != cross.count[0]:
            raise InputError(
                f"{path}: moments over {m['count'].sum():.0f} samples, but the "
                f"activations hold {cross.count[0]:.0f}; rerun snakemake to rebuild it"
            )
        var.append(
            correlation.variance(
                m["count"].sum(), m["sum_x"].sum(0), np.diagonal(m["sum_xy"].sum(0))
            )
        )
    dead = a_opts["dead_unit_std"]
    c = correlation.between_correlation(
        cross.count[0], cross.sum_x[0], cross.sum_y[0], cross.sum_xy[0], var[0], var[1], dead
    )
    semi_a2b, semi_b2a = matching.semi_matching(c), matching.semi_matching(c.T)
    one = matching.one_to_one_matching(c)
    groups = {
        "correlation": {"between": c},
        "semi_a2b": dict(zip(("partner", "value"), semi_a2b, strict=True)),
        "semi_b2a": dict(zip(("partner", "value"), semi_b2a, strict=True)),
        "one2one": dict(zip(("partner", "value"), one, strict=True)),
        "cross": blocks.as_dict(),
    }
    attrs = {
        "layer": layer,
        "model_a": names[0],
        "model_b": names[1],
        "architecture": arch,
        "samples": cross.count[0],
        "dead_a": int((np.sqrt(var[0]) <= dead).sum()),
        "dead_b": int((np.sqrt(var[1]) <= dead).sum()),
        "same_partner_fraction": float(np.mean(semi_a2b[0] == one[0])),
    }
    io.write_arrays(out, "pair", groups, attrs)


def cmd_matching_tables(args: argparse.Namespace) -> None:
    from convergent import tables

    per_pair = tables.matching_rows(args.pairs)
    summary = tables.matching_summary(per_pair, args.layers)
    tables.write_csv(per_pair, args.per_pair)
    tables.write_csv(summary, args.summary)
    print(summary.to_string(index=False, float_format="%.3f"))


def cmd_accuracy_table(args: argparse.Namespace) -> None:
    from convergent import tables

    acc = tables.accuracy(args.models)
    tables.write_csv(acc, args.out)
    print(acc[["model", "test_acc_pct"]].to_string(index=False, float_format="%.2f"))


def cmd_untrained(args: argparse.Namespace) -> None:
    from convergent.similarity_tables import save_untrained

    save_untrained(args.spec, args.out)


def cmd_similarity(args: argparse.Namespace) -> None:
    from convergent.activations import ActivationFile, check_same_probe
    from convergent.similarity_pair import pair_rows
    from convergent.tables import write_csv

    spec, a_opts = args.spec, args.spec["analysis"]
    model_a, model_b = spec["models"]
    with ActivationFile(args.a, model_a) as fa, ActivationFile(args.b, model_b) as fb:
        check_same_probe(fa, fb)
        opts = {**spec["similarity"], "dead_unit_std": a_opts["dead_unit_std"]}
        rows = pair_rows(fa, fb, spec["layers"], opts, a_opts["blocks"], a_opts["chunk_images"])
    import pandas as pd

    write_csv(pd.DataFrame(rows), args.out)


def cmd_similarity_tables(args: argparse.Namespace) -> None:
    from convergent import similarity_tables as st
    from convergent.tables import write_csv

    rows = st.read_rows(args.inputs)
    write_csv(rows, args.per_pair)
    summary = st.summary(rows)
    write_csv(summary, args.summary)
    ident = st.layer_identification_table(rows)
    write_csv(ident, args.layer_identification)
    print(ident.to_string(index=False, float_format="%.1f"))


def cmd_figure(args: argparse.Namespace) -> None:
    import importlib

    module = importlib.import_module(f"convergent.figures.{args.name.replace('-', '_')}")
    module.main(args)


# ------------------------------------------------------------------ parser
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="convergent", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)

    def step(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help)
        s.set_defaults(func=func)
        return s

    s = step("train", cmd_train, "train one model (resumes a killed run)")
    s.add_argument("--spec", type=_spec, required=True, help="JSON: arch, seeds, dataset, training")
    s.add_argument("--outdir", required=True)
    s.add_argument("--threads", type=int)

    s = step("dump", cmd_dump, "write one model's probe activations to HDF5")
    s.add_argument(
        "--spec", type=_spec, required=True, help="JSON: arch, model, dataset, probe, layers"
    )
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--threads", type=int)

    s = step("moments", cmd_moments, "per-block float64 moments of one model's layers")
    s.add_argument(
        "--spec", type=_spec, required=True, help="JSON: model (expected id), layers, analysis"
    )
    s.add_argument("--activations", required=True)
    s.add_argument("--out", required=True)

    s = step("compare", cmd_compare, "correlations and matchings of one layer of one pair")
    s.add_argument(
        "--spec", type=_spec, required=True, help="JSON: models (expected ids of A, B), analysis"
    )
    s.add_argument("--a", required=True)
    s.add_argument("--b", required=True)
    s.add_argument("--moments-a", required=True)
    s.add_argument("--moments-b", required=True)
    s.add_argument("--layer", required=True)
    s.add_argument("--out", required=True)

    s = step("stream-moments", cmd_stream_moments, "moments of one model, from its forward pass")
    s.add_argument("--spec", type=_spec, required=True, help="JSON: arch, model, probe, layers")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--threads", type=int)

    s = step("stream-compare", cmd_stream_compare, "pair files of all layers, from both nets")
    s.add_argument("--spec", type=_spec, required=True, help="JSON: arch, models, probe, layers")
    s.add_argument("--checkpoint-a", required=True)
    s.add_argument("--checkpoint-b", required=True)
    s.add_argument("--moments-a", required=True)
    s.add_argument("--moments-b", required=True)
    s.add_argument("--out-dir", required=True, help="writes <out-dir>/<layer>.h5")
    s.add_argument("--threads", type=int)

    s = step("matching-tables", cmd_matching_tables, "matched correlation per pair and layer")
    s.add_argument("--pairs", nargs="+", required=True, help="pair files of every pair and layer")
    s.add_argument("--layers", nargs="+", required=True, help="layer order of the rows")
    s.add_argument("--per-pair", required=True, help="CSV: one row per pair and layer")
    s.add_argument("--summary", required=True, help="CSV: one row per layer")

    s = step("accuracy-table", cmd_accuracy_table, "test accuracy of every model")
    s.add_argument("--models", nargs="+", required=True, help="summary.json of every model")
    s.add_argument("--out", required=True, help="CSV written")

    from convergent.li_steps import add_steps

    add_steps(step)

    s = step("untrained", cmd_untrained, "save an untrained (initialisation) checkpoint")
    s.add_argument("--spec", type=_spec, required=True, help="JSON: arch, init_seed, dataset")
    s.add_argument("--out", required=True)

    s = step("similarity", cmd_similarity, "similarity measures, CIs and nulls of one pair")
    s.add_argument(
        "--spec", type=_spec, required=True, help="JSON: models, layers, analysis, similarity"
    )
    s.add_argument("--a", required=True, help="activation file of model A")
    s.add_argument("--b", required=True, help="activation file of model B")
    s.add_argument("--out", required=True, help="long-format CSV, one row per number")

    s = step("similarity-tables", cmd_similarity_tables, "aggregate similarity CSVs")
    s.add_argument("--inputs", nargs="+", required=True)
    s.add_argument("--per-pair", required=True)
    s.add_argument("--summary", required=True)
    s.add_argument("--layer-identification", required=True)

    from convergent.figures import add_parsers

    add_parsers(sub.add_parser("figure", help="draw one figure (PDF + PNG)"), cmd_figure)
    return p


def main(argv: list[str] | None = None) -> None:
    """Run one step; bad input or a failed file operation ends in one line on stderr naming the
    file or key and the fix, with exit status 2 (never a traceback)."""
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except InputError as err:
        message = _one_line(err)
    except OSError as err:
        message = _os_error_message(err)
    else:
        return
    print(f"convergent {args.step}: error: {message}", file=sys.stderr)
    sys.exit(2)


def _one_line(err: Exception) -> str:
    """The message of ``err`` on one line.  A DataLoader re-raises a worker's error with the
    worker's traceback as its message, whose last line is ``<module>.<Class>: <message>``."""
    lines = str(err).strip().splitlines() or [""]
    cls = type(err)
    name = cls.__qualname__
    if cls.__module__ != "builtins":  # the traceback module's spelling of the class
        name = f"{cls.__module__}.{name}"
    return lines[-1].removeprefix(f"{name}: ")


def _os_error_message(err: OSError) -> str:
    """``<file>: <strerror>; <fix>`` for an OSError of a step (read-only or full disk...)."""
    import errno
    import os

    folder = os.path.dirname(os.path.abspath(str(err.filename))) if err.filename else "its folder"
    permissions = f"check that you may read and write {folder}, then rerun"
    in_the_way = "a file stands where a folder is needed; move it away, then rerun"
    fixes = {
        errno.EACCES: permissions,
        errno.EPERM: permissions,
        errno.EROFS: "write the results to a writable file system, then rerun",
        errno.ENOSPC: "free disk space, then rerun",
        errno.EDQUOT: "free space within your disk quota, then rerun",
        errno.EEXIST: in_the_way,
        errno.ENOTDIR: in_the_way,
        errno.ENOENT: "check that the path exists (rerun snakemake to rebuild missing inputs)",
    }
    fix = fixes.get(err.errno, "check the file and the disk, then rerun")
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or _one_line(err)}; {fix}"


if __name__ == "__main__":
    main()
