"""Activations recorded elsewhere: the minimal file format and its writer, the models entry
``{activations: file}`` of an architecture without builder (checked before any job starts),
the import that checks the probe's identity, and a JAX-style .npz of two "networks" compared
through the real workflow (the planted permutation recovered, no step that needs a network)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import workflow_runs
from test_own_networks import FASHION, SCHEMA, config, error

import convergent
from convergent import cli, study
from convergent.data import probe_indices
from convergent.io import InputError
from convergent.io.activations import ActivationFile
from convergent.io.layouts import PairFile
from convergent.io.recorded import RecordedFile

rng = np.random.default_rng(0)
#: a JAX network's arrays: a conv layer channels-last, a transformer block's tokens, a dense
#: layer; their names in the file (as a flax module tree names them)
ARRAYS = {"conv1": "Conv_0", "block1": "Block_0/out", "fc1": "Dense_0"}
JAXNET = {"name": "jaxnet", "layers": ARRAYS}
PROBE = {"split": "test", "size": 60, "seed": 0, "batch_size": 25}


def jax_arrays(n: int) -> dict[str, np.ndarray]:
    """Post-ReLU-like activations of one "network", keyed by the file's array names."""
    return {"Conv_0": np.maximum(rng.normal(size=(n, 6, 6, 8)), 0),
            "Block_0/out": rng.normal(size=(n, 5, 12)),
            "Dense_0": np.maximum(rng.normal(size=(n, 16)), 0)}


def planted_pair(folder: Path, n: int = 60, stimuli=None) -> tuple[list[str], dict]:
    """Two .npz files whose layers are permuted noisy copies (B's unit v is A's unit
    perm[v]); returns their paths and per layer A's unit -> B's unit."""
    stimuli = probe_indices(10000, n, 0) if stimuli is None else stimuli
    a = jax_arrays(n)
    b, partner = {}, {}
    for layer, name in ARRAYS.items():
        perm = rng.permutation(a[name].shape[-1])
        b[name] = a[name][..., perm] + 0.2 * rng.normal(size=a[name].shape)
        partner[layer] = np.argsort(perm)
    paths = []
    for label, arrays in (("seed0", a), ("seed1", b)):
        paths.append(convergent.save_activations(folder / f"{label}.npz", arrays, stimuli,
                                                 channels_last=["Conv_0"]))
    return paths, partner


