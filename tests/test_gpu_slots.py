"""Several GPUs on one workstation: concurrent GPU jobs each take a device of their own, and a
job killed with SIGKILL frees its device (tested with a fake list of visible devices)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

from convergent.steps import GPU_LOCKS, claim_gpu

JOB = "from convergent.steps import claim_gpu; import time; print(claim_gpu(), flush=True); " \
      "time.sleep(120)"


def start(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", JOB], env=env, stdout=subprocess.PIPE,
                            text=True)


def device_of(job: subprocess.Popen, timeout: float) -> str | None:
    ready, _, _ = select.select([job.stdout], [], [], timeout)
    return job.stdout.readline().strip() if ready else None


def test_concurrent_jobs_get_distinct_devices_and_a_killed_job_frees_its_own(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "3,5,7", GPU_LOCKS: str(tmp_path)}
    jobs = [start(env) for _ in range(3)]
    try:
        devices = [device_of(job, 30) for job in jobs]
        assert sorted(devices) == ["3", "5", "7"]
        waiting = start(env)  # a fourth job: every device is taken, so it waits
        jobs.append(waiting)
        assert device_of(waiting, 2.5) is None
        os.kill(jobs[1].pid, signal.SIGKILL)  # no clean-up code runs
        jobs[1].wait()
        assert device_of(waiting, 30) == devices[1]
    finally:
        for job in jobs:
            job.kill()
            job.wait()


def test_one_or_no_visible_gpu_is_used_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv(GPU_LOCKS, str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    assert claim_gpu() == "2" and os.environ["CUDA_VISIBLE_DEVICES"] == "2"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert claim_gpu() is None
    assert list(tmp_path.iterdir()) == []  # nothing to share: no slots taken
