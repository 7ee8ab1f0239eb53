"""Training: same seeds give the same weights; a run killed with SIGKILL resumes to the same
weights; the ImageFolder path trains and dumps."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import pytest
import torch
from test_data import make_image_folder

from convergent import io
from convergent.models.checkpoints import load_network

pytestmark = pytest.mark.trains

TRAINING = {
    "epochs": 3,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 0.002,
    "momentum": 0.9,
    "weight_decay": 0.0005,
    "schedule": "onecycle",
    "step_epochs": 30,
    "label_smoothing": 0.0,
    "augment_flip": True,
    "augment_crop": 0,
    "threads": 1,
    "accelerator": "cpu",
    "num_workers": 0,
}


def spec(**over) -> dict:
    s = {
        "arch": "alexnet_small",
        "name": "i0-d0",
        "init_seed": 0,
        "data_seed": 0,
        "replicate": 0,
        "dataset": {
            "name": "fashion_mnist",
            "path": None,
            "train_subset": 1024,
            "test_subset": 500,
        },
        "training": dict(TRAINING),
    }
    s.update(over)
    return s


def train_cmd(s: dict, outdir) -> list[str]:
    return [
        sys.executable,
        "-m",
        "convergent",
        "train",
        "--spec",
        json.dumps(s),
        "--outdir",
        str(outdir),
    ]


def weights(outdir) -> dict[str, torch.Tensor]:
    net, _ = load_network(outdir / "model.ckpt")
    return net.state_dict()


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def job_env(threads: int) -> dict[str, str]:
    """The environment Snakemake gives a job of ``threads`` threads (snakemake/shell.py)."""
    variables = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
    return {**os.environ, **dict.fromkeys(variables, str(threads))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    subprocess.run(train_cmd(spec(), out), check=True, capture_output=True, env=job_env(1))
    return out


def test_rerun_with_same_seeds_gives_identical_weights_whatever_the_job_threads(
    reference, tmp_path
):
    """The rerun's job has 2 threads, the reference's 1: the training math runs on
    training.threads all the same, so the checkpoint is the same file, byte for byte."""
    subprocess.run(train_cmd(spec(), tmp_path), check=True, capture_output=True, env=job_env(2))
    assert (tmp_path / "model.ckpt").read_bytes() == (reference / "model.ckpt").read_bytes()
    assert same(weights(reference), weights(tmp_path))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["checkpoint_sha256"] == io.sha256(tmp_path / "model.ckpt")
    # the kind of processor, on which the bits depend: its architecture and instruction set
    assert summary["device"].startswith("CPU: ") and summary["device"].endswith(
        f"({platform.machine()}, {torch.backends.cpu.get_cpu_capability()})")
    assert [r.split(",")[0] for r in (tmp_path / "metrics.csv").read_text().split()[1:]] == [
        "0",
        "1",
        "2",
    ]
    # the outputs and nothing else: no resume state, no Lightning checkpoint or log files
    outputs = ["metrics.csv", "model.ckpt", "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == outputs


def test_init_and_data_seeds_act_separately(reference, tmp_path):
    init_only = tmp_path / "init"
    subprocess.run(train_cmd(spec(init_seed=1), init_only), check=True, capture_output=True)
    a, b = weights(reference), weights(init_only)
    assert not torch.equal(a["features.conv1.weight"], b["features.conv1.weight"])
    # the untrained weights depend on init_seed alone
    from convergent.training import Classifier

    nets = [Classifier("alexnet_small", 10, 1, 28, 0, d, TRAINING).net for d in (0, 5)]
    assert same(nets[0].state_dict(), nets[1].state_dict())


def kill_in_second_epoch(s: dict, outdir, sig: int = signal.SIGKILL) -> tuple[int, str]:
    """Start training and send it ``sig`` once the first epoch checkpoint exists; its exit
    status and stderr."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(train_cmd(s, outdir), stdout=subprocess.DEVNULL, stderr=err)
        last = outdir / "resume" / "last.ckpt"
        deadline = time.time() + 300
        while not last.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # into the second epoch
        proc.send_signal(sig)
        proc.wait()
        err.seek(0)
        assert last.exists() and not (outdir / "model.ckpt").exists(), "kill came too late"
        return proc.returncode, err.read()


