"""Steps of workflow/rules/neural.smk: pseudo-neural demo data with a planted answer, one model's
predictivity of neural data per layer, and the across-seed tables (docs/neural.md)."""

from __future__ import annotations

import argparse
import json
import time

from convergent.steps.spec import Step, add_spec


def _mapping(opts: dict):
    from convergent.analysis.predictivity import Mapping

    return Mapping(kind=opts["mapping"], folds=opts["folds"], penalties=tuple(opts["penalties"]),
                   components=opts["pls_components"], seed=opts["seed"])


def neural_demo_data(args: argparse.Namespace) -> None:
    """Planted areas: each a noisy linear read-out of one layer of the held-out network."""
    import numpy as np

    from convergent.analysis.predictivity import layer_features, planted_responses
    from convergent.io import neural
    from convergent.io.activations import ActivationFile

    opts = args.spec["neural"]
    demo = opts["demo"]
    rng = np.random.default_rng(demo["seed"])
    with ActivationFile(args.activations, args.spec["model"]) as f:
        index = f.probe_index
        rows = np.arange(f.n_images)
        responses, areas = [], []
        for area, layer in demo["areas"].items():
            x = layer_features(f.rows(layer, rows), opts["conv_features"], opts["width"])
            responses.append(planted_responses(x, demo["sites"], demo["repetitions"],
                                               demo["reliability"], demo["fraction"], rng))
            areas += [area] * demo["sites"]
        dataset = f.attrs["dataset"]
    attrs = {
        "dataset": dataset, "split": args.spec["probe"]["split"],
        "source": f"planted by `convergent neural-demo-data` from {args.spec['model']}",
        "planted_layers": json.dumps(demo["areas"]), "planted_fraction": demo["fraction"],
        "planted_reliability": demo["reliability"],
    }
    neural.write(args.out, index, np.concatenate(responses, axis=1), areas, attrs)
    print(f"{len(areas)} sites on {len(index)} stimuli: {demo['areas']}")


def predictivity(args: argparse.Namespace) -> None:
    """Every configured layer of one model against every site of the neural data."""
    import numpy as np

    from convergent.analysis import predictivity as pr
    from convergent.io import InputError, neural
    from convergent.io.activations import ActivationFile
    from convergent.io.layouts import LayerPredictivity, PredictivityFile

    spec, opts = args.spec, args.spec["neural"]
    data = neural.read(args.neural, opts["areas"])
    if data.exclusion_note:
        print(data.exclusion_note)
    keep = np.isin(data.areas, opts["areas"]) if opts["areas"] else np.ones(len(data.areas), bool)
    target = data.mean_response()[:, keep]
    ceiling = pr.split_half_ceiling(data.responses[:, keep], opts["splits"], opts["seed"])
    mapping = _mapping(opts)
    layers = {}
    with ActivationFile(args.activations, spec["model"]) as f:
        if f.attrs.get("dataset") != data.attrs["dataset"]:
            raise InputError(
                f"{args.neural}: recorded on dataset {data.attrs['dataset']!r}, but "
                f"{args.activations} probes {f.attrs.get('dataset')!r}; use neural data of the "
                "study's dataset")
        rows = data.probe_positions(f.probe_index, args.activations)
        for layer in spec["layers"]:
            start = time.perf_counter()
            x = pr.layer_features(f.rows(layer, rows), opts["conv_features"], opts["width"])
            pred, penalty = pr.cross_validated(x, target, mapping)
            ev = pr.explained_variance(pred, target)
            layers[layer] = LayerPredictivity(
                prediction=pred, ev=ev, r=pr.pearson_columns(pred, target),
                normalised=pr.normalised(ev, ceiling, opts["min_reliability"]), penalty=penalty)
            norm = layers[layer].normalised
            print(f"{layer}: {x.shape[1]} features, median normalised predictivity "
                  f"{pr.area_summary(norm):.3f}, {time.perf_counter() - start:.2f} s")
    sites = {"area": data.areas[keep], "name": data.names[keep], "ceiling": ceiling}
    attrs = {"model": spec["model"], "architecture": spec["model"].split("/")[0],
             "mapping": mapping.kind, "neural_source": str(data.attrs["source"])}
    PredictivityFile.save(args.out, sites, layers, attrs)


def neural_tables(args: argparse.Namespace) -> None:
    from convergent.tables import neural as nt
    from convergent.tables import write_csv

    sites = nt.per_site(args.inputs, args.layers, args.held_out)
    table = nt.by_layer(sites, args.layers)
    best = nt.best_layer(table)
    write_csv(table, args.by_layer)
    write_csv(best, args.best_layer)
    write_csv(nt.consistency(args.inputs, table, sites, args.layers, args.held_out),
              args.consistency)
    print(best.to_string(index=False, float_format="%.3f"))


def register(step: Step) -> None:
    s = step("neural-demo-data", neural_demo_data,
             "pseudo-neural data planted in the held-out network's layers")
    add_spec(s, "model (the held-out network's id), probe.split, neural (demo, conv_features, "
             "width)")
    s.add_argument("--activations", required=True, help="the held-out network's activation file")
    s.add_argument("--out", required=True, help="neural data file written (docs/neural.md)")

    s = step("predictivity", predictivity, "one model's neural predictivity, per layer")
    add_spec(s, "model, layers, neural (mapping options, areas)")
    s.add_argument("--activations", required=True, help="the model's activation file")
    s.add_argument("--neural", required=True, help="neural data file (docs/neural.md)")
    s.add_argument("--out", required=True, help="predictivity file written")

    s = step("neural-tables", neural_tables, "neural predictivity across seeds")
    s.add_argument("--inputs", nargs="+", required=True, help="every model's predictivity file")
    s.add_argument("--layers", nargs="+", required=True, help="layer order, input to output")
    s.add_argument("--held-out", help="the demo's held-out network (arch/model), not a seed")
    s.add_argument("--by-layer", required=True, help="CSV: per model, area and layer")
    s.add_argument("--best-layer", required=True, help="CSV: per area, the seeds' best layers")
    s.add_argument("--consistency", required=True, help="CSV: per area and layer, across seeds")
