"""Where a finished study's time went: per rule, from Snakemake's own job records.

    python benchmarks/study_time.py [STUDY_DIR] [--configfile FILE ...]   # default: .

Reads STUDY_DIR/.snakemake/metadata (one record per output file, each with its job's start and
end time; a job's outputs are counted once) and prints each rule's jobs and wall seconds, then
core-seconds (wall × the job's threads) of training, probing, analysis and tables/figures, and
the analysis/training ratio (issue 16's target: <= 0.5x).  Core-seconds are what the jobs held,
an upper bound of their CPU time (a job that waits on I/O holds its cores too).

A job's threads: the metadata records do not hold them, so they come from Snakemake's run logs
(.snakemake/log: each started job's block has a ``threads:`` line when it is not 1, after any
scaling to --cores), else from the study's config: ``resources.<kind>.threads`` of the config
files (the --configfile files, each over the one before, as Snakemake reads them; without one,
STUDY_DIR/config/config.yaml) over the defaults
in workflow/rules/common.smk (RESOURCE_DEFAULTS; training: training.threads), the rule's kind
read from its ``threads: job_threads("<kind>")`` line in workflow/rules/*.smk.
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "workflow" / "rules"
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


def _records(study: Path) -> Iterable[tuple[str, dict]]:
    """(output file, record) of each job record in ``study/.snakemake/metadata``."""
    folder = study / ".snakemake" / "metadata"
    for record in folder.rglob("*"):
        try:
            meta = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        # a record is named by its output, urlsafe base64 (a long one split into @-folders)
        name = "".join(part.lstrip("@") for part in record.relative_to(folder).parts)
        try:
            output = base64.urlsafe_b64decode(name).decode()
        except ValueError:
            output = name
        yield output, meta


def jobs(study: Path) -> dict[str, dict[object, tuple[float, list[str]]]]:
    """rule -> job -> (wall seconds, outputs) of the jobs recorded in ``study/.snakemake``."""
    out: dict[str, dict[object, tuple[float, list[str]]]] = defaultdict(dict)
    for output, meta in _records(study):
        if meta.get("starttime") and meta.get("endtime"):
            # a job's outputs share its job_hash (their own end times differ by milliseconds)
            job = meta.get("job_hash", output)
            _, outputs = out[meta["rule"]].get(job, (0.0, []))
            out[meta["rule"]][job] = (meta["endtime"] - meta["starttime"], [*outputs, output])
    return out


def rule_seconds(study: Path) -> dict[str, tuple[int, float]]:
    """rule -> (jobs, summed wall seconds) of the jobs recorded in ``study/.snakemake``."""
    return {rule: (len(js), sum(s for s, _ in js.values())) for rule, js in jobs(study).items()}


def logged_threads(study: Path) -> dict[str, int]:
    """output file -> threads of the job that wrote it, from the run logs in .snakemake/log
    (blocks of jobs that did not finish in that run, e.g. of a dry run, are left out)."""
    out: dict[str, int] = {}
    for log in sorted((study / ".snakemake" / "log").glob("*.snakemake.log")):
        blocks: dict[str, tuple[list[str], int]] = {}
        outputs: list[str] | None = None
        jobid, threads = None, 1
        finished = set()
        for line in [*log.read_text(errors="replace").splitlines(), ""]:
            if outputs is not None and not line.startswith("    "):  # the end of a job's block
                if jobid is not None:
                    blocks[jobid] = (outputs, threads)
                outputs = None
            if re.fullmatch(r"(local)?(rule|checkpoint) \S+:", line):
                outputs, jobid, threads = [], None, 1
            elif outputs is not None and (m := re.fullmatch(r"    (\w+): (.*)", line)):
                if m[1] == "output":
                    outputs = m[2].split(", ")
                elif m[1] == "jobid":
                    jobid = m[2]
                elif m[1] == "threads":
                    threads = int(m[2])
            elif m := re.match(r"Finished jobid: (\d+)", line):
                finished.add(m[1])
        for jobid, (files, n) in blocks.items():
            if jobid in finished:
                out.update(dict.fromkeys(files, n))
    return out


@cache
def _rule_kinds() -> dict[str, str]:
    """rule -> job kind, from ``threads: job_threads("<kind>")`` in workflow/rules/*.smk."""
    kinds = {}
    for smk in sorted(RULES.glob("*.smk")):
        rule = None
        for line in smk.read_text().splitlines():
            if m := re.match(r"\s*(?:local)?(?:rule|checkpoint) (\w+):", line):
                rule = m[1]
            elif rule and (m := re.match(r'\s+threads: job_threads\("(\w+)"\)', line)):
                kinds[rule] = m[1]
    return kinds


@cache
def _resource_defaults() -> dict[str, dict]:
    """RESOURCE_DEFAULTS of workflow/rules/common.smk (its dict literal, parsed)."""
    text = (RULES / "common.smk").read_text()
    literal = re.search(r"^RESOURCE_DEFAULTS = (\{.*?^\})", text, re.S | re.M)
    if literal is None:
        raise RuntimeError("workflow/rules/common.smk: no RESOURCE_DEFAULTS = {...} found")
    return ast.literal_eval(literal[1])


def config_threads(study: Path, configfiles: Iterable[Path] = ()) -> dict[str, int]:
    """rule -> threads from the study's config: resources.<kind>.threads over the defaults
    (the train kind's: training.threads, as in common.smk)."""
    resources: dict[str, dict] = {}
    training_threads = 1
    # a --configfile stands alone: the study folder's config/config.yaml is read only without
    for path in list(configfiles) or [study / "config" / "config.yaml"]:
        if path.is_file():
            config = yaml.safe_load(path.read_text()) or {}
            for kind, values in (config.get("resources") or {}).items():
                resources[kind] = {**resources.get(kind, {}), **values}
            training_threads = (config.get("training") or {}).get("threads", training_threads)
    defaults = {**_resource_defaults()}
    defaults["train"] = {**defaults["train"], "threads": training_threads}
    return {rule: {**defaults[kind], **resources.get(kind, {})}["threads"]
            for rule, kind in _rule_kinds().items()}


def rule_threads(study: Path, configfiles: Iterable[Path] = ()) -> dict[str, float]:
    """rule -> its jobs' threads (mean weighted by wall seconds): logged, else from the config."""
    logged, configured = logged_threads(study), config_threads(study, configfiles)
    out = {}
    for rule, js in jobs(study).items():
        held = [(s, next((logged[f] for f in files if f in logged), configured.get(rule, 1)))
                for s, files in js.values()]
        total = sum(s for s, _ in held)
        out[rule] = (sum(s * t for s, t in held) / total if total
                     else float(held[0][1]) if held else 1.0)
    return out


def span(study: Path) -> float:
    """Wall seconds from the first job's start to the last job's end."""
    times = [t for _, meta in _records(study) for t in (meta.get("starttime"), meta.get("endtime"))
             if t]
    return max(times) - min(times) if times else 0.0


def summary_rows(study: Path, configfiles: Iterable[Path] = ()) -> list[tuple]:
    """Rows of the per-rule table, then the per-group core-seconds and the ratio."""
    per_rule = rule_seconds(study)
    threads_of = rule_threads(study, configfiles)
    rows: list[tuple] = []
    core = defaultdict(float)
    for rule, (n, seconds) in sorted(per_rule.items(), key=lambda kv: -kv[1][1]):
        threads = threads_of[rule]
        core[group(rule)] += seconds * threads
        rows.append((rule, f"{n} jobs", f"{seconds:.1f} s wall", f"x {threads:g} threads"))
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
    p.add_argument("--configfile", nargs="*", default=[], type=Path,
                   help="the run's --configfile(s), for threads the run logs do not show")
    args = p.parse_args()
    if not (args.study / ".snakemake" / "metadata").is_dir():
        sys.exit(f"{args.study}: no .snakemake/metadata; run the study there first")
    for row in summary_rows(args.study, args.configfile):
        print("  " + " | ".join(str(c) for c in row))


if __name__ == "__main__":
    main()
