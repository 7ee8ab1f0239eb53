"""Scale in seeds: jobs, wall time, CPU time and peak memory of a small study of N seeds, and
the projection to 100 seeds on this CPU and on a Slurm cluster.  Prints tables; asserts nothing.

    nice -n 10 python benchmarks/scale.py [--seeds 4 16 64] [--run 4 16] [--keep DIR]

The study is config/config.yaml made small (STUDY_OVERRIDES: 400 training images, 1 epoch, a
200-image probe set, layers conv1, conv5, fc7, 10 bootstrap resamples) with N seeds
``{init_seed: k, data_seed: k}``.  For every N of --seeds (and 100) a dry run gives the jobs per
rule (Snakemake's own "Job stats" table, so any layout of the rules is counted as it is); each N
of --run is then run for real with ``snakemake --cores 2`` in a fresh folder: wall time, CPU time
(user + sys of snakemake and every job) and peak memory (max RSS of any one process) from
``os.wait4`` on snakemake (its rusage includes every job it waited for).

Projection: per rule, the summed job seconds of the measured runs (Snakemake's job records,
benchmarks/study_time.py) are fitted as ``a * jobs + b * pairs`` (a, b >= 0: a per-job cost,
start-up and per-model work, plus a per-pair cost; jobs from the dry run at that N) and
evaluated at 100 seeds.  The 2-core wall is the projected core-seconds / 2, scaled by how well
the largest measured run packed its 2 cores (and, for a quiet machine, by the CPU its jobs got
per core-second they held); the Slurm wall is the larger of the job slots' seconds /
SLURM_CONCURRENT and the rule graph's critical path (each rule's mean job: a lower bound), each
job paying SLURM_START_S on nodes as fast as this CPU when quiet.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import study_time  # noqa: E402  (benchmarks/study_time.py: per-rule seconds and threads)
from workflow_runs import env, snakemake_args  # noqa: E402  (how the suite runs the workflow)

#: per-pair analyses: one job per later model of a pair and layer (one per pair and layer before)
PAIR_RULES = ("compare", "mutual_information", "sparse_prediction", "clustering")
#: per-model similarity: one job per model with every earlier partner (one per pair before)
MODEL_RULES = ("similarity",)
PROJECT_TO = 100
CORES = 2
#: Slurm assumptions: jobs running at once (the profile's CONVERGENT_SLURM_JOBS default) and the
#: queue wait + start-up of one job (sbatch, scheduling, node start of the Python process)
SLURM_CONCURRENT = 100
SLURM_START_S = 30.0

#: config/config.yaml made small: a real run of 4 seeds takes minutes on 2 cores
STUDY_OVERRIDES: dict[str, dict[str, Any]] = {
    "dataset": {"train_subset": 400, "test_subset": 200},
    "training": {"epochs": 1, "batch_size": 64, "accelerator": "cpu"},
    "probe": {"size": 200, "batch_size": 100},
    "analysis": {"blocks": 4, "chunk_images": 100, "sparse_layers": ["conv1", "conv5"],
                 "sparse_folds": 2},
    "similarity": {"bootstrap": 10, "subsample": 100},
    # two single-threaded trainings side by side on 2 cores (as config/claims.yaml does)
    "resources": {"train": {"threads": 1}, "dump": {"threads": 1}},
}
LAYERS = ["conv1", "conv5", "fc7"]


def study_config(seeds: int) -> dict[str, Any]:
    """The small study of ``seeds`` seeds: config/config.yaml with STUDY_OVERRIDES."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for section, values in STUDY_OVERRIDES.items():
        config[section] = {**config.get(section, {}), **copy.deepcopy(values)}
    config["models"] = [{"init_seed": k, "data_seed": k} for k in range(seeds)]
    config["layers"] = list(LAYERS)
    return config


def pair_rule_layers(config: dict[str, Any]) -> dict[str, list[str]]:
    """Per-pair rule -> the layers it runs on (sparse prediction: analysis.sparse_layers)."""
    sparse = config["analysis"]["sparse_layers"]
    return {rule: sparse if rule == "sparse_prediction" else config["layers"]
            for rule in PAIR_RULES}


