"""Bad input ends in one line naming the key or file and the fix, never a traceback: a bad config
stops the workflow before any job starts; a bad data folder, a corrupt image read in a loader
worker process, or a failed write stops a CLI step (exit status 2)."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import pytest
import workflow_runs
from conftest import write_fashion_mnist, write_planted
from test_cli import cli, layers
from test_data import make_image_folder
from test_train import TRAINING, spec, train_cmd


def dry_run(workdir, configfile=None) -> subprocess.CompletedProcess:
    """``snakemake -n`` of the workflow in ``workdir`` (its own config/config.yaml if no file)."""
    if configfile:
        cmd = workflow_runs.snakemake_args(configfile, workdir, "-n")
    else:
        cmd = [workflow_runs.SNAKEMAKE, "-s", str(workflow_runs.ROOT / "Snakefile")]
        cmd += ["--directory", str(workdir), "-n"]
    return subprocess.run(cmd, env=workflow_runs.env(), capture_output=True, text=True)


def one_line_error(proc: subprocess.CompletedProcess, status: int) -> str:
    """The only line of stderr, checked to be all the failed command printed."""
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and proc.stdout == "", proc.stdout + proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c["analysis"].update(sparse_layers=["conv9"]),
            "analysis.sparse_layers: conv9 not in layers (conv1, fc7); add it to layers or "
            "remove it from analysis.sparse_layers",
        ),
        (
            lambda c: c["models"][0].update(init_seed=2.0),
            "models[0].init_seed: 2.0 is not an integer; write 2",
        ),
        (
            lambda c: c["analysis"].update(sparse_folds=5),
            "analysis.sparse_folds: 5 is more than analysis.blocks = 4 (a fold needs a block); "
            "set analysis.sparse_folds to at most 4 or raise analysis.blocks",
        ),
        (
            lambda c: c.update(colour="red"),
            "colour: unknown key; valid top-level keys: dataset, architectures, models, "
            "training, conditions, pairing, probe, layers, analysis, similarity, validation, "
            "figures, findings, claims, neural, resources",
        ),
        (
            lambda c: c["dataset"].update(path="fm"),
            "dataset.path: 'fm' (relative to {workdir}) does not exist; point dataset.path at a "
            "folder with the four Fashion-MNIST *-ubyte.gz files, or set it to null (Debian "
            "package or download)",
        ),
    ],
)
def test_bad_config_stops_the_workflow_in_one_line(edit, message, tmp_path):
    cfg = copy.deepcopy(workflow_runs.TINY_STUDY)
    edit(cfg)
    proc = dry_run(tmp_path, workflow_runs.write_config(tmp_path, cfg))
    assert one_line_error(proc, 1) == "config error: " + message.format(workdir=tmp_path)
    assert not (tmp_path / "results").exists()


def test_a_relative_dataset_path_is_relative_to_the_working_directory(tmp_path):
    write_fashion_mnist(tmp_path / "fm")
    cfg = {**workflow_runs.TINY_STUDY, "dataset": {"name": "fashion_mnist", "path": "fm"}}
    proc = dry_run(tmp_path, workflow_runs.write_config(tmp_path, cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_yaml_syntax_error_in_the_workflow_config_names_line_and_column(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("layers: [conv1, fc7\nmodels: []\n")
    assert one_line_error(dry_run(tmp_path), 1) == (
        "config/config.yaml: line 2, column 7: expected ',' or ']', but got ':'"
    )


def image_folder_spec(root, **training) -> dict:
    """A one-epoch training spec on the ImageFolder tree ``root``."""
    dataset = {"name": "imagefolder", "path": str(root), "train_subset": None, "test_subset": None}
    return spec(dataset=dataset, training={**TRAINING, "epochs": 1, "batch_size": 2, **training})


@pytest.mark.trains
def test_image_folder_without_train_is_a_one_line_error(tmp_path):
    (tmp_path / "imgs" / "val" / "cat").mkdir(parents=True)
    proc = subprocess.run(
        train_cmd(image_folder_spec(tmp_path / "imgs"), tmp_path / "m"),
        capture_output=True,
        text=True,
    )
    assert one_line_error(proc, 2) == (
        f"convergent train: error: dataset.path: '{tmp_path}/imgs' lacks train/; point "
        "dataset.path at a folder with train/<class>/ and val/<class>/ image folders"
    )


@pytest.mark.trains
def test_corrupt_image_read_in_a_loader_worker_is_a_one_line_error(tmp_path):
    root = make_image_folder(tmp_path / "imgs", per_class=2, size=36, corrupt=True)
    s = image_folder_spec(root, num_workers=1, augment_flip=False)
    proc = subprocess.run(train_cmd(s, tmp_path / "m"), capture_output=True, text=True)
    assert proc.returncode == 2
    # Lightning's own notices come first; the error is the last line, once, without the
    # worker's traceback that the DataLoader puts into the re-raised error's message
    assert "Traceback" not in proc.stderr and "DataLoader worker" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"convergent train: error: {root}/val/cat/0.png: corrupt or truncated")
    assert last.endswith("; remove or replace it")
    assert proc.stderr.count("convergent train: error:") == 1


def moments(activations, out) -> subprocess.CompletedProcess:
    """The moments step on ``activations``, writing ``out``."""
    opts = {"blocks": 3, "chunk_images": 4, "dead_unit_std": 1e-6}
    step_spec = {"model": "alexnet_small/i0-d0", "layers": ["conv1"], "analysis": opts}
    return cli(
        "moments", "--spec", json.dumps(step_spec), "--activations", activations, "--out", out
    )


def test_a_file_where_the_results_folder_should_be_is_a_one_line_error(tmp_path):
    acts = write_planted(tmp_path / "a.h5", layers())
    (tmp_path / "results").write_text("not a folder")
    line = one_line_error(moments(acts, tmp_path / "results" / "m.h5"), 2)
    assert line == (
        f"convergent moments: error: {tmp_path}/results: File exists; a file stands where a "
        "folder is needed; move it away, then rerun"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_results_folder_is_a_one_line_error(tmp_path):
    acts = write_planted(tmp_path / "a.h5", layers())
    (tmp_path / "results").mkdir(mode=0o555)
    line = one_line_error(moments(acts, tmp_path / "results" / "m.h5"), 2)
    assert line.startswith(f"convergent moments: error: {tmp_path}/results/.m.h5.")
    assert line.endswith(
        f": Permission denied; check that you may read and write {tmp_path}/results, then rerun"
    )


def test_a_full_disk_while_dumping_names_the_file_and_its_file_system(tmp_path, monkeypatch):
    """The write that meets the full disk fails at once (injected here: any user), the
    temporary file goes, and the step's line names the output and its file system."""
    import errno

    import h5py

    from convergent import cli as convergent_cli

    calls = []

    def full(ds, key, value):
        calls.append(key)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "Can't synchronously write data")
        return setitem(ds, key, value)

    setitem = h5py.Dataset.__setitem__
    monkeypatch.setattr(h5py.Dataset, "__setitem__", full)
    out = tmp_path / "results" / "a.h5"
    with pytest.raises(OSError) as caught:
        write_planted(out, layers(200))
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(out)
    assert list(out.parent.iterdir()) == []  # the temporary file is gone
    mount = tmp_path
    while not os.path.ismount(mount):
        mount = mount.parent
    assert convergent_cli._os_error_message(caught.value).startswith(
        f"{out}: No space left on device; the file system mounted at {mount} (")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
