"""The CLI steps: identical outputs on rerun, and one clear error (exit 2) on bad input that
leaves existing outputs untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from conftest import write_planted

ANALYSIS = {"blocks": 3, "chunk_images": 4, "dead_unit_std": 1e-6}


def spec(**ids) -> str:
    """A step's spec: ``model=`` (moments) or ``models=`` (compare), the ids its inputs hold."""
    return json.dumps({**ids, "layers": ["conv1", "fc6"], "analysis": ANALYSIS})


def moments(f, model):
    return cli(
        "moments", "--spec", spec(model=model), "--activations", f, "--out", f.with_suffix(".m.h5")
    )
rng = np.random.default_rng(2)


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "convergent", *map(str, args)], capture_output=True, text=True
    )


def layers(n=20):
    return {
        "conv1": np.maximum(rng.normal(size=(n, 5, 4, 4)), 0).astype(np.float32),
        "fc6": np.maximum(rng.normal(size=(n, 7)), 0).astype(np.float32),
    }


@pytest.fixture
def pair(tmp_path):
    a = write_planted(tmp_path / "a.h5", layers(), model="alexnet_small/i0-d0")
    b = write_planted(tmp_path / "b.h5", layers(), model="alexnet_small/i1-d1")
    for f, model in ((a, "alexnet_small/i0-d0"), (b, "alexnet_small/i1-d1")):
        assert moments(f, model).returncode == 0
    return a, b


def compare(a, b, out, layer="conv1", models=("alexnet_small/i0-d0", "alexnet_small/i1-d1")):
    return cli(
        "compare",
        "--spec",
        spec(models={"a": [models[0]], "b": models[1]}),  # a block of one pair
        "--a",
        a,
        "--b",
        b,
        "--moments-a",
        a.with_suffix(".m.h5"),
        "--moments-b",
        b.with_suffix(".m.h5"),
        "--layer",
        layer,
        "--out",
        out,
    )


def contents(path) -> dict:
    with h5py.File(path) as f:
        out = {k: v for k, v in f.attrs.items()}
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return out


def test_rerun_gives_identical_analysis_outputs(pair, tmp_path):
    a, b = pair
    assert compare(a, b, tmp_path / "p1.h5").returncode == 0
    assert compare(a, b, tmp_path / "p2.h5").returncode == 0
    one, two = contents(tmp_path / "p1.h5"), contents(tmp_path / "p2.h5")
    assert one.keys() == two.keys()
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])
    assert one["i0-d0/correlation/between"].shape == (5, 5)  # the block's one pair


def test_pair_from_different_probe_sets_is_refused_and_nothing_is_overwritten(pair, tmp_path):
    a, _ = pair
    other = write_planted(
        tmp_path / "c.h5", layers(), model="alexnet_small/i1-d1", probe_hash="another"
    )
    assert moments(other, "alexnet_small/i1-d1").returncode == 0
    out = tmp_path / "p.h5"
    out.write_text("an earlier result")
    proc = compare(a, other, out)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "a.h5 and" in lines[0] and "c.h5 differ in probe_hash" in lines[0]
    assert out.read_text() == "an earlier result"
    assert sorted(p.name for p in tmp_path.glob(".p.h5*")) == []


def test_missing_layer_and_corrupt_file_are_one_line_errors(pair, tmp_path):
    a, b = pair
    proc = compare(a, b, tmp_path / "p.h5", layer="conv5")
    assert proc.returncode == 2 and "no layer 'conv5'" in proc.stderr
    assert "Traceback" not in proc.stderr
    broken = tmp_path / "broken.h5"
    broken.write_bytes(a.read_bytes()[:2048])
    proc = cli(
        "moments", "--spec", spec(model="alexnet_small/i0-d0"), "--activations", broken,
        "--out", tmp_path / "m.h5",
    )
    assert proc.returncode == 2 and "broken.h5: not a readable HDF5" in proc.stderr
    assert not (tmp_path / "m.h5").exists()


def test_swapped_activation_files_are_refused_and_nothing_is_written(pair, tmp_path):
    a, b = pair
    proc = compare(b, a, tmp_path / "p.h5")  # files of the pair swapped (moved by hand)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    # model B's file is opened first
    assert "a.h5: holds model 'alexnet_small/i0-d0', expected 'alexnet_small/i1-d1'" in proc.stderr
    assert not (tmp_path / "p.h5").exists()
    proc = moments(a, "alexnet_small/i1-d1")
    assert proc.returncode == 2 and "a.h5: holds model 'alexnet_small/i0-d0'" in proc.stderr


