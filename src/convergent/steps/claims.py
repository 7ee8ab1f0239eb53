"""Steps of workflow/rules/claims.smk: the distances between every two networks of the study at
one layer, and the claims table with the grouping tests of those distances."""

from __future__ import annotations

import argparse
import json

from convergent.steps.spec import Step


def network_distances(args: argparse.Namespace) -> None:
    """Every network's per-image features of one layer on the subsample, then the distance
    matrices (long CSV: layer, distance, the two networks, value)."""
    import pandas as pd

    from convergent.analysis.networks import distance_matrices
    from convergent.analysis.subsample import subsample_index
    from convergent.io.activations import ActivationFile, check_same_probe
    from convergent.progress import progress
    from convergent.tables import write_csv

    spec, layer = args.spec, args.layer
    ids, features = spec["models"], []
    with ActivationFile(args.inputs[0], ids[0]) as first, \
            progress(len(ids), "network", f"{layer} features") as bar:
        sub = subsample_index(first.n_images, spec["subsample"], spec["seed"])
        for path, model in zip(args.inputs, ids, strict=True):
            with ActivationFile(path, model) as f:
                check_same_probe(first, f)
                features.append(f.features(layer, sub, spec["image_features"]))
            bar.update(1)
    rows = [
        {"layer": layer, "distance": name, "network_a": a, "network_b": b, "value": d[i, j]}
        for name, d in distance_matrices(features).items()
        for i, a in enumerate(ids) for j, b in enumerate(ids) if i < j
    ]
    write_csv(pd.DataFrame(rows), args.out)


def identical_pairs(accuracy) -> set[str]:
    """The pairs (arch/model__arch/model, both orders) of networks with equal weights hashes."""
    ids = accuracy["arch"] + "/" + accuracy["model"].astype(str).str.split("/").str[-1]
    hashes = dict(zip(ids, accuracy["weights_sha256"], strict=True)) \
        if "weights_sha256" in accuracy else {}
    return {f"{a}__{b}" for a, ha in hashes.items() for b, hb in hashes.items()
            if a != b and isinstance(ha, str) and ha == hb}


def claims(args: argparse.Namespace) -> None:
    import pandas as pd

    from convergent.tables import write_csv
    from convergent.tables.claims import claims as claims_table
    from convergent.tables.network_grouping import grouping_table
    from convergent.tables.similarity import read_rows

    identical = identical_pairs(pd.read_csv(args.accuracy))
    table = claims_table(read_rows([args.similarity]), args.layers, args.depths, args.measures,
                         args.margin, args.variation, args.level, identical)
    write_csv(table, args.csv)
    distances = pd.concat([pd.read_csv(p) for p in args.distances], ignore_index=True)
    grouping = grouping_table(distances, args.layers, args.permutations, args.seed)
    write_csv(grouping, args.grouping)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table[["claim", "architecture", "measure", "layers", "effect", "ci_low", "ci_high",
                     "p_holm", "verdict"]].to_string(index=False))
        print(grouping.to_string(index=False))


def register(step: Step) -> None:
    from convergent.steps.spec import add_spec

    s = step("network-distances", network_distances,
             "distances between every two networks at one layer")
    add_spec(s, "models (the ids the inputs hold, in order), subsample, seed, image_features")
    s.add_argument("--inputs", nargs="+", required=True, help="activation files, one a network")
    s.add_argument("--layer", required=True, help="the layer compared")
    s.add_argument("--out", required=True, help="CSV: layer, distance, network_a, network_b, value")

    s = step("claims", claims, "the claims' effects, intervals and verdicts")
    s.add_argument("--similarity", required=True, help="tables/similarity_per_pair.csv")
    s.add_argument("--accuracy", required=True,
                   help="tables/accuracy.csv (weights hashes: which replicates are identical)")
    s.add_argument("--distances", nargs="+", required=True, help="network distance CSVs")
    s.add_argument("--layers", nargs="+", required=True, help="the study's layers, in order")
    s.add_argument("--depths", type=json.loads, required=True,
                   help="JSON {arch: {layer: relative depth}}")
    s.add_argument("--measures", nargs="+", required=True, help="claims.measures")
    s.add_argument("--margin", type=float, required=True, help="claims.margin")
    s.add_argument("--variation", type=json.loads, default=None,
                   help="JSON {more: condition, less: condition} or null")
    s.add_argument("--permutations", type=int, required=True, help="claims.permutations")
    s.add_argument("--seed", type=int, required=True, help="claims.seed (permutations)")
    s.add_argument("--level", type=float, required=True, help="similarity.ci")
    s.add_argument("--csv", required=True, help="tables/claims.csv")
    s.add_argument("--grouping", required=True, help="tables/network_grouping.csv")