# ------------------------------------------------------------------ the file format
@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_saved_activations_read_back(tmp_path, suffix):
    arrays = jax_arrays(7)
    ids = [f"n0144/img_{k}.JPEG" for k in range(7)]
    path = convergent.save_activations(tmp_path / f"net{suffix}", arrays, ids,
                                       channels_last=["Conv_0"])
    with RecordedFile(path) as f:
        assert sorted(f.names()) == sorted([*arrays, "stimuli"])
        assert f.shape("Conv_0") == (7, 8, 6, 6)  # channels first now
        np.testing.assert_array_equal(f.array("Conv_0"), arrays["Conv_0"].transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(f.array("Block_0/out"), arrays["Block_0/out"])
        assert list(f.stimuli) == ids
        f.check_layers(ARRAYS)
        with pytest.raises(InputError, match=r"no array 'Dense_1' \(it holds "):
            f.check_layers({"fc2": "Dense_1"})


def test_save_activations_refuses_what_no_study_could_read(tmp_path):
    with pytest.raises(ValueError, match=r"layers\['x'\]: 3 rows for 4 stimuli"):
        convergent.save_activations(tmp_path / "a.npz", {"x": np.zeros((3, 2))}, range(4))
    with pytest.raises(ValueError, match=r"is none of \(N, C\), \(N, C, H, W\) or \(N, T, D\)"):
        convergent.save_activations(tmp_path / "a.npz", {"x": np.zeros((4, 1, 2, 3, 4))}, range(4))
    with pytest.raises(ValueError, match="name the file .npz, .h5 or .hdf5"):
        convergent.save_activations(tmp_path / "a.pt", {"x": np.zeros((4, 2))}, range(4))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ the config
def recorded_config(paths: list[str], **over) -> dict:
    return config(architectures=["alexnet_small", copy.deepcopy(JAXNET)], layers=["conv1"],
                  models=[{"init_seed": 0}, {"init_seed": 1},
                          *({"activations": p} for p in paths)], **over)


def test_activations_entries_pair_within_their_architecture_and_across(tmp_path):
    paths, _ = planted_pair(tmp_path)
    cfg = recorded_config(paths)
    study.validate(cfg, SCHEMA)
    assert cfg["models"][2] == {"activations": paths[0], "architecture": "jaxnet",
                                "name": "seed0", "replicate": 0}
    models = study.models(cfg)
    # the seed entries train alexnet_small only: jaxnet has no network to train
    assert [m.id for m in models] == ["alexnet_small/i0-d0", "alexnet_small/i1-d1",
                                      "jaxnet/act-seed0", "jaxnet/act-seed1"]
    assert [m.network for m in models] == [True, True, False, False]
    assert not any(m.trained_here for m in models[2:])
    assert [p.id for p in study.pairs(cfg)] == ["alexnet_small/i0-d0__i1-d1",
                                                "jaxnet/act-seed0__act-seed1"]
    cross = [(a.id, b.id) for a, b in study.cross_pairs(cfg)]
    assert ("alexnet_small/i0-d0", "jaxnet/act-seed0") in cross and len(cross) == 4


@pytest.mark.parametrize("edit, message", [
    (lambda m, a: m[2].update(architecture="alexnet_small"),
     "models[2].architecture: 'alexnet_small'; an activations entry belongs to an architecture "
     "without builder whose layers name the file's arrays (the study's: jaxnet; "
     "docs/own_networks.md)"),
    (lambda m, a: m[2].update(init_seed=3),
     "models[2]: gives activations and init_seed; an activations entry is a file of recorded "
     "activations only (docs/own_networks.md)"),
    (lambda m, a: m[2].update(activations="nowhere.npz"),
     "models[2].activations: nowhere.npz: file of recorded activations not found"),
    (lambda m, a: a[1]["layers"].update(conv1="Conv_9"),
     "models[2].activations: {path}: no array 'Conv_9' (it holds Conv_0, Block_0/out, "
     "Dense_0); name the arrays as the architecture's layers do (docs/own_networks.md)"),
    (lambda m, a: m[0].update(architecture="jaxnet"),
     "models[0].architecture: 'jaxnet' has no builder (recorded elsewhere), so there is no "
     "network to train; remove the key or name another"),
    (lambda m, a: m.__setitem__(3, {"activations": m[2]["activations"]}),
     "models[3].name: 'seed0' is also models[2]'s in architecture 'jaxnet'; give each "
     "activations file its own name"),
])
def test_activations_entry_errors_are_one_line(tmp_path, edit, message):
    paths, _ = planted_pair(tmp_path)
    cfg = recorded_config(paths)
    edit(cfg["models"], cfg["architectures"])
    assert error(cfg) == message.format(path=paths[0])


# ------------------------------------------------------------------ the import
def import_spec(layers=("conv1", "block1", "fc1")) -> dict:
    return {"arch": "jaxnet", "model": "jaxnet/act-seed0", "dataset": FASHION,
            "probe": {**PROBE, "dtype": "float32", "compression": "gzip"},
            "layers": list(layers), "architectures": {"jaxnet": JAXNET}}


def run_import(path, out) -> None:
    cli.main(["import-activations", "--spec", json.dumps(import_spec()), "--activations",
              str(path), "--out", str(out)])


def test_import_checks_the_probe_and_writes_the_dump(tmp_path, capsys):
    (path, _), _ = planted_pair(tmp_path)
    out = tmp_path / "act-seed0.h5"
    run_import(path, out)
    assert "no network it has no accuracy" in capsys.readouterr().out
    with ActivationFile(out, "jaxnet/act-seed0") as f, RecordedFile(path) as r:
        assert {n: (ds.attrs["kind"], ds.shape) for n, ds in f.file["layers"].items()} == {
            "conv1": ("conv", (60, 8, 6, 6)), "block1": ("tokens", (60, 5, 12)),
            "fc1": ("fc", (60, 16))}
        np.testing.assert_allclose(f.layer("block1")[()], r.array("Block_0/out"), rtol=1e-6)
        np.testing.assert_array_equal(f.probe_index, probe_indices(10000, 60, 0))
        assert f.attrs["source"] == str(path) and f.attrs["init_seed"] == -1
        assert f.file["layers/block1"].attrs["module"] == "Block_0/out"


@pytest.mark.parametrize("stimuli, message", [
    (lambda s: s[::-1], "the probe's images in another order; order the rows as the probe"),
    (lambda s: s + 1, "row 0 is "),
    (lambda s: s[:59], "59 stimuli, the probe set has 60"),
    (lambda s: np.array([str(i) for i in s]), None),  # ids as text: the same images
])
def test_import_refuses_other_stimuli_in_one_line_naming_the_file(tmp_path, capsys, stimuli,
                                                                   message):
    index = probe_indices(10000, 60, 0)
    wanted = stimuli(index)
    (path, _), _ = planted_pair(tmp_path, n=len(wanted), stimuli=wanted)
    out = tmp_path / "out.h5"
    if message is None:
        run_import(path, out)
        assert out.exists()
        return
    with pytest.raises(SystemExit):
        run_import(path, out)
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"convergent import-activations: error: {path}: "
                                              "its stimuli are not the study's probe images")
    assert message in err and "fashion_mnist:test:60:seed0" in err
    assert not out.exists()


