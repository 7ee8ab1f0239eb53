"""Several GPUs on one workstation: concurrent GPU jobs each take a device of their own, and a
job killed with SIGKILL frees its device (tested with a fake list of visible devices); the slot
files are created safely in a shared temporary directory."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile

import pytest

from convergent.io import InputError
from convergent.steps import gpus
from convergent.steps.gpus import GPU_LOCKS, claim_gpu

JOB = "from convergent.steps.gpus import claim_gpu; import time; print(claim_gpu(), flush=True); " \
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


@pytest.fixture
def two_gpus(tmp_path, monkeypatch):
    """Two visible devices (3 and 5) and the slots' folder in a temporary directory of the
    test's own; the slot a claim takes is let go afterwards."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.delenv(GPU_LOCKS, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path / f"convergent-gpus-{os.getuid()}"
    while gpus._held:
        os.close(gpus._held.pop())


def test_slot_files_are_never_truncated_nor_followed_through_a_planted_link(two_gpus, tmp_path):
    folder = two_gpus
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder.mkdir(mode=0o700)
    (folder / "gpu-3.lock").symlink_to(victim)  # planted where the first slot's file goes
    with pytest.raises(InputError, match=r"gpu-3.lock: not a GPU slot file"):
        claim_gpu()
    assert victim.read_text() == "precious"
    (folder / "gpu-3.lock").unlink()
    (folder / "gpu-3.lock").write_text("left by a job")
    assert claim_gpu() == "3"
    assert (folder / "gpu-3.lock").read_text() == "left by a job"  # opened, not truncated


def test_a_slot_folder_made_by_someone_else_is_refused(two_gpus, tmp_path):
    folder = two_gpus
    elsewhere = tmp_path / "theirs"
    elsewhere.mkdir()
    folder.symlink_to(elsewhere)  # made first, by another user, as a link to their folder
    with pytest.raises(InputError, match=r"convergent-gpus-\d+: not a GPU slot folder"):
        claim_gpu()
    folder.unlink()
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # a real folder, but anyone may add links to it
    with pytest.raises(InputError, match=r"writable by others \(mode 777\)"):
        claim_gpu()
    assert list(folder.iterdir()) == []
    if os.getuid() == 0:  # root (CI) can stage another owner
        folder.chmod(0o700)
        os.chown(folder, 65534, 65534)
        with pytest.raises(InputError, match=r"owned by uid 65534"):
            claim_gpu()


def test_a_new_slot_folder_is_private(two_gpus):
    assert claim_gpu() == "3"
    assert two_gpus.stat().st_mode & 0o777 == 0o700
    assert (two_gpus / "gpu-3.lock").stat().st_mode & 0o777 == 0o600
