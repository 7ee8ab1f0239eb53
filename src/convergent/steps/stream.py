"""Steps of workflow/rules/stream.smk (``probe.stream: true``, probe sets too big to dump):
moments of one model and the pair files of all layers of one pair, computed from the networks'
forward pass instead of from activation dumps."""

from __future__ import annotations

import argparse

from convergent.io import InputError
from convergent.progress import progress
from convergent.steps import Step, add_spec, claim_gpu
from convergent.steps.compare import write_pair


def _networks(args: argparse.Namespace, checkpoints: list[str]) -> tuple:
    """The networks on the job's device, their read-outs, the probe and its batches."""
    claim_gpu()  # before CUDA starts: concurrent stream jobs get a GPU each
    import torch

    from convergent import models
    from convergent.data import DataSpec, probe_batches
    from convergent.moments.forward import device
    from convergent.training import load_network

    spec = args.spec
    if args.threads:
        torch.set_num_threads(args.threads)
    nets = [load_network(ckpt, spec["arch"])[0].to(device()) for ckpt in checkpoints]
    readouts = {layer: models.READOUTS[spec["arch"]][layer] for layer in spec["layers"]}
    data = DataSpec.from_config(spec["dataset"])
    probe, batches = probe_batches(data, spec["probe"], spec["arch"])
    return nets, readouts, probe, batches


def stream_moments(args: argparse.Namespace) -> None:
    from convergent.io.layouts import MomentsFile
    from convergent.moments.forward import network_moments

    spec, blocks = args.spec, args.spec["analysis"]["blocks"]
    (net,), readouts, probe, batches = _networks(args, [args.checkpoint])
    with progress(len(probe.index), "img", f"moments of {len(readouts)} layers") as bar:
        moments = network_moments(net, readouts, batches, len(probe.index), blocks, bar.update)
    attrs = {"model": spec["model"], "architecture": spec["arch"], "probe_hash": probe.hash}
    layers = {layer: moments[layer] for layer in spec["layers"]}
    MomentsFile.save(args.out, layers, {**attrs, "blocks": blocks, "streamed": True})


def stream_compare(args: argparse.Namespace) -> None:
    from pathlib import Path

    from convergent.io.layouts import MomentsFile
    from convergent.moments.forward import network_cross_moments

    spec, opts = args.spec, args.spec["analysis"]
    models = tuple(spec["models"])
    nets, readouts, probe, batches = _networks(args, [args.checkpoint_a, args.checkpoint_b])
    for path, model in zip((args.moments_a, args.moments_b), models, strict=True):
        if MomentsFile(path, model=model).attrs.get("probe_hash") != probe.hash:
            raise InputError(f"{path}: moments of another probe set; rerun snakemake to rebuild it")
    n = len(probe.index)
    with progress(n, "img", f"cross moments of {len(readouts)} layers") as bar:
        cross = network_cross_moments(*nets, readouts, batches, n, opts["blocks"], bar.update)
    moments = (args.moments_a, args.moments_b)
    for layer in spec["layers"]:
        out = str(Path(args.out_dir) / f"{layer}.h5")
        write_pair(out, layer, cross[layer], moments, models, spec["arch"], opts["dead_unit_std"])


def register(step: Step) -> None:
    s = step("stream-moments", stream_moments, "moments of one model, from its forward pass")
    add_spec(s, "arch, model, dataset, probe, layers, analysis (blocks)")
    s.add_argument("--checkpoint", required=True, help="the model's checkpoint")
    s.add_argument("--out", required=True, help="the moments file written")
    s.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")

    s = step("stream-compare", stream_compare, "pair files of all layers, from both nets")
    add_spec(s, "arch, models, dataset, probe, layers, analysis (blocks, dead_unit_std)")
    s.add_argument("--checkpoint-a", required=True, help="checkpoint of model A")
    s.add_argument("--checkpoint-b", required=True, help="checkpoint of model B")
    s.add_argument("--moments-a", required=True, help="moments file of model A")
    s.add_argument("--moments-b", required=True, help="moments file of model B")
    s.add_argument("--out-dir", required=True, help="writes <out-dir>/<layer>.h5")
    s.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
