"""Where a finished study's time went: per rule, from Snakemake's own job records.

    python benchmarks/study_time.py [STUDY_DIR]     # default: the current directory

Reads STUDY_DIR/.snakemake/metadata (one record per output file, each with its job's start and
end time; a job's outputs are counted once) and prints each rule's jobs and wall seconds, then
core-seconds (wall × the job's threads) of training, probing, analysis and tables/figures, and
the analysis/training ratio (issue 16's target: <= 0.5x).  Core-seconds are what the jobs held,
an upper bound of their CPU time (a job that waits on I/O holds its cores too).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

#: threads of the job kinds that take more than one (workflow/rules/common.smk defaults)
THREADS = {"train": 2, "dump": 2, "stream": 2}
TRAINING = ("train",)
PROBING = ("dump", "untrained", "stream")


def group(rule: str) -> str:
    if rule in TRAINING:
        return "training"
    if rule in PROBING:
        return "probing"
    if rule.startswith(("figure", "table")) or rule.endswith(("table", "tables")) or rule in (
        "study_findings", "report", "findings", "claims"
    ):
        return "tables and figures"
    return "analysis"


def rule_seconds(study: Path) -> dict[str, tuple[int, float]]:
    """rule -> (jobs, summed wall seconds) of the jobs recorded in ``study/.snakemake``."""
    jobs: dict[str, dict[object, float]] = defaultdict(dict)
    for record in (study / ".snakemake" / "metadata").iterdir():
        try:
            meta = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("starttime") and meta.get("endtime"):
            # a job's outputs share its job_hash (their own end times differ by milliseconds)
            job = meta.get("job_hash", record.name)
            jobs[meta["rule"]][job] = meta["endtime"] - meta["starttime"]
    return {rule: (len(js), sum(js.values())) for rule, js in jobs.items()}


def span(study: Path) -> float:
    """Wall seconds from the first job's start to the last job's end."""
    times = [
        t
        for record in (study / ".snakemake" / "metadata").iterdir()
        for meta in [json.loads(record.read_text())]
        for t in (meta.get("starttime"), meta.get("endtime"))
        if t
    ]
    return max(times) - min(times) if times else 0.0


def summary_rows(study: Path) -> list[tuple]:
    """Rows of the per-rule table, then the per-group core-seconds and the ratio."""
    per_rule = rule_seconds(study)
    rows: list[tuple] = []
    core = defaultdict(float)
    for rule, (n, seconds) in sorted(per_rule.items(), key=lambda kv: -kv[1][1]):
        threads = THREADS.get(rule, 1)
        core[group(rule)] += seconds * threads
        rows.append((rule, f"{n} jobs", f"{seconds:.1f} s wall", f"x {threads} threads"))
    for name in ("training", "probing", "analysis", "tables and figures"):
        rows.append((f"== {name}", f"{core[name]:.0f} core-s"))
    if core["training"]:
        ratio = core["analysis"] / core["training"]
        rest = (core["analysis"] + core["tables and figures"]) / core["training"]
        rows.append(("== analysis / training", f"{ratio:.2f}x (target <= 0.5x)",
                     f"{rest:.2f}x with tables and figures"))
    rows.append(("== first job start to last job end", f"{span(study):.0f} s wall"))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", nargs="?", default=".", type=Path, help="the study's folder")
    args = p.parse_args()
    if not (args.study / ".snakemake" / "metadata").is_dir():
        sys.exit(f"{args.study}: no .snakemake/metadata; run the study there first")
    for row in summary_rows(args.study):
        print("  " + " | ".join(str(c) for c in row))


if __name__ == "__main__":
    main()
