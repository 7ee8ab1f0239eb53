"""Pages for readers: the findings as Markdown (``findings.md``, copied into the README) and as
HTML tables (the report's landing page); any CSV table, and any figure with its caption under
it, as an HTML page (the report shows HTML in place: it would only offer a CSV for download,
and it keeps captions in a side panel)."""

from __future__ import annotations

import base64
import html
import math

import pandas as pd

from convergent.analysis.measures import display

#: first line of findings.md; the README's copy is recognised by it (scripts/readme_findings.py)
MARKER = "<!-- findings: written by `convergent findings`; regenerate, do not edit -->"

_STYLE = """<style>
table.findings, table.csv { border-collapse: collapse; margin: 0.5em 0 1.5em; }
table.findings th, table.findings td, table.csv th, table.csv td {
  border: 1px solid #ccc; padding: 3px 8px; vertical-align: top; }
table.findings th, table.csv th { background: #f0f0f0; text-align: left; }
table.findings td:first-child { min-width: 32em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
/* a short text (a device, a model) is not squeezed into a column of single words */
td.short { white-space: nowrap; }
/* wide tables scroll inside their page instead of being cut off on the right */
div.wide { overflow-x: auto; max-width: 100%; }
</style>"""
#: standalone pages (one table each) only: the findings fragment lives inside the report's page
_PAGE_STYLE = ("<style>body { font-family: system-ui, sans-serif; font-size: 14px; }"
               " img { max-width: 100%; } .caption { max-width: 60em; }</style>")


def _number(v: float, digits: int = 3) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _groups(df: pd.DataFrame):
    """(section title, architecture or None, rows) in the sections' order."""
    several = df["architecture"].nunique() > 1
    # here, not at the top: a figure or table page needs none of the findings' statistics
    from convergent.tables.findings import SECTIONS

    for key, title in SECTIONS.items():
        part = df[df["section"] == key]
        if part.empty:
            continue
        for arch, rows in part.groupby("architecture", sort=False):
            yield title, (arch if several else None), rows


def _cell(r: pd.Series) -> str:
    if math.isnan(r["ci_low"]):
        return f"{r['value']:.2f} [no interval]"
    return f"{r['value']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"


def _convergence_tables(rows: pd.DataFrame) -> list[str]:
    """Markdown: layers × measures, "mean [interval]", with the published values where they
    apply; then the same layout for the floors ("untrained / shuffled")."""
    layers = rows[~rows["layer"].str.startswith("slope")]
    measures = list(dict.fromkeys(layers["measure"]))
    published = layers[layers["published"].notna()]
    sources = list(dict.fromkeys(published["published_source"]))
    head = "| layer | " + " | ".join(display(m) for m in measures)
    rule = "|---" * (len(measures) + 1)
    pub_head = (f" | {'; '.join(sources)} ("
                + " / ".join(display(m) for m in dict.fromkeys(published["measure"])) + ") |"
                if sources else " | published |")
    values, floors = [head + pub_head, rule + "|---|"], [
        head.replace("| layer |", "| floors: untrained network / shuffled images |") + " |",
        rule + "|"]
    for layer, g in layers.groupby("layer", sort=False):
        by = g.set_index("measure").reindex(measures)
        pub = " / ".join(_number(v, 2) for v in by["published"] if not math.isnan(v))
        values.append(f"| {layer} | " + " | ".join(
            _cell(r) if not math.isnan(r["value"]) else "" for _, r in by.iterrows()
        ) + f" | {pub or ('–' if sources else 'no published counterpart')} |")
        floors.append(f"| {layer} | " + " | ".join(
            f"{_number(r['untrained'], 2) or '–'} / {_number(r['shuffled'], 2) or '–'}"
            for _, r in by.iterrows()
        ) + " |")
    return values + [""] + floors + [""]


#: the heading level of findings.md's sections, and of the README's copy (under its own heading)
LEVEL, README_LEVEL = 3, 4