def test_a_dump_onto_a_full_file_system_ends_in_one_line_and_leaves_nothing(tmp_path):
    from convergent.training import save_untrained

    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(full)]).returncode:
        pytest.skip("no tmpfs mount here")
    try:
        dataset = {"name": "fashion_mnist", "path": None, "train_subset": None,
                   "test_subset": None}
        save_untrained({"arch": "alexnet_small", "init_seed": 0, "dataset": dataset},
                       tmp_path / "model.ckpt")
        spec = {"arch": "alexnet_small", "model": "alexnet_small/untrained-i0", "replicate": 0,
                "dataset": dataset, "layers": ["conv1", "fc7"],
                "probe": {"split": "test", "size": 200, "seed": 0, "batch_size": 50,
                          "dtype": "float32", "compression": "gzip"}}
        proc = cli("dump", "--spec", json.dumps(spec), "--checkpoint", tmp_path / "model.ckpt",
                   "--out", full / "a.h5")
        assert proc.returncode == 2, proc.stderr[-2000:]  # not 139: no crash in HDF5's close
        assert proc.stderr.strip().splitlines()[-1] == (
            f"convergent dump: error: {full}/a.h5: No space left on device; the file system "
            f"mounted at {full} (0.000977 GiB) is full; free disk space, then rerun")
        assert list(full.iterdir()) == []
    finally:
        subprocess.run(["umount", str(full)])


def test_a_full_disk_while_checkpointing_names_the_results_file_system(tmp_path, monkeypatch):
    """Lightning stages a checkpoint in the system's temporary folder and names that file when
    the disk is full; ours is written straight to its temporary file beside the output."""
    import errno

    from convergent import cli as convergent_cli
    from convergent.training import outputs

    def full(path, mode):
        assert os.path.dirname(path) == str(tmp_path)  # no staging copy anywhere else
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs, "open", full, raising=False)
    with pytest.raises(OSError) as caught:
        outputs.CheckpointFile().save_checkpoint({"epoch": 1}, str(tmp_path / ".last.ckpt.tmp"))
    assert caught.value.filename == str(tmp_path / ".last.ckpt.tmp")
    assert "the file system mounted at" in convergent_cli._os_error_message(caught.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
@pytest.mark.trains
def test_training_onto_a_full_file_system_names_it(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(full)]).returncode:
        pytest.skip("no tmpfs mount here")
    try:  # the model (1 MB) fits, its resume checkpoint with the optimizer state does not
        s = spec(training={**TRAINING, "epochs": 1})
        s["dataset"].update(train_subset=256, test_subset=100)
        proc = subprocess.run(train_cmd(s, full / "m"), capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr[-2000:]
        line = proc.stderr.strip().splitlines()[-1]
        assert line.startswith(f"convergent train: error: {full}/m/resume/.last.ckpt.")
        assert line.endswith(f": No space left on device; the file system mounted at {full} "
                             "(0.00195 GiB) is full; free disk space, then rerun")
    finally:
        subprocess.run(["umount", str(full)])