def metrics_rows(outdir) -> list[str]:
    return (outdir / "metrics.csv").read_text().split()[1:]


def test_killed_run_resumes_to_the_same_weights_and_metrics(reference, tmp_path):
    kill_in_second_epoch(spec(), tmp_path)
    subprocess.run(train_cmd(spec(), tmp_path), check=True, capture_output=True)
    assert same(weights(reference), weights(tmp_path))
    assert metrics_rows(tmp_path) == metrics_rows(reference)
    assert [r.split(",")[0] for r in metrics_rows(tmp_path)] == ["0", "1", "2"]


def test_sigterm_fails_the_job_and_it_resumes(reference, tmp_path):
    """Slurm's time limit, scancel and a stopped Snakemake send SIGTERM, which Lightning turns
    into a SystemExit of status 0: the job must fail (128 + SIGTERM), say so in one line, and
    keep its epoch checkpoint for the rerun."""
    status, err = kill_in_second_epoch(spec(), tmp_path, signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by SIGTERM" in err.splitlines()[-1], err[-2000:]
    subprocess.run(train_cmd(spec(), tmp_path), check=True, capture_output=True)
    assert same(weights(reference), weights(tmp_path))


def test_evaluation_stopped_by_sigterm_fails_too(capsys):
    """The evaluation of an imported network runs Lightning's loop as training does."""
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    from convergent.training import failing_on_sigterm

    with pytest.raises(SystemExit) as stopped, failing_on_sigterm("net", "run it again"):
        raise SIGTERMException
    assert stopped.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "net: stopped by SIGTERM; run it again\n"


#: train, but die like SIGKILL (no clean-up, no flush) right after the first epoch checkpoint
DIE_AFTER_FIRST_CHECKPOINT = """
import json, os, sys
from convergent import training
save = training.EpochCheckpoint.on_train_epoch_end
def die(self, trainer, module):
    save(self, trainer, module)
    os._exit(9)
training.EpochCheckpoint.on_train_epoch_end = die
training.fit(json.loads(sys.argv[1]), sys.argv[2])
"""


def test_a_kill_right_after_a_checkpoint_loses_no_metrics(reference, tmp_path):
    """The worst moment to die: the epoch checkpoint is written, nothing else yet."""
    proc = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_FIRST_CHECKPOINT, json.dumps(spec()), str(tmp_path)],
        capture_output=True,
    )
    assert proc.returncode == 9 and (tmp_path / "resume" / "last.ckpt").exists()
    subprocess.run(train_cmd(spec(), tmp_path), check=True, capture_output=True)
    assert metrics_rows(tmp_path) == metrics_rows(reference)
    assert same(weights(reference), weights(tmp_path))


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """A clean run of the reference spec with ``epochs: 2``."""
    out = tmp_path_factory.mktemp("two_epochs")
    s = spec(training={**TRAINING, "epochs": 2})
    subprocess.run(train_cmd(s, out), check=True, capture_output=True)
    return s, out


def test_fewer_epochs_after_a_complete_run_equals_a_clean_run(reference, two_epochs, tmp_path):
    s, clean = two_epochs
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    subprocess.run(train_cmd(s, tmp_path), check=True, capture_output=True)
    assert same(weights(clean), weights(tmp_path))
    assert metrics_rows(tmp_path) == metrics_rows(clean) and len(metrics_rows(clean)) == 2
    summary, expected = (json.loads((d / "summary.json").read_text()) for d in (tmp_path, clean))
    assert summary["test_acc"] == expected["test_acc"] and summary["epochs"] == 2