def pair_count(config: dict[str, Any]) -> int:
    """The study's compared pairs (convergent.study.pairs of the validated config)."""
    from convergent.study import pairs, validate

    config = copy.deepcopy(config)
    validate(config, ROOT / "config" / "schema.yaml")
    return len(pairs(config))


def _write_config(folder: Path, config: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def parse_job_stats(text: str) -> dict[str, int]:
    """rule -> jobs of the last "Job stats:" table in Snakemake's output (without the total)."""
    tables = text.split("Job stats:")
    if len(tables) < 2:
        raise RuntimeError(f"no 'Job stats:' table in snakemake's output:\n{text[-2000:]}")
    counts: dict[str, int] = {}
    for line in tables[-1].splitlines()[3:]:  # after the header and its rule
        m = re.fullmatch(r"\s*(\S+)\s+(\d+)\s*", line)
        if m is None:
            break
        counts[m[1]] = int(m[2])
    counts.pop("total", None)
    return counts


def job_counts(config: dict[str, Any], folder: Path, *targets: str) -> dict[str, int]:
    """rule -> jobs of a dry run of ``config`` in the empty study folder ``folder`` (seconds)."""
    configfile = _write_config(folder, config)
    args = snakemake_args(configfile, folder / "study", "-n", "--quiet", "rules", *targets)
    proc = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"dry run failed:\n{proc.stderr[-3000:]}")
    return parse_job_stats(proc.stdout + proc.stderr)


def rule_graph(config: dict[str, Any], folder: Path) -> dict[str, set[str]]:
    """rule -> the rules whose outputs it reads (snakemake --rulegraph of ``config``)."""
    configfile = _write_config(folder, config)
    args = snakemake_args(configfile, folder / "study", "--rulegraph")
    proc = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, check=True)
    names = dict(re.findall(r'(\d+)\[label = "([^"]+)"', proc.stdout))
    graph: dict[str, set[str]] = {name: set() for name in names.values()}
    for upstream, downstream in re.findall(r"(\d+) -> (\d+)", proc.stdout):
        graph[names[downstream]].add(names[upstream])
    return graph


