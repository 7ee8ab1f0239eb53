"""The Slurm profile on a real Slurm: a one-node cluster on this machine runs the tiny study.

The fixture starts slurmctld, slurmd and munged (scripts/slurm/setup_slurm_ci.sh: Debian 12
packages, no systemd, no cgroups; needs root) unless a cluster is already up, and stops every
daemon it started by PID afterwards, also when the test fails.  The test submits the core
targets of the tiny study (workflow_runs.CORE_TARGETS) with ``--profile
workflow/profiles/slurm`` (only the status-poll delay and the job limit are overridden on the
command line; the study config sets gpu: 0 because the node has no GPU) and checks that every
job went through sbatch, that Slurm saw each one COMPLETED with the rule's memory request, and
that the outputs equal those of a local run (CPU training is deterministic).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from workflow_runs import (
    CORE_TARGETS,
    ROOT,
    TINY_STUDY,
    env,
    run_local,
    snakemake_args,
    write_config,
)

pytestmark = pytest.mark.slurm

SCRIPTS = ROOT / "scripts" / "slurm"
# Snakemake waits for its Slurm jobs on SIGTERM; -k makes sure a hung run really ends.
RUN_LIMIT_S = 240


def _cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return proc.returncode == 0 and "idle" in proc.stdout.split()


def _min_job_age() -> int:
    out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True).stdout
    match = re.search(r"^MinJobAge\s*=\s*(\d+)", out, re.M)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running one-node cluster; torn down afterwards only if this fixture started it."""
    started = not _cluster_up()
    if started:
        setup = subprocess.run(
            ["bash", str(SCRIPTS / "setup_slurm_ci.sh")],
            capture_output=True,
            text=True,
            timeout=240,
        )
        if setup.returncode != 0:
            subprocess.run(["bash", str(SCRIPTS / "teardown_slurm_ci.sh")], timeout=60)
            pytest.fail(
                "could not start the test Slurm cluster (needs root and the Debian packages "
                "slurmctld slurmd slurm-client munge):\n"
                f"{setup.stdout[-2000:]}{setup.stderr[-2000:]}"
            )
    try:
        # squeue forgets finished jobs after MinJobAge; below 3 x init-seconds the plugin would
        # fall back to sacct, which hangs without slurmdbd.
        assert _min_job_age() >= 600, "slurm.conf: MinJobAge must be >= 600 for this test"
        yield
    finally:
        if started:
            subprocess.run(["bash", str(SCRIPTS / "teardown_slurm_ci.sh")], timeout=60)


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory):
    """(local workdir, slurm workdir, slurm snakemake output): both runs of the tiny study."""
    root = tmp_path_factory.mktemp("slurm")
    configfile = write_config(root, TINY_STUDY)
    workdir = root / "slurm"
    args = snakemake_args(
        configfile,
        workdir,
        "--profile",
        "workflow/profiles/slurm",
        "--jobs",
        "4",
        "--slurm-init-seconds-before-status-checks",
        "2",
        *CORE_TARGETS,
    )
    log = root / "slurm.out"
    with open(log, "w") as out:
        # The Slurm run mostly waits on status polls: the local reference run overlaps it.
        proc = subprocess.Popen(
            ["timeout", "-k", "10", str(RUN_LIMIT_S), *args],
            cwd=ROOT,
            env=env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            local = run_local(tmp_path_factory)
        finally:
            rc = proc.wait(timeout=RUN_LIMIT_S + 30)
    text = log.read_text()
    assert rc == 0, f"Slurm run failed (rc {rc}; 124 = timed out):\n{text[-5000:]}"
    return local, workdir, text


def _submitted_rules(text: str) -> list[str]:
    return re.findall(r"Job \d+ has been submitted with SLURM jobid \d+", text)


def _squeue_jobs(run_id: str) -> list[dict[str, str]]:
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%m|%b|%k"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keys = ("id", "state", "min_memory", "gres", "comment")
    return [dict(zip(keys, line.split("|"), strict=True)) for line in out.splitlines() if line]


def _local_jobs(workdir: Path) -> dict[str, int]:
    """Jobs per rule of a finished local run, from its first Snakemake log (rule all excluded;
    later logs belong to other commands on the shared run, such as --report)."""
    log = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))[0].read_text()
    counts: dict[str, int] = {}
    for rule in re.findall(r"^(?:local)?rule (\w+):$", log, re.M):
        if rule != "all":
            counts[rule] = counts.get(rule, 0) + 1
    return counts


def test_every_job_went_through_sbatch_and_completed(runs):
    local, workdir, text = runs
    expected = _local_jobs(local)
    n_jobs = sum(expected.values())
    assert n_jobs >= 10 and "train" in expected
    assert len(_submitted_rules(text)) == n_jobs
    run_id = re.search(r"^SLURM run ID: (\S+)$", text, re.M).group(1)
    jobs = _squeue_jobs(run_id)
    assert len(jobs) == n_jobs
    assert all(j["state"] == "COMPLETED" for j in jobs), jobs
    per_rule: dict[str, int] = {}
    for j in jobs:
        rule = re.match(r"rule_(.+?)(_wildcards_.*)?$", j["comment"]).group(1)
        per_rule[rule] = per_rule.get(rule, 0) + 1
    assert per_rule == expected
    # The rules' memory requests (config.resources) reached sbatch; no GPU was asked for.
    memory = {"train": "1500M", "dump": "1200M", "moments": "1000M", "accuracy_table": "800M"}
    for j in jobs:
        rule = re.match(r"rule_(.+?)(_wildcards_.*)?$", j["comment"]).group(1)
        if rule in memory:
            assert j["min_memory"] == memory[rule], j
        assert "gpu" not in j["gres"], j
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(logs) == n_jobs


def _h5_arrays(path: Path) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return arrays


def test_slurm_outputs_equal_the_local_run(runs):
    local, workdir, _ = runs
    files = sorted(p.relative_to(local) for p in (local / "results").rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(workdir) for p in (workdir / "results").rglob("*") if p.is_file()
    )
    compared = 0
    for rel in files:
        a, b = local / rel, workdir / rel
        if rel.suffix == ".csv":
            pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b), rtol=1e-12)
        elif rel.suffix == ".h5":
            xa, xb = _h5_arrays(a), _h5_arrays(b)
            assert xa.keys() == xb.keys() and xa, rel
            for name in xa:
                np.testing.assert_array_equal(xa[name], xb[name], err_msg=f"{rel}:{name}")
        elif rel.name == "summary.json":
            sa, sb = json.loads(a.read_text()), json.loads(b.read_text())
            assert sa["checkpoint_sha256"] == sb["checkpoint_sha256"], rel
            assert sa["test_acc"] == sb["test_acc"], rel
        else:
            continue
        compared += 1
    assert compared >= 10
