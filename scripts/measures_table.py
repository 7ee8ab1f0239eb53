"""Write docs/similarity.md's table of measures from the registry
(convergent.analysis.measures), between its marker lines.

    .venv/bin/python scripts/measures_table.py

Commits nothing; tests/test_measure_frontier.py checks that the table is the registry's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "similarity.md"


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from convergent.analysis.measures import TABLE_BEGIN, TABLE_END, markdown_table

    text = DOC.read_text()
    start, end = text.index(TABLE_BEGIN) + len(TABLE_BEGIN), text.index(TABLE_END)
    DOC.write_text(text[:start] + "\n" + markdown_table() + "\n" + text[end:])
    print(f"{DOC.relative_to(ROOT)}: table of measures written")


if __name__ == "__main__":
    main()
