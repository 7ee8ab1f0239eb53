"""Steps of workflow/rules/stream.smk (``probe.stream: true``, probe sets too big to dump):
moments and top units of one model, the pair files and MI files of all layers of a block of
pairs, computed from the networks' forward pass instead of from activation dumps; each writes
the file kind of its dump-based step, with the same per-chunk code."""

from __future__ import annotations

import argparse

from convergent.io import InputError
from convergent.progress import progress
from convergent.steps.compare import pair_result, partner_name
from convergent.steps.gpus import claim_gpu
from convergent.steps.spec import Step, add_spec


class _Probe:
    """The job's device and the probe set: networks loaded onto the device, their read-outs,
    and a fresh pass of batches for each run."""

    def __init__(self, args: argparse.Namespace) -> None:
        claim_gpu()  # before CUDA starts: concurrent stream jobs get a GPU each
        from convergent import models
        from convergent.data import DataSpec

        self.spec = args.spec
        self.readouts = {layer: models.READOUTS[self.spec["arch"]][layer]
                         for layer in self.spec["layers"]}
        self.data = DataSpec.from_config(self.spec["dataset"])
        self.probe, _ = self.batches()

    def network(self, checkpoint: str):
        from convergent.models.checkpoints import load_network
        from convergent.moments.forward import device

        return load_network(checkpoint, self.spec["arch"])[0].to(device())

    def batches(self):
        from convergent.data import probe_batches

        return probe_batches(self.data, self.spec["probe"], self.spec["arch"])

    def layer_batches(self, networks: list, label: str):
        """(first image, per network {layer: (images, C[, H, W]) array on the CPU}) of each
        probe batch, all networks on the same batch, with a progress bar of ``label``."""
        from convergent.models.readout import forward_layers

        _, batches = self.batches()
        seen, total = 0, len(self.probe.index)
        with progress(total, "img", label) as bar:
            for start, n, outs in forward_layers(networks, self.readouts, batches):
                yield start, [{layer: x.cpu().numpy() for layer, x in out.items()}
                              for out in outs]
                seen = start + n
                bar.update(n)
        if seen != total:
            raise RuntimeError(f"probe yielded {seen} images, expected {total}")


def stream_moments(args: argparse.Namespace) -> None:
    from convergent.io.layouts import MomentsFile
    from convergent.moments.forward import network_moments

    spec, blocks = args.spec, args.spec["analysis"]["blocks"]
    run = _Probe(args)
    net, readouts, (probe, batches) = run.network(args.checkpoint), run.readouts, run.batches()
    with progress(len(probe.index), "img", f"moments of {len(readouts)} layers") as bar:
        moments = network_moments(net, readouts, batches, len(probe.index), blocks, bar.update)
    attrs = {"model": spec["model"], "architecture": spec["arch"], "probe_hash": probe.hash}
    layers = {layer: moments[layer] for layer in spec["layers"]}
    MomentsFile.save(args.out, layers, {**attrs, "blocks": blocks, "streamed": True})


def stream_compare(args: argparse.Namespace) -> None:
    from contextlib import ExitStack
    from pathlib import Path

    from convergent.io.layouts import MomentsFile, PairFile
    from convergent.moments.forward import network_cross_moments

    spec, opts, models = args.spec, args.spec["analysis"], args.spec["models"]
    run = _Probe(args)
    for path, model in zip([*args.moments_a, args.moments_b], [*models["a"], models["b"]],
                           strict=True):
        if MomentsFile(path, model=model).attrs.get("probe_hash") != run.probe.hash:
            raise InputError(f"{path}: moments of another probe set; rerun snakemake to rebuild it")
    net_b, n = run.network(args.checkpoint_b), len(run.probe.index)
    with ExitStack() as stack:
        add = {layer: stack.enter_context(PairFile.block(Path(args.out_dir) / f"{layer}.h5"))
               for layer in spec["layers"]}
        # one partner at a time: a block holds as many networks as the study has models
        for ckpt, moments, model in zip(args.checkpoint_a, args.moments_a, models["a"],
                                        strict=True):
            net_a, (_, batches) = run.network(ckpt), run.batches()
            with progress(n, "img", f"cross moments of {len(run.readouts)} layers, {model}") as bar:
                cross = network_cross_moments(net_a, net_b, run.readouts, batches, n,
                                              opts["blocks"], bar.update)
            for layer in spec["layers"]:
                add[layer](partner_name(model), *pair_result(
                    layer, cross[layer], (moments, args.moments_b), (model, models["b"]),
                    spec["arch"], opts["dead_unit_std"]))


