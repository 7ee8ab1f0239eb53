"""Copy a study's findings into the README (run after the study).

    .venv/bin/python scripts/readme_findings.py [results]            # the default study
    .venv/bin/python scripts/readme_findings.py --claims <results>   # config/claims.yaml's run

Commits nothing.  The default study: copies results/tables/findings.csv to docs/default_study/
and rewrites the README's findings block (between its marker lines) from it, as findings.md
renders it (with headings one level down), and the block of its first lines above it; copies
the README's three figures beside the table.  The claims study: copies its tables/claims.csv to
docs/claims_study/ and rewrites the README's verdict table from it.  tests/test_findings.py and
tests/test_claims.py check the blocks against those tables.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = "docs/default_study/findings.csv"
CLAIMS_TABLE = "docs/claims_study/claims.csv"
END = "<!-- findings: end -->"
#: the first lines of the findings, shown under the README's figures (written from the block)
HEAD = "<!-- findings head: the first lines of the findings block; regenerate, do not edit -->"
HEAD_END = "<!-- findings head: end -->"
#: the default study's figures the README shows, copied beside its table (at most 1200 px wide)
FIGURES = ("convergence_by_layer", "correlation_matrices_conv1", "unit_pairs_conv1")
CLAIMS_END = "<!-- claims: end -->"


def _replace_block(start_marker: str, end_marker: str, block: str, stamp: str) -> None:
    """The README with the text between the markers (and the stamp line after) replaced."""
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(start_marker), readme.index(end_marker)
    tail = readme[end + len(end_marker):].split("\n", 2)  # the stamp line follows the end marker
    readme = readme[:start] + block + "\n" + end_marker + "\n" + stamp + "\n" + tail[2]
    (ROOT / "README.md").write_text(readme)


def _study(results: Path) -> str:
    header = re.search(r"^Study \w+:.*$", (results / "findings.md").read_text(), re.M).group(0)
    return header


def _commit() -> str:
    """HEAD, "+local changes" when tracked files differ from it (asked before the copy is
    written: the copy itself is no local change)."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return commit + ("+local changes" if dirty else "")


def _provenance(table: Path, study: str, commit: str, results: Path) -> str:
    """Write provenance.json beside a committed copy (the commit that produced the run, the
    study id = the config's hash, the date, the processors its networks were trained on) and
    return the README's stamp part for it."""
    import pandas as pd

    from convergent.tables.accuracy import trained_on

    stamp = {"study": study, "commit": commit, "date": str(datetime.date.today()),
             "trained_on": trained_on(pd.read_csv(results / "tables" / "accuracy.csv"))}
    (table.parent / "provenance.json").write_text(json.dumps(stamp, indent=1) + "\n")
    return (f"study {study}, commit {stamp['commit'][:12]}, trained on "
            f"{'; '.join(stamp['trained_on']) or 'unknown'}")


def head(block: str) -> str:
    """The findings block's first lines, for the README's first screen: the study line, the
    accuracy sentences, the convergence-by-depth table and the floors it is read against
    (untrained network, shuffled images): the lines as they are, no headings."""
    lines = block.splitlines()
    header = next(line for line in lines if line.startswith("Study "))
    accuracy = [line for line in _section(lines, "Accuracy") if line.startswith("- ")]
    tables = [line for line in _section(lines, "Convergence by depth")
              if line.startswith("|") or not line.strip()]
    tables = "\n".join(tables).strip("\n")  # the two tables, a blank line apart
    return "\n".join([HEAD, header, "", *accuracy, "", tables])


def _section(lines: list[str], title: str) -> list[str]:
    """The lines under the heading ``title`` (any level), up to the next heading."""
    start = next(k for k, line in enumerate(lines) if line.lstrip("#").strip() == title
                 and line.startswith("#"))
    end = next((k for k in range(start + 1, len(lines)) if lines[k].startswith("#")), len(lines))
    return lines[start + 1:end]


def figures(results: Path) -> None:
    """Copy the README's figures of the default study to docs/default_study/ (small PNGs)."""
    from PIL import Image

    for name in FIGURES:
        with Image.open(results / "figures" / f"{name}.png") as image:
            image.thumbnail((1200, 10 * image.height))  # keeps the aspect ratio
            image.convert("RGB").save(ROOT / Path(TABLE).parent / f"{name}.png", optimize=True)


def findings(results: Path) -> None:
    import pandas as pd

    from convergent.tables.render import MARKER, README_LEVEL, findings_markdown

    header = _study(results)
    commit = _commit()
    (ROOT / TABLE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results / "tables" / "findings.csv", ROOT / TABLE)
    block = findings_markdown(pd.read_csv(ROOT / TABLE), header, README_LEVEL).rstrip("\n")
    study = header.split()[1].rstrip(":")
    origin = _provenance(ROOT / TABLE, study, commit, results)
    _replace_block(MARKER, END, block,
                   f"*Copied on {datetime.date.today()} from a run of `config/config.yaml` "
                   f"({origin}); the table behind it: `{TABLE}`; `make reproduce` checks "
                   "it.*")
    _replace_block(HEAD, HEAD_END, head(block),
                   "*The first lines of the default study's findings; all of them: [below]"
                   "(#findings-of-the-default-study).*")
    figures(results)
    print(f"README.md: findings of study {study}; {TABLE} and its figures updated")


def claims(results: Path) -> None:
    import pandas as pd

    from convergent.tables.render import CLAIMS_MARKER, claims_markdown

    study = _study(results).split()[1].rstrip(":")
    commit = _commit()
    (ROOT / CLAIMS_TABLE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results / "tables" / "claims.csv", ROOT / CLAIMS_TABLE)
    block = claims_markdown(pd.read_csv(ROOT / CLAIMS_TABLE))
    origin = _provenance(ROOT / CLAIMS_TABLE, study, commit, results)
    _replace_block(CLAIMS_MARKER, CLAIMS_END, block,
                   f"*Copied on {datetime.date.today()} from a run of `config/claims.yaml` "
                   f"({origin}); the table behind it: `{CLAIMS_TABLE}`.*")
    print(f"README.md: claims of study {study}; {CLAIMS_TABLE} updated")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    args = sys.argv[1:]
    if args[:1] == ["--claims"]:
        claims(Path(args[1]))
    else:
        findings(Path(args[0] if args else "results"))