def findings_markdown(df: pd.DataFrame, header: str, level: int = LEVEL) -> str:
    """Each section's headline sentences (headings of ``level``); convergence also as a layers
    × measures table.  A standalone file (level 3) gets the title "Findings" above them."""
    out = [MARKER, *(["## Findings", ""] if level == LEVEL else []), header, ""]
    last_title = None
    for title, arch, rows in _groups(df):
        if title != last_title:
            out += [f"{'#' * level} {title}", ""]
            last_title = title
        if arch:
            out += [f"**{arch}**", ""]
        out += [f"- {t}" for t in rows.loc[rows["headline"].astype(bool), "text"]] + [""]
        if rows["section"].iloc[0] == "convergence":
            out += _convergence_tables(rows)
    return "\n".join(out)


#: first line of the claims' verdict table; the README's copy is recognised by it
CLAIMS_MARKER = "<!-- claims: written by `claims_markdown`; regenerate, do not edit -->"


def claims_markdown(claims: pd.DataFrame) -> str:
    """The verdict table of ``tables/claims.csv``: one row per claim, architecture and measure,
    with the effect, its interval, the test, the verdict (Holm-adjusted; unadjusted beside it)
    and the similarity beside its floors; then one generated sentence per claim that says
    what its verdicts say, and no more."""
    out = [CLAIMS_MARKER, "",
           "| claim | architecture: measure, layers | effect [interval] | test | verdict "
           "(unadjusted) | similarity (untrained / shuffled; learned share) |",
           "|---|---|---|---|---|---|"]
    for _, r in claims.iterrows():
        share = "" if math.isnan(r["learned_share"]) else f"; {r['learned_share']:.0%}"
        floors = (f"{_number(r['similarity'], 2)} ({_number(r['untrained'], 2) or '–'} / "
                  f"{_number(r['shuffled'], 2) or '–'}{share})")
        test = str(r["test"]).replace("|", "\\|")  # a bare | would end the Markdown cell
        effect = ("–" if math.isnan(r["effect"]) else
                  f"{r['effect']:+.3f} [no interval]" if math.isnan(r["ci_low"]) else
                  f"{r['effect']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] "
                  f"({str(r['interval']).split(', ')[-1]})")
        out.append(
            f"| ({r['claim']}) {r['statement']} | {r['architecture']}: {display(r['measure'])}, "
            f"{r['layers']} ({r['cells']}, {r['pairs']} pairs) | {effect} | {test} | "
            f"**{r['verdict']}** ({r['verdict_raw']}) | {floors} |")
    return "\n".join(out + ["", *claims_summary(claims)])


def claims_summary(claims: pd.DataFrame) -> list[str]:
    """One sentence per claim, generated from its rows' adjusted verdicts: how many rows
    support it, contradict it, are inconclusive (never read as "no effect")."""
    out = []
    for claim, g in claims.groupby("claim", sort=False):
        counts = g["verdict"].value_counts()
        parts = [f"{n} {verdict}" for verdict, n in counts.items()]
        measures = ", ".join(dict.fromkeys(display(m) for m in g["measure"]))
        out.append(f"- ({claim}) {g['statement'].iloc[0]}: {', '.join(parts)} of {len(g)} "
                   f"(Holm-adjusted; {measures}).")
    return out


