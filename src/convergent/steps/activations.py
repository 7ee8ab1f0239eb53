"""Steps of workflow/rules/activations.smk: dump one model's read-out layers on the probe set
(or import a model's activations recorded elsewhere); its within-net block moments (once per
model, never per pair)."""

from __future__ import annotations

import argparse

from convergent.steps.spec import Step, add_spec


def dump(args: argparse.Namespace) -> None:
    from convergent import models
    from convergent.data import DataSpec, probe_batches
    from convergent.io import sha256
    from convergent.io.activations import dump
    from convergent.models.checkpoints import load_network

    spec = args.spec
    network, hp = load_network(args.checkpoint, spec["arch"])
    readouts = {layer: models.READOUTS[hp["arch"]][layer] for layer in spec["layers"]}
    probe, batches = probe_batches(DataSpec.from_config(spec["dataset"]), spec["probe"], hp["arch"])
    attrs = {
        "model": spec["model"],
        "architecture": hp["arch"],
        # -1: trained elsewhere (a checkpoint entry), seeds unknown
        "init_seed": -1 if hp["init_seed"] is None else hp["init_seed"],
        "data_seed": -1 if hp["data_seed"] is None else hp["data_seed"],
        "replicate": spec["replicate"],
        "checkpoint_sha256": sha256(args.checkpoint),
        # the user's file of an imported network, and its hash
        **{k: hp[k] for k in ("source", "source_sha256") if k in hp},
        "dataset": spec["dataset"]["name"],
        "probe_set": probe.name,
        "probe_hash": probe.hash,
    }
    dump(
        network,
        readouts,
        batches,
        len(probe.index),
        args.out,
        attrs,
        probe.index,
        probe.label,
        spec["probe"]["dtype"],
        compress=spec["probe"]["compression"] == "gzip",
    )


def import_activations(args: argparse.Namespace) -> None:
    from convergent import models
    from convergent.data import DataSpec, probe_batches
    from convergent.data.probe import stimulus_ids
    from convergent.io import sha256
    from convergent.io.activations import write
    from convergent.io.recorded import RecordedFile, check_stimuli

    spec = args.spec
    arrays = {layer: models.READOUTS[spec["arch"]][layer] for layer in spec["layers"]}
    data = DataSpec.from_config(spec["dataset"])
    probe, _ = probe_batches(data, spec["probe"], spec["arch"])
    n, step = len(probe.index), spec["probe"]["batch_size"]
    with RecordedFile(args.activations) as f:
        f.check_layers(arrays)
        # integer stimuli are probe-split indices, strings ids
        want = (probe.index if f.stimuli.dtype.kind in "iu"
                else stimulus_ids(data, spec["probe"]["split"], probe.index))
        check_stimuli(f.path, f.stimuli, want, probe.name)
        values = {layer: f.array(name) for layer, name in arrays.items()}
    attrs = {
        "model": spec["model"],
        "architecture": spec["arch"],
        "init_seed": -1,  # recorded elsewhere: no seeds known, no network
        "data_seed": -1,
        "replicate": 0,
        "source": str(args.activations),
        "source_sha256": sha256(args.activations),
        "dataset": spec["dataset"]["name"],
        "probe_set": probe.name,
        "probe_hash": probe.hash,
    }
    batches = ({layer: x[lo : lo + step] for layer, x in values.items()}
               for lo in range(0, n, step))
    write(args.out, batches, n, attrs, probe.index, probe.label, spec["probe"]["dtype"],
          arrays, compress=spec["probe"]["compression"] == "gzip")
    print(f"{spec['model']}: activations recorded elsewhere ({args.activations}); with no "
          "network it has no accuracy, training curves, untrained-network null, receptive "
          "fields or streamed analyses")


def moments(args: argparse.Namespace) -> None:
    from convergent.io.activations import ActivationFile
    from convergent.io.layouts import MomentsFile
    from convergent.moments import layer_moments
    from convergent.moments.sums import spec_sums_device
    from convergent.progress import progress

    a, sums_device = args.spec["analysis"], spec_sums_device(args.spec)
    with ActivationFile(args.activations, args.spec["model"]) as f:
        layers = {}
        for layer in args.spec["layers"]:
            with progress(f.n_images, "img", f"moments {layer}") as bar:
                layers[layer] = layer_moments(f, layer, a["blocks"], a["chunk_images"],
                                              bar.update, sums_device=sums_device)
        attrs = {k: f.attrs[k] for k in ("model", "architecture", "probe_hash")}
    MomentsFile.save(args.out, layers, {**attrs, "blocks": a["blocks"]})


def register(step: Step) -> None:
    s = step("dump", dump, "write one model's probe activations to HDF5")
    add_spec(s, "arch, model, replicate, dataset, probe, layers")
    s.add_argument("--checkpoint", required=True, help="the model's checkpoint")
    s.add_argument("--out", required=True, help="the activation file written")

    s = step("import-activations", import_activations,
             "check activations recorded elsewhere against the probe set; write them as a dump")
    add_spec(s, "arch, model, dataset, probe, layers")
    s.add_argument("--activations", required=True, help="the file recorded elsewhere (read)")
    s.add_argument("--out", required=True, help="the activation file written")

    s = step("moments", moments, "per-block float64 moments of one model's layers")
    add_spec(s, "model (the id the activation file must hold), layers, analysis")
    s.add_argument("--activations", required=True, help="the model's activation file")
    s.add_argument("--out", required=True, help="the moments file written")
