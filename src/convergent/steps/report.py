"""Steps of workflow/rules/report.smk: the study's findings (CSV, Markdown, HTML) and the HTML
pages of every table and figure (with its caption) for the report."""

from __future__ import annotations

import argparse
import json

from convergent.steps.spec import Step


def findings(args: argparse.Namespace) -> None:
    import pandas as pd

    from convergent import io
    from convergent.tables import write_csv
    from convergent.tables.findings import findings, header
    from convergent.tables.render import findings_html, findings_markdown
    from convergent.tables.similarity import read_rows

    def optional(path):
        return pd.read_csv(path) if path else None

    accuracy = pd.read_csv(args.accuracy)
    table = findings(
        accuracy,
        optional(args.matching),
        args.layers,
        args.depths,
        args.dataset,
        similarity=read_rows([args.similarity]) if args.similarity else None,
        sparse=optional(args.sparse),
        mean_activation=optional(args.mean_activation),
        claims=optional(args.claims),
        neural=optional(args.neural),
        level=args.level,
        validation=optional(args.validation),
    )
    write_csv(table, args.csv)
    top = header(args.study, accuracy, args.dataset, args.probe, args.layers, args.level,
                 args.recorded)
    for path, render in ((args.markdown, findings_markdown), (args.html, findings_html)):
        with io.atomic_path(path) as tmp:
            tmp.write_text(render(table, top) + "\n")
    print(findings_markdown(table, top))


def table_html(args: argparse.Namespace) -> None:
    from pathlib import Path

    import pandas as pd

    from convergent import io
    from convergent.tables.render import csv_html

    page = csv_html(pd.read_csv(args.csv), args.title, Path(args.caption).read_text())
    with io.atomic_path(args.out) as tmp:
        tmp.write_text(page)


def figure_page(args: argparse.Namespace) -> None:
    from pathlib import Path

    from convergent import io
    from convergent.tables.render import figure_html

    page = figure_html(Path(args.png).read_bytes(), Path(args.caption).read_text(), args.title)
    with io.atomic_path(args.out) as tmp:
        tmp.write_text(page)


def register(step: Step) -> None:
    s = step("findings", findings, "the study's findings: numbers, intervals, published values")
    s.add_argument("--accuracy", required=True, help="accuracy.csv")
    s.add_argument("--matching", help="matching_per_pair.csv (needed without --similarity)")
    s.add_argument("--similarity", help="similarity_per_pair.csv (when similarity is enabled)")
    s.add_argument("--sparse", help="sparse_prediction_per_pair.csv (when configured)")
    s.add_argument("--mean-activation", help="mean_activation_agreement.csv")
    s.add_argument("--claims", help="claims.csv (when claims.enabled)")
    s.add_argument("--neural", help="neural_by_layer.csv (when neural.enabled)")
    s.add_argument("--validation", help="validation.csv (when validation.enabled)")
    s.add_argument("--layers", nargs="+", required=True, help="layer order, input to output")
    s.add_argument("--depths", type=json.loads, required=True,
                   help='JSON {architecture: {layer: relative depth}}')
    s.add_argument("--study", required=True, help="the study's id (its config's hash)")
    s.add_argument("--recorded", type=int, default=0,
                   help="models that are activations recorded elsewhere (no network)")
    s.add_argument("--dataset", required=True, help="dataset.name (published values match it)")
    s.add_argument("--probe", required=True, help="what the probe set is, e.g. '2000 test images'")
    s.add_argument("--level", type=float, required=True, help="interval level, e.g. 0.95")
    s.add_argument("--csv", required=True, help="findings.csv written")
    s.add_argument("--markdown", required=True, help="findings.md written")
    s.add_argument("--html", required=True, help="findings as HTML tables (the report)")

    s = step("table-html", table_html, "one CSV table with its caption as an HTML page")
    s.add_argument("--csv", required=True, help="the table")
    s.add_argument("--caption", required=True, help="its caption (reStructuredText)")
    s.add_argument("--title", required=True, help="the page's title")
    s.add_argument("--out", required=True, help="HTML written")

    s = step("figure-page", figure_page, "one figure with its caption as an HTML page")
    s.add_argument("--png", required=True, help="the figure")
    s.add_argument("--caption", required=True, help="its caption (reStructuredText)")
    s.add_argument("--title", required=True, help="the page's title")
    s.add_argument("--out", required=True, help="HTML written")