def findings_html(df: pd.DataFrame, header: str) -> str:
    """One table per section (and architecture): the sentence, the number, its interval, the
    floors and the published value."""
    parts = [_STYLE, f"<p>{html.escape(header)}</p>"]
    for title, arch, rows in _groups(df):
        parts.append(f"<h3>{html.escape(title + (f' — {arch}' if arch else ''))}</h3>")
        parts.append('<div class="wide"><table class="findings"><tr><th>finding</th>'
                     "<th>value</th><th>interval</th><th>untrained</th><th>shuffled</th>"
                     "<th>chance</th><th>verdict (Holm)</th><th>published</th></tr>")
        for _, r in rows.iterrows():
            interval = (f"[{_number(r['ci_low'])}, {_number(r['ci_high'])}] ({r['interval']})"
                        if not math.isnan(r["ci_low"]) else "")
            verdict = "" if not isinstance(r["verdict"], str) else r["verdict"]
            published = (_number(r["published"]) if not math.isnan(r["published"]) else
                         str(r["published_source"]) if isinstance(r["published_source"], str)
                         else "")
            cells = [_number(r["value"]), interval, _number(r["untrained"]),
                     _number(r["shuffled"]), _number(r["chance"]), verdict, published]
            parts.append(f"<tr><td>{html.escape(r['text'])}</td>"
                         + "".join(f'<td class="num">{html.escape(c)}</td>' for c in cells)
                         + "</tr>")
        parts.append("</table></div>")
    return "\n".join(parts)


def _caption(rst: str) -> str:
    from docutils.core import publish_parts

    return f'<div class="caption">{publish_parts(rst, writer="html")["body"]}</div>'


#: the tables' names of a model's architecture, as the report shows them: one scheme
#: (architecture, model) in every table
_ARCH_COLUMNS = {"arch": "architecture", "arch_a": "architecture_a", "arch_b": "architecture_b"}


def model_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with one column scheme for models, as every table of the report shows them: the
    architecture first (``architecture``, or ``architecture_a``/``_b`` of a pair's sides), then
    the model by its name within it (``i0-d0``, not ``alexnet_small/i0-d0``)."""
    df = df.rename(columns=_ARCH_COLUMNS)
    for model, arch in (("model", "architecture"), ("model_a", "architecture_a"),
                        ("model_b", "architecture_b")):
        arch = arch if arch in df else "architecture"
        if model in df and arch in df:
            df[model] = [n.removeprefix(f"{a}/") if isinstance(n, str) else n
                         for n, a in zip(df[model], df[arch], strict=True)]
    first = [c for c in ("architecture", "architecture_a", "architecture_b") if c in df]
    return df[first + [c for c in df.columns if c not in first]]


#: a text cell this long or shorter is kept on one line; longer ones (reasons, notes) wrap
SHORT_TEXT = 40


def csv_html(df: pd.DataFrame, title: str, caption_rst: str = "") -> str:
    """A standalone HTML page showing a CSV table (numbers to 4 significant digits; a
    ``measure`` column by the registry's display names; models as :func:`model_columns`
    names them; scrolling sideways when wider than the page) with its caption
    (reStructuredText) under it."""
    df = model_columns(df)
    if "measure" in df.columns:
        df = df.assign(measure=df["measure"].map(display))

    def cell(v) -> str:
        if isinstance(v, float):
            return f'<td class="num">{"" if math.isnan(v) else f"{v:.4g}"}</td>'
        if isinstance(v, int) and not isinstance(v, bool):
            return f'<td class="num">{v}</td>'
        text = str(v)
        short = ' class="short"' if len(text) <= SHORT_TEXT else ""
        return f"<td{short}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "\n".join(
        "<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in df.itertuples(index=False)
    )
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title>{_PAGE_STYLE}{_STYLE}</head><body><h3>{html.escape(title)}</h3>"
            f'<div class="wide"><table class="csv"><tr>{head}</tr>\n{body}</table></div>'
            f"{_caption(caption_rst)}"
            "</body></html>\n")


def figure_html(png: bytes, caption_rst: str, title: str) -> str:
    """A standalone HTML page: the figure (embedded PNG) with its caption (reStructuredText)
    under it."""
    image = base64.b64encode(png).decode()
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title>{_PAGE_STYLE}</head><body><img src=\"data:image/png;base64,{image}\" "
            f"alt=\"{html.escape(title)}\">{_caption(caption_rst)}</body></html>\n")