def test_corrupt_checkpoint_is_a_one_line_error(tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"PK\x03\x04 not a checkpoint")
    spec = {
        "arch": "alexnet_small",
        "model": "alexnet_small/i0-d0",
        "replicate": 0,
        "dataset": {"name": "fashion_mnist"},
        "layers": ["conv1"],
        "probe": {"split": "test", "size": 4, "seed": 0, "dtype": "float32", "batch_size": 4,
                  "compression": "gzip"},
    }
    proc = cli("dump", "--spec", json.dumps(spec), "--checkpoint", ckpt, "--out", tmp_path / "a.h5")
    assert proc.returncode == 2
    assert "model.ckpt: not a readable convergent checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "a.h5").exists()


#: whether matplotlib is loaded once the parser is built, and once a figure's name is parsed
LOADED = """
import json, sys
from convergent import cli
p = cli.parser()
built = "matplotlib" in sys.modules
args = p.parse_args(["figure", "training", "--out", "t.pdf"])
print(json.dumps([built, "matplotlib" in sys.modules, args.name]))
"""


def test_only_a_figure_job_loads_matplotlib_to_parse_its_arguments():
    """Every job builds the parser of every step; the figure step's names come from the
    figures package, which loads matplotlib (~0.2 s of CPU a job): only a figure job may."""
    out = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.splitlines()[-1]) == [False, True, "training"]


def test_an_unknown_figure_is_refused_naming_the_figures():
    proc = subprocess.run([sys.executable, "-m", "convergent.cli", "figure", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'nope'" in proc.stderr
    assert "'unit-pairs'" in proc.stderr and "Traceback" not in proc.stderr


#: a step's process: the thread pools and the wait policy its libraries load with
POOLS = """
import json, os
from convergent import cli
try:
    cli.main(["--version"])
except SystemExit:
    pass
import numpy, torch
from threadpoolctl import threadpool_info
print(json.dumps({"torch": torch.get_num_threads(), "wait": os.environ["OMP_WAIT_POLICY"],
                  "pools": sorted({i["internal_api"]: i["num_threads"]
                                   for i in threadpool_info()}.items())}))
"""


def test_every_step_computes_on_one_thread_and_waits_passively_whatever_the_job_threads():
    """Snakemake gives a job of N threads OMP_NUM_THREADS=N and kin; the numbers of a parallel
    reduction depend on N, so the CLI pins every pool to one thread before numpy and torch
    load (training raises torch's to training.threads, part of its spec)."""
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    env = {**os.environ, **dict.fromkeys(threads, "2")}
    env.pop("OMP_WAIT_POLICY", None)
    out = subprocess.run([sys.executable, "-c", POOLS], env=env, capture_output=True, text=True,
                         check=True).stdout
    pools = json.loads(out.splitlines()[-1])  # after --version's line
    assert pools["torch"] == 1 and pools["wait"] == "PASSIVE"
    assert pools["pools"] and all(n == 1 for _, n in pools["pools"]), pools


#: page faults per training step of a small network under the CLI's malloc settings
FAULTS = """
import resource
import torch
from convergent import cli
assert cli.retain_freed_memory()
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(),
                          torch.nn.Flatten(), torch.nn.Linear(16 * 28 * 28, 10))
opt = torch.optim.SGD(net.parameters(), 0.01)
x = torch.randn(64, 1, 28, 28)
def step():
    opt.zero_grad(); net(x).sum().backward(); opt.step()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def test_a_step_keeps_the_memory_it_frees_instead_of_faulting_it_in_again():
    """glibc hands freed blocks back to the system, so each training step faults its
    activations' pages in again (a sixth of training's time on a virtual machine); the CLI's malloc
    settings keep them (this suite runs on glibc, as CI does).  The bound is the step's own size:
    its conv activations alone fill 784 pages (64 × 16 × 28 × 28 floats).  glibc's defaults are
    no fixed reference: they adapt their thresholds to the allocations seen, and faulted in 80 to
    1,400 pages a step from one run to the next here (the CLI's settings: 0 to 80)."""
    run = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    faults = float(run.stdout.split()[-1])
    assert faults < 784 / 4, faults