# ------------------------------------------------------------------ through the workflow
@pytest.mark.workflow
def test_a_jax_npz_of_two_networks_through_the_workflow(tmp_path):
    """Two "networks" recorded in JAX: imported, matched, compared by every similarity
    measure; no training, accuracy, untrained null or receptive field, each said so."""
    paths, partner = planted_pair(tmp_path)
    cfg = {
        "dataset": {"name": "fashion_mnist"},
        "architectures": [copy.deepcopy(JAXNET)],
        "models": [{"activations": p} for p in paths],
        "layers": list(ARRAYS),
        "probe": PROBE,
        "analysis": {"blocks": 4, "chunk_images": 20},
        "similarity": {"subsample": 30, "bootstrap": 10, "kendall": False,
                       "layer_by_layer": False},
        "figures": {"unit_k": 2},
    }
    configfile = workflow_runs.write_config(tmp_path, cfg)
    work = tmp_path / "work"
    targets = ["results/tables/matching_per_pair.csv", "results/tables/similarity_summary.csv",
               "results/tables/accuracy.csv", "results/figures/unit_pairs_conv1.png",
               "results/figures/unit_pairs_block1.png"]
    proc = subprocess.run(
        workflow_runs.snakemake_args(configfile, work, "--cores", "2", *targets),
        cwd=workflow_runs.ROOT, env=workflow_runs.env(), capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = work / "results"
    assert not (results / "models").exists()  # nothing trained, imported or evaluated
    for layer, expected in partner.items():
        one = PairFile(results / f"pairs/jaxnet/act-seed1/{layer}.h5", "act-seed0"
                       ).matchings().one2one
        np.testing.assert_array_equal(one.partner, expected)
    sim = pd.read_csv(results / "tables/similarity_per_pair.csv")
    assert set(sim["comparison"]) == {"within"}  # no untrained network to compare with
    cka = sim[(sim["measure"] == "linear_cka") & (sim["kind"] == "pair")]
    assert (cka["value"] > 0.8).all(), cka
    assert len(pd.read_csv(results / "tables/accuracy.csv")) == 0
    assert "act-seed0: no accuracy" in (results / "logs/accuracy_table.log").read_text()
    log = results / "logs/import_activations/jaxnet/act-seed0.log"
    assert "recorded elsewhere" in log.read_text()
    with h5py.File(results / "activations/jaxnet/act-seed0.h5") as f:
        assert f.attrs["format_version"] == 2  # a token layer
