"""Steps of workflow/rules/tables.smk: Li et al.'s matched-correlation tables, the agreement
of matched units' mean activations and the model accuracies (separate rules: a failing one
never takes the others' tables with it)."""

from __future__ import annotations

import argparse

from convergent.steps.spec import Step


def matching_tables(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.matching import matching_rows, matching_summary

    per_pair = matching_rows(args.pairs)
    summary = matching_summary(per_pair, args.layers, args.dataset)
    write_csv(per_pair, args.per_pair)
    write_csv(summary, args.summary)
    print(summary.to_string(index=False, float_format="%.3f"))


def mean_activation_table(args: argparse.Namespace) -> None:
    from convergent.tables import by_layer, write_csv
    from convergent.tables.matching import mean_activation_rows

    rows = by_layer(mean_activation_rows(args.pairs, args.moments), args.layers)
    write_csv(rows, args.out)
    print(rows.groupby("layer", sort=False)[["spearman", "top_overlap", "bottom_overlap"]]
          .mean().to_string(float_format="%.3f"))


def accuracy_table(args: argparse.Namespace) -> None:
    from convergent.tables import write_csv
    from convergent.tables.accuracy import accuracy

    acc = accuracy(args.models)
    write_csv(acc, args.out)
    print(acc[["model", "test_acc_pct"]].to_string(index=False, float_format="%.2f"))
    for model in args.recorded:
        print(f"{model}: no accuracy (activations recorded elsewhere: no network to test)")


def register(step: Step) -> None:
    s = step("matching-tables", matching_tables, "matched correlation per pair and layer")
    s.add_argument("--pairs", nargs="+", required=True, help="pair files of every pair and layer")
    s.add_argument("--layers", nargs="+", required=True, help="layer order of the rows")
    s.add_argument("--dataset", required=True, help="dataset.name (published values match it)")
    s.add_argument("--per-pair", required=True, help="CSV: one row per pair and layer")
    s.add_argument("--summary", required=True, help="CSV: one row per layer")

    s = step("mean-activation-table", mean_activation_table,
             "do matched units agree on their mean activation")
    s.add_argument("--pairs", nargs="+", required=True, help="pair files of every pair and layer")
    s.add_argument("--moments", nargs="+", required=True, help="moments files of every model")
    s.add_argument("--layers", nargs="+", required=True, help="layer order of the rows")
    s.add_argument("--out", required=True, help="CSV written")

    s = step("accuracy-table", accuracy_table, "test accuracy of every model")
    s.add_argument("--models", nargs="*", default=[], help="summary.json of every network")
    s.add_argument("--recorded", nargs="*", default=[],
                   help="ids of the models recorded elsewhere (no accuracy: said in the log)")
    s.add_argument("--out", required=True, help="CSV written")