def stream_top_units(args: argparse.Namespace) -> None:
    from convergent.io.layouts import TopUnitsFile
    from convergent.steps.li_analyses import top_units_of

    spec, run = args.spec, _Probe(args)
    net = run.network(args.checkpoint)
    parts = ((start, outs[0]) for start, outs in
             run.layer_batches([net], f"top units of {len(run.readouts)} layers"))
    layers = top_units_of(parts, spec["patches"])  # layer_batches shows the progress
    attrs = {"model": spec["model"], "architecture": spec["arch"], "probe_hash": run.probe.hash}
    TopUnitsFile.save(args.out, layers, run.probe.index, attrs)


def stream_mutual_information(args: argparse.Namespace) -> None:
    from contextlib import ExitStack
    from pathlib import Path

    from convergent.io.layouts import MutualInformationFile, PairFile
    from convergent.steps.li_analyses import pair_information

    spec, opt, models = args.spec, args.spec["analysis"], args.spec["models"]
    if len(args.pairs) != len(spec["layers"]):
        raise InputError(f"--pairs: {len(args.pairs)} pair files for {len(spec['layers'])} "
                         "layers; give one per layer, in the layers' order")
    run = _Probe(args)
    net_b = run.network(args.checkpoint_b)
    with ExitStack() as stack:
        add = {layer: stack.enter_context(
            MutualInformationFile.block(Path(args.out_dir) / f"{layer}.h5"))
            for layer in spec["layers"]}
        # one partner at a time, both passes of its histograms for all layers at once
        for ckpt, model in zip(args.checkpoint_a, models["a"], strict=True):
            member = partner_name(model)
            pairs = {layer: PairFile(path, member, models=(model, models["b"]))
                     for layer, path in zip(spec["layers"], args.pairs, strict=True)}
            chunk_pairs = _network_chunks(run, run.network(ckpt), net_b, opt["chunk_images"],
                                          member)
            for layer, member_result in pair_information(opt, pairs, chunk_pairs).items():
                add[layer](member, *member_result)


def _network_chunks(run: _Probe, net_a, net_b, chunk_images: int, label: str):
    """The chunks of every layer of two networks run on the same probe batches
    (:data:`convergent.steps.li_analyses.ChunkPairs`): each batch in pieces of at most
    ``chunk_images`` images, as the dumps are read (the one-hot codes of a piece are held at
    once)."""
    from convergent.io.activations import as_samples

    def chunk_pairs(name: str):
        for _, (outs_a, outs_b) in run.layer_batches(
                [net_a, net_b], f"MI {name} of {len(run.readouts)} layers, {label}"):
            n = len(next(iter(outs_a.values())))
            for lo in range(0, n, chunk_images):
                piece = slice(lo, lo + chunk_images)
                yield {layer: (as_samples(outs_a[layer][piece]), as_samples(outs_b[layer][piece]))
                       for layer in outs_a}

    return chunk_pairs


def register(step: Step) -> None:
    s = step("stream-moments", stream_moments, "moments of one model, from its forward pass")
    add_spec(s, "arch, model, dataset, probe, layers, analysis (blocks)")
    s.add_argument("--checkpoint", required=True, help="the model's checkpoint")
    s.add_argument("--out", required=True, help="the moments file written")

    s = step("stream-compare", stream_compare,
             "pair files of all layers of a block of pairs, from the networks")
    add_spec(s, "arch, models ({a: partner ids, b: id}), dataset, probe, layers, analysis "
             "(blocks, dead_unit_std)")
    s.add_argument("--checkpoint-a", nargs="+", required=True, help="checkpoints of the A's")
    s.add_argument("--checkpoint-b", required=True, help="checkpoint of model B")
    s.add_argument("--moments-a", nargs="+", required=True, help="moments files of the A's")
    s.add_argument("--moments-b", required=True, help="moments file of model B")
    s.add_argument("--out-dir", required=True, help="writes <out-dir>/<layer>.h5")

    s = step("stream-top-units", stream_top_units,
             "each unit's top-activating probe images, from the network")
    add_spec(s, "arch, model, dataset, probe, layers, patches")
    s.add_argument("--checkpoint", required=True, help="the model's checkpoint")
    s.add_argument("--out", required=True, help="the top-units file written")

    s = step("stream-mutual-information", stream_mutual_information,
             "MI matching of all layers of a block of pairs, from the networks")
    add_spec(s, "arch, models ({a: partner ids, b: id}), dataset, probe, layers, analysis "
             "(chunk_images, mi_*)")
    s.add_argument("--checkpoint-a", nargs="+", required=True, help="checkpoints of the A's")
    s.add_argument("--checkpoint-b", required=True, help="checkpoint of model B")
    s.add_argument("--pairs", nargs="+", required=True,
                   help="the block's pair files, one per layer in the spec's layer order")
    s.add_argument("--out-dir", required=True, help="writes <out-dir>/<layer>.h5")
