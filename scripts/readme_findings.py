"""Copy the default study's findings into the README (run after `make study`).

    .venv/bin/python scripts/readme_findings.py [results]

Commits nothing: it copies results/tables/findings.csv to docs/default_study/ and rewrites the
README's findings block (between its marker lines) from it, as findings.md renders it (with
headings one level down); tests/test_findings.py checks the block against that table.
"""

from __future__ import annotations

import datetime
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = "docs/default_study/findings.csv"
END = "<!-- findings: end -->"


def main(results: Path) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import pandas as pd

    from convergent.tables.render import MARKER, README_LEVEL, findings_markdown

    header = re.search(r"^Study \w+:.*$", (results / "findings.md").read_text(), re.M).group(0)
    (ROOT / TABLE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results / "tables" / "findings.csv", ROOT / TABLE)
    findings = findings_markdown(pd.read_csv(ROOT / TABLE), header, README_LEVEL).rstrip("\n")
    study = header.split()[1].rstrip(":")
    stamp = (f"*Copied on {datetime.date.today()} from a run of `config/config.yaml` (study "
             f"{study}); the table behind it: `{TABLE}`.*")
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(MARKER), readme.index(END)
    tail = readme[end + len(END):].split("\n", 2)  # the stamp line follows the end marker
    readme = readme[:start] + findings + "\n" + END + "\n" + stamp + "\n" + tail[2]
    (ROOT / "README.md").write_text(readme)
    print(f"README.md: findings of study {study}; {TABLE} updated")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