def run_study(config: dict[str, Any], folder: Path) -> dict[str, float]:
    """Wall s, CPU s and peak RSS MB of a real run of ``config`` with --cores 2 in ``folder``."""
    configfile = _write_config(folder, config)
    args = snakemake_args(configfile, folder / "study", "--profile", "workflow/profiles/local",
                          "--cores", str(CORES))
    with (folder / "snakemake.out").open("w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT)
        # wait4: this run's rusage alone (RUSAGE_CHILDREN would add up every earlier run)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if status:
        raise RuntimeError(f"the run of {folder} failed; see {folder / 'snakemake.out'}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
            "load": os.getloadavg()[1]}  # the 5-minute load average at the end: how quiet


def fit_rule_seconds(
    measured: dict[int, dict[str, tuple[int, float]]],
    jobs: dict[int, dict[str, int]],
    pairs: dict[int, int],
) -> dict[str, tuple[float, float]]:
    """rule -> (a, b) of ``seconds = a * jobs + b * pairs`` (non-negative least squares over the
    measured seed counts; one measured run: the per-job mean, b = 0).  Only work over pairs
    has a pair term: the per-pair rules (a job's pairs grow with the seeds) and the tables and
    figures drawn once over every pair; a per-model rule (train, dump, moments: its job count
    grows, its jobs' work does not) gets b = 0, whatever noise the load adds to its seconds."""
    from scipy.optimize import nnls

    rules = sorted({rule for per_rule in measured.values() for rule in per_rule})
    fits = {}
    for rule in rules:
        rows = [(jobs[n].get(rule, 0), pairs[n], per_rule.get(rule, (0, 0.0))[1])
                for n, per_rule in measured.items()]
        x = np.array([[j, p] for j, p, _ in rows], float)
        y = np.array([s for _, _, s in rows], float)
        per_model = rule not in PAIR_RULES + MODEL_RULES and len({j for j, _, _ in rows}) > 1
        if per_model:
            fits[rule] = (float(y.sum() / max(x[:, 0].sum(), 1.0)), 0.0)
        elif len(rows) == 1:
            fits[rule] = (y[0] / max(x[0, 0], 1.0), 0.0)
        else:
            coef, _ = nnls(x, y)
            fits[rule] = (float(coef[0]), float(coef[1]))
    return fits


def critical_path(graph: dict[str, set[str]], seconds: dict[str, float]) -> float:
    """Longest chain of the rule graph, each rule weighing ``seconds[rule]`` (0 if absent)."""
    memo: dict[str, float] = {}

    def longest(rule: str) -> float:
        if rule not in memo:
            memo[rule] = seconds.get(rule, 0.0) + max(
                (longest(up) for up in graph.get(rule, ())), default=0.0)
        return memo[rule]

    return max((longest(rule) for rule in graph), default=0.0)


def table(title: str, header: tuple, rows: list[tuple]) -> None:
    print(f"\n## {title}")
    print("  " + " | ".join(str(c) for c in header))
    for row in rows:
        print("  " + " | ".join(f"{c:,.1f}" if isinstance(c, float) else f"{c:,}"
                                if isinstance(c, int) else str(c) for c in row))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[4, 16, 64],
                   help="seed counts to dry-run (100 is always added)")
    p.add_argument("--run", type=int, nargs="*", default=[4, 16],
                   help="seed counts to run for real with --cores 2 (64 takes long)")
    p.add_argument("--keep", type=Path,
                   help="run the studies in this folder and keep them (a finished run there is "
                        "read back, not rerun)")
    args = p.parse_args()
    counts = sorted({*args.seeds, *args.run, PROJECT_TO})
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        base = args.keep or Path(tmp)
        print(f"# scale in seeds: {os.cpu_count()} CPUs, loadavg "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; study folders under {base}")
        jobs, pairs, dry_s = {}, {}, {}
        for n in counts:
            start = time.perf_counter()
            jobs[n] = job_counts(study_config(n), base / f"dry-{n}")
            dry_s[n] = time.perf_counter() - start
            pairs[n] = pair_count(study_config(n))
        rules = sorted({r for c in jobs.values() for r in c},
                       key=lambda r: (-jobs[PROJECT_TO].get(r, 0), r))
        table("jobs per rule (dry run)", ("rule", *(f"{n} seeds" for n in counts)),
              [(r, *(jobs[n].get(r, 0) for n in counts)) for r in rules]
              + [("== total jobs", *(sum(jobs[n].values()) for n in counts)),
                 ("== pairs", *(pairs[n] for n in counts)),
                 ("== total jobs / pair", *(f"{sum(jobs[n].values()) / pairs[n]:.2f}"
                                           for n in counts)),
                 ("== dry run seconds", *(dry_s[n] for n in counts))])
        layers = pair_rule_layers(study_config(PROJECT_TO))
        table("per-pair rules: jobs / ((models - 1) x layers), similarity: jobs / models  "
              "(1.00 = one job per later model and layer; n/2 = one per pair)",
              ("rule", *(f"{n} seeds" for n in counts)),
              [(r, *(f"{jobs[n].get(r, 0) / ((n - 1) * len(layers[r])):.2f}" for n in counts))
               for r in PAIR_RULES]
              + [(r, *(f"{jobs[n].get(r, 0) / n:.2f}" for n in counts)) for r in MODEL_RULES])

        measured, runs = {}, {}
        for n in sorted(args.run):
            folder = base / f"run-{n}"
            done = folder / "run.json"  # a finished run kept with --keep is read back, not rerun
            if args.keep and done.is_file():
                runs[n] = json.loads(done.read_text())
            else:
                runs[n] = run_study(study_config(n), folder)
                done.write_text(json.dumps(runs[n]))
            measured[n] = study_time.rule_seconds(folder / "study")
            threads = study_time.rule_threads(folder / "study")
            runs[n]["core"] = sum(s * threads[r] for r, (_, s) in measured[n].items())
        if not runs:
            return
        table("real runs (snakemake --cores 2)",
              ("seeds", "jobs", "wall", "CPU (user+sys)", "CPU / wall", "peak RSS",
               "job core-s", "CPU / job core-s", "wall / seed", "load avg at end"),
              [(n, sum(jobs[n].values()), _duration(r["wall"]), _duration(r["cpu"]),
                f"{r['cpu'] / r['wall']:.2f}", f"{r['rss']:.0f} MB", r["core"],
                f"{r['cpu'] / r['core']:.2f}", f"{r['wall'] / n:.1f} s",
                f"{r.get('load', float('nan')):.1f}") for n, r in runs.items()])
        if len(runs) > 1:
            (n0, r0), (n1, r1) = list(runs.items())[0], list(runs.items())[-1]
            print(f"  {n1} seeds / {n0} seeds: {n1 / n0:.0f}x seeds, "
                  f"{pairs[n1] / pairs[n0]:.0f}x pairs, {r1['wall'] / r0['wall']:.1f}x wall, "
                  f"{r1['cpu'] / r0['cpu']:.1f}x CPU, {r1['rss'] / r0['rss']:.2f}x peak RSS")

        fits = fit_rule_seconds(measured, jobs, pairs)
        largest = max(runs)
        threads = study_time.rule_threads(base / f"run-{largest}" / "study")
        n, big = PROJECT_TO, {}
        for rule, (a, b) in fits.items():
            total = a * jobs[n].get(rule, 0) + b * pairs[n]
            big[rule] = (jobs[n].get(rule, 0), total, threads[rule])
        job_s = {r: t / j for r, (j, t, _) in big.items() if j}
        table(f"projection to {n} seeds ({pairs[n]:,} pairs): fitted per rule",
              ("rule", "s / job (a)", "s / pair (b)", f"jobs at {n}", f"s / job at {n}",
               f"job-s at {n}", "threads"),
              [(r, fits[r][0], f"{fits[r][1]:.3f}", j, job_s.get(r, 0.0), t, f"{th:g}")
               for r, (j, t, th) in sorted(big.items(), key=lambda kv: -kv[1][1])])
        core_s = sum(t * th for _, t, th in big.values())
        packing = runs[largest]["wall"] / (runs[largest]["core"] / CORES)
        # on a shared machine a job's wall holds time it waited for a core: the CPU it got per
        # core-second it held (<= 1) turns job seconds into those of a quiet machine
        quiet = min(1.0, runs[largest]["cpu"] / runs[largest]["core"])
        slots = sum(j * (job_s[r] * quiet + SLURM_START_S) for r, (j, _, _) in big.items() if j)
        graph = rule_graph(study_config(largest), base / f"dry-{largest}")  # same rules at any N
        path = critical_path(graph, {r: s * quiet + SLURM_START_S for r, s in job_s.items()})
        slurm = max(slots / SLURM_CONCURRENT, path)
        start_up = sum(j for j, _, _ in big.values()) * SLURM_START_S
        table(f"projected wall at {n} seeds",
              ("where", "wall", "how"),
              [("this CPU, --cores 2, as loaded as the runs", _duration(core_s / CORES * packing),
                f"{core_s:,.0f} core-s / {CORES} cores x {packing:.2f} (the {largest}-seed run's "
                "wall / its ideal)"),
               ("this CPU, --cores 2, quiet", _duration(core_s * quiet / CORES),
                f"the same core-s x {quiet:.2f} (the run's CPU / job core-s) / {CORES} cores"),
               (f"Slurm, {SLURM_CONCURRENT} jobs at once", _duration(slurm),
                f"max(job slots {slots:,.0f} s / {SLURM_CONCURRENT}, critical path "
                f"{path:,.0f} s); each job + {SLURM_START_S:.0f} s queue and start-up, "
                f"nodes as fast as this CPU when quiet (job seconds x {quiet:.2f})"),
               ("Slurm, start-up share", f"{start_up / slots:.0%}",
                f"of the job slots' seconds ({start_up:,.0f} s)")])


if __name__ == "__main__":
    main()