def test_killed_run_is_not_resumed_by_another_spec(two_epochs, tmp_path):
    s, clean = two_epochs
    kill_in_second_epoch(spec(), tmp_path)  # the 3-epoch spec leaves its epoch checkpoint
    proc = subprocess.run(train_cmd(s, tmp_path), check=True, capture_output=True, text=True)
    assert "written for another training spec" in proc.stderr
    assert same(weights(clean), weights(tmp_path))
    assert metrics_rows(tmp_path) == metrics_rows(clean)


def test_truncated_checkpoint_is_reported(reference, tmp_path):
    bad = tmp_path / "model.ckpt"
    bad.write_bytes((reference / "model.ckpt").read_bytes()[:1000])
    with pytest.raises(io.InputError, match=r"model.ckpt: not a readable convergent checkpoint"):
        load_network(bad)
    with pytest.raises(io.InputError, match="holds architecture 'alexnet_small', expected"):
        load_network(reference / "model.ckpt", arch="alexnet_torchvision")


def test_a_dump_job_runs_without_lightning(reference, tmp_path):
    """Reading a checkpoint of the workflow and dumping needs torch alone: importing Lightning
    took 3.5 s of a 5.4 s dump job.  The versions attribute still names Lightning's release."""
    import pytorch_lightning

    dump = {"arch": "alexnet_small", "model": "alexnet_small/i0-d0", "replicate": 0,
            "dataset": spec()["dataset"], "layers": ["fc7"],
            "probe": {"split": "test", "size": 4, "seed": 0, "dtype": "float32",
                      "batch_size": 4, "compression": "none"}}
    args = ["dump", "--spec", json.dumps(dump), "--checkpoint", str(reference / "model.ckpt"),
            "--out", str(tmp_path / "acts.h5")]
    code = (f"import sys; from convergent.cli import main; main({args!r}); "
            "print('pytorch_lightning' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
    with h5py.File(tmp_path / "acts.h5") as f:
        assert json.loads(f.attrs["versions"])["lightning"] == pytorch_lightning.__version__


def test_image_folder_trains_and_dumps(tmp_path):
    root = make_image_folder(tmp_path / "imgs", per_class=8, size=36)
    dataset = {"name": "imagefolder", "path": str(root), "train_subset": None, "test_subset": None}
    s = spec(dataset=dataset, training={**TRAINING, "epochs": 1, "batch_size": 4})
    subprocess.run(train_cmd(s, tmp_path / "m"), check=True, capture_output=True)
    dump = {
        "arch": "alexnet_small",
        "model": "alexnet_small/i0-d0",
        "replicate": 0,
        "dataset": dataset,
        "layers": ["conv1", "fc7"],
        "probe": {"split": "test", "size": 6, "seed": 0, "dtype": "float16", "batch_size": 4,
                  "compression": "gzip"},
    }
    out = tmp_path / "acts.h5"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "convergent",
            "dump",
            "--spec",
            json.dumps(dump),
            "--checkpoint",
            str(tmp_path / "m" / "model.ckpt"),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    with h5py.File(out) as f:
        assert f["layers/conv1"].shape == (6, 16, 64, 64) and f["layers/conv1"].dtype == "float16"
        assert f["layers/fc7"].shape == (6, 256)
        assert f.attrs["checkpoint_sha256"] == io.sha256(tmp_path / "m" / "model.ckpt")
        assert f.attrs["probe_set"] == "imagefolder:test:6:seed0"


def test_untrained_checkpoint_bytes_are_reproducible(tmp_path):
    """The null model's checkpoint (and so every dump's checkpoint_sha256) is the same file on
    every run: nothing of the temporary file name leaks into it."""
    from convergent.training import save_untrained

    spec = {"arch": "alexnet_small", "init_seed": 7, "dataset": {"name": "fashion_mnist"}}
    for name in ("a.ckpt", "b.ckpt"):
        save_untrained({**spec, "dataset": {**spec["dataset"], "path": None}}, tmp_path / name)
    assert io.sha256(tmp_path / "a.ckpt") == io.sha256(tmp_path / "b.ckpt")
    net, hp = load_network(tmp_path / "a.ckpt", "alexnet_small")
    assert hp["init_seed"] == 7
