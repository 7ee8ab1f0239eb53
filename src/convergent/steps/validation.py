"""Steps of workflow/rules/validation.smk (docs/validation.md): each network's layers against
their perturbed copies (principal components deleted, noise added) by every measure, with a
linear probe's accuracy on each copy; then every measure's tests in one table."""

from __future__ import annotations

import argparse

from convergent.steps.spec import Step, add_spec


def perturbations(args: argparse.Namespace) -> None:
    import pandas as pd

    from convergent.analysis.subsample import (
        MeasureOptions,
        SubsampleLayer,
        in_memory_measures,
        subsample_index,
    )
    from convergent.analysis.validation import Perturbations, perturbation_rows
    from convergent.io.activations import ActivationFile
    from convergent.progress import progress
    from convergent.tables import write_csv

    spec = args.spec
    opts, check = spec["similarity"], spec["validation"]
    measures = MeasureOptions.from_section(opts)
    dead_std = spec["analysis"]["dead_unit_std"]
    series = Perturbations(tuple(check["pc_deletions"]), tuple(check["noise"]),
                           check["probe_folds"], check["seed"])
    rows = []
    with ActivationFile(args.activations, spec["model"]) as f:
        sub = subsample_index(f.n_images, opts["subsample"], opts["seed"])
        labels = f.probe_label[sub]
        for layer in progress(len(spec["layers"]), "layer", "perturbation series",
                              spec["layers"]):
            x = f.features(layer, sub, opts["image_features"])
            ref = SubsampleLayer(x, opts["rdm_metric"])

            def measures_of(_x, copy, ref=ref):
                return in_memory_measures(ref, SubsampleLayer(copy, opts["rdm_metric"]),
                                          measures, dead_std)

            rows += [{"architecture": spec["model"].split("/")[0], "model": spec["model"],
                      "layer": layer, **r}
                     for r in perturbation_rows(x, labels, series, measures_of)]
    write_csv(pd.DataFrame(rows), args.out)


def validation_table(args: argparse.Namespace) -> None:
    import pandas as pd

    from convergent.tables import write_csv
    from convergent.tables.similarity import read_rows
    from convergent.tables.validation import Criteria, validation_table

    criteria = Criteria(args.alpha, args.permutations, args.seed, args.min_probe_spearman,
                        args.min_identification)
    perturbed = pd.concat([pd.read_csv(p) for p in args.perturbations], ignore_index=True)
    table = validation_table(read_rows([args.similarity]), perturbed, criteria)
    write_csv(table, args.out)
    print(table.to_string(index=False, float_format="%.3g"))


def register(step: Step) -> None:
    s = step("validation-perturbations", perturbations,
             "a network's layers against copies with principal components deleted and noise "
             "added, by every measure, with a linear probe's accuracy")
    add_spec(s, "model (its id), layers, similarity (the measures' options), analysis "
                "(dead_unit_std), validation (pc_deletions, noise, probe_folds, seed)")
    s.add_argument("--activations", required=True, help="the network's activation file")
    s.add_argument("--out", required=True, help="CSV: one row per layer, step and measure")

    s = step("validation-table", validation_table,
             "every measure's tests (group separation, monotonicity, probe, identification)")
    s.add_argument("--similarity", required=True, help="tables/similarity_per_pair.csv")
    s.add_argument("--perturbations", nargs="+", required=True,
                   help="every network's perturbation CSV")
    s.add_argument("--alpha", type=float, required=True, help="group separation's test level")
    s.add_argument("--permutations", type=int, required=True,
                   help="most condition labellings tried (all distinct ones if fewer)")
    s.add_argument("--seed", type=int, required=True, help="seed of random labellings")
    s.add_argument("--min-probe-spearman", type=float, required=True,
                   help="least median rank correlation with the probe's accuracy")
    s.add_argument("--min-identification", type=float, required=True,
                   help="least share of trials in which the layer is identified")
    s.add_argument("--out", required=True, help="tables/validation.csv")
