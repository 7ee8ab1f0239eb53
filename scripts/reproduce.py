"""Does a run reproduce the committed findings?  Compares a study's ``tables/findings.csv``
with the committed copy behind the README, exactly, and says which rows moved.

    make reproduce                                   # runs the default study, then this
    .venv/bin/python scripts/reproduce.py [results]  # compare a finished run (default: results)
    .venv/bin/python scripts/reproduce.py --claims <results>   # the claims study's table

Exit status 0 when every row is equal (numbers to the last bit, sentences character for
character), 1 otherwise.  The committed copy's provenance (commit, config hash, date) comes from
``provenance.json`` beside it (written by scripts/readme_findings.py); a different config hash
is said first, since then the run is of another study, and networks trained on another kind of
processor (``device`` of tables/accuracy.csv) are said last: CPU kernels round differently per
instruction set and vendor, so only the same kind reproduces the copy to the bit.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COPIES = {"findings": ROOT / "docs" / "default_study" / "findings.csv",
          "claims": ROOT / "docs" / "claims_study" / "claims.csv"}
#: the columns that name a row (its key); the others are its values
KEYS = {"findings": ["section", "architecture", "layer", "measure"],
        "claims": ["claim", "architecture", "measure", "layers", "cells"]}


def study_id(results: Path) -> str | None:
    """The study id (config hash) in a run's findings.md header."""
    found = re.search(r"^Study (\w+):", (results / "findings.md").read_text(), re.M)
    return found.group(1) if found else None


def trained_on(results: Path) -> list[str]:
    """The processors a run's networks were trained on (none known: [])."""
    from convergent.tables.accuracy import trained_on as devices

    table = results / "tables" / "accuracy.csv"
    return devices(pd.read_csv(table)) if table.exists() else []


def moved_rows(run: pd.DataFrame, copy: pd.DataFrame, keys: list[str]) -> list[str]:
    """One line per row that differs, is missing or is new (keyed by ``keys``)."""
    def keyed(df: pd.DataFrame) -> dict[tuple, dict]:
        return {tuple(str(r[k]) for k in keys): r for r in df.to_dict("records")}

    a, b = keyed(run), keyed(copy)
    lines = []
    for key in dict.fromkeys([*b, *a]):
        name = " / ".join(k for k in key if k != "nan")
        if key not in a:
            lines.append(f"missing from the run: {name}")
        elif key not in b:
            lines.append(f"new in the run: {name}")
        else:
            diff = [c for c in run.columns if not _same(a[key].get(c), b[key].get(c))]
            if diff:
                shown = ", ".join(f"{c} {b[key].get(c)!r} -> {a[key].get(c)!r}" for c in diff
                                  if c != "text")
                lines.append(f"moved: {name}: {shown or 'text'}")
    return lines


def _same(x: object, y: object) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return (x != x and y != y) or x == y  # NaN equals NaN here; numbers to the bit
    return x == y


def main(argv: list[str]) -> int:
    kind = "claims" if argv[:1] == ["--claims"] else "findings"
    args = argv[1:] if kind == "claims" else argv
    results = Path(args[0] if args else "results")
    table = results / "tables" / f"{kind}.csv"
    copy = COPIES[kind]
    provenance = copy.parent / "provenance.json"
    stamp = json.loads(provenance.read_text()) if provenance.exists() else {}
    if stamp.get("study") and stamp["study"] != study_id(results):
        print(f"{table}: a run of study {study_id(results)}, the copy is of study "
              f"{stamp['study']} (another config): rerun with the committed config")
    run, committed = pd.read_csv(table), pd.read_csv(copy)
    lines = moved_rows(run, committed, KEYS[kind])
    origin = (f" (commit {stamp.get('commit', '?')[:12]}, {stamp.get('date', '?')})"
              if stamp else "")
    if not lines:
        print(f"{table} equals {copy.relative_to(ROOT)}{origin}: {len(run)} rows, every "
              "number to the bit")
        return 0
    print(f"{table} differs from {copy.relative_to(ROOT)}{origin} in {len(lines)} of "
          f"{max(len(run), len(committed))} rows:")
    print("\n".join(f"  {line}" for line in lines))
    ours, theirs = trained_on(results), stamp.get("trained_on")
    if theirs and ours and ours != theirs:
        print(f"The copy's networks were trained on {'; '.join(theirs)}, this run's on "
              f"{'; '.join(ours)}: CPU kernels round differently per instruction set and "
              "vendor, so every number downstream of training moves; the copy reproduces to "
              "the bit on the same kind of processor.")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
