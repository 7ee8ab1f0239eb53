"""Neural predictivity: ridge by leave-one-out against brute force and scikit-learn, the
split-half noise ceiling against a planted reliability, the planted layer of pseudo-neural data
found best at its planted value, the neural data reader's one-line refusals, the findings'
sentence, and the workflow end to end on a tiny study with the demo data."""

from __future__ import annotations

import json
import shutil
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
import workflow_runs

from convergent.analysis import predictivity as pr
from convergent.io import InputError, neural
from convergent.tables.neural import best_layer, neural_rows

rng = np.random.default_rng(0)


# ------------------------------------------------------------------ mappings
def test_ridge_leave_one_out_is_exact_and_predictions_match_scikit_learn():
    from sklearn.linear_model import Ridge

    x = rng.normal(size=(30, 6))
    y = x @ rng.normal(size=(6, 3)) + rng.normal(size=(30, 3))
    penalties = np.array([1e-3, 0.1, 10.0])
    loo, _, scale, _, _ = pr.ridge_loo(x, y, penalties)
    for k, penalty in enumerate(penalties):
        errors = []
        for i in range(len(x)):
            keep = np.arange(len(x)) != i
            fit = Ridge(alpha=penalty * scale).fit(x[keep], y[keep])
            errors.append((fit.predict(x[i : i + 1])[0] - y[i]) ** 2)
        np.testing.assert_allclose(loo[k], np.mean(errors, axis=0), rtol=1e-8)
    pred, chosen = pr.ridge_cv(x[:24], y[:24], x[24:], penalties)
    scale = pr.ridge_loo(x[:24], y[:24], penalties)[2]
    for j in range(3):
        expected = Ridge(alpha=chosen[j] * scale).fit(x[:24], y[:24, j]).predict(x[24:])
        np.testing.assert_allclose(pred[:, j], expected, rtol=1e-8, atol=1e-10)


def test_pca_scores_are_the_principal_components_and_width_is_bounded():
    from sklearn.decomposition import PCA

    x = rng.normal(size=(50, 300)) @ np.diag(np.linspace(3, 0.1, 300))
    scores = pr.pca_scores(x, 5, block=64)
    expected = PCA(5).fit_transform(x)
    np.testing.assert_allclose(np.abs(scores), np.abs(expected), rtol=1e-6, atol=1e-8)
    conv = rng.normal(size=(20, 4, 3, 3))
    assert pr.layer_features(conv, "mean", 256).shape == (20, 4)
    assert pr.layer_features(conv, "pca", 256).shape == (20, 36)  # narrower than width: as is
    assert pr.layer_features(conv, "pca", 8).shape == (20, 8)


def test_split_half_ceiling_recovers_the_planted_reliability():
    x = rng.normal(size=(1500, 10))
    responses = pr.planted_responses(x, 30, 4, 0.7, 1.0, np.random.default_rng(1))
    ceiling = pr.split_half_ceiling(responses, splits=10, seed=0)
    assert abs(np.median(ceiling) - 0.7) < 0.03


# ------------------------------------------------------------------ planted answers
def _chain(n: int, seed: int) -> dict[str, np.ndarray]:
    """Layers of a random ReLU network on random inputs: each a function of the one before."""
    g = np.random.default_rng(seed)
    h = g.normal(size=(n, 20))
    layers = {}
    for name in ("l1", "l2", "l3", "l4"):
        h = np.maximum(h @ g.normal(size=(h.shape[1], 48)) / np.sqrt(h.shape[1]), 0.0)
        layers[name] = h
    return layers


@pytest.mark.parametrize("mapping", ["ridge", "pls"])
def test_the_planted_layer_ranks_best_at_the_planted_value(mapping):
    layers = _chain(800, 2)
    planted = {"V4": "l2", "IT": "l4"}
    fraction, reliability = 0.6, 0.8
    g = np.random.default_rng(3)
    parts = [pr.planted_responses(layers[planted[a]], 20, 4, reliability, fraction, g)
             for a in planted]
    responses = np.concatenate(parts, axis=1)
    areas = np.repeat(list(planted), 20)
    target = responses.mean(axis=2)
    ceiling = pr.split_half_ceiling(responses, 10, 0)
    m = pr.Mapping(kind=mapping, folds=5, components=25)
    scores = {}
    for name, x in layers.items():
        pred, _ = pr.cross_validated(pr.layer_features(x, "pca", 256), target, m)
        norm = pr.normalised(pr.explained_variance(pred, target), ceiling, 0.1)
        scores[name] = {a: pr.area_summary(norm[areas == a]) for a in planted}
    for area, layer in planted.items():
        by_layer = {name: s[area] for name, s in scores.items()}
        assert max(by_layer, key=by_layer.get) == layer, (area, by_layer)
        assert abs(by_layer[layer] - fraction) < 0.08, (area, by_layer)


def test_findings_say_which_layer_wins_in_how_many_seeds():
    rows = []
    values = {"i0": {"fc6": 0.6, "fc7": 0.5}, "i1": {"fc6": 0.62, "fc7": 0.5},
              "i2": {"fc6": 0.4, "fc7": 0.45}}
    for model, v in values.items():
        for layer, p in v.items():
            rows.append({"architecture": "a", "model": model, "role": "seed", "area": "IT",
                         "layer": layer, "predictivity": p})
    table = pd.DataFrame(rows)
    table["best"] = table["predictivity"] == table.groupby("model")["predictivity"] \
        .transform("max")
    best = best_layer(table).iloc[0]
    assert (best["best_layer"], best["agree"], best["seeds"]) == ("fc6", 2, 3)
    np.testing.assert_allclose(best["mean"], np.mean([0.6, 0.62, 0.4]))
    text = neural_rows(table)[0]["text"]
    assert text.startswith("IT is best predicted by fc6 in 2 of 3 seeds, 0.54 ± 0.12 of ceiling")
    assert "i2: fc7" in text


def test_the_findings_have_a_neural_section_when_given_the_table():
    from convergent.tables.findings import SECTIONS, findings

    accuracy = pd.DataFrame({"arch": ["a", "a"], "model": ["a/i0-d0", "a/i1-d1"],
                             "test_acc_pct": [90.0, 91.0]})
    matching = pd.DataFrame({"architecture": ["a"], "model_a": ["i0"], "model_b": ["i1"],
                             "layer": ["fc6"], "semi_mean": [0.5], "one_to_one_mean": [0.4]})
    table = pd.DataFrame({"architecture": "a", "model": ["i0", "i1"], "role": "seed",
                          "area": "IT", "layer": "fc6", "predictivity": [0.5, 0.6],
                          "best": True})
    out = findings(accuracy, matching, ["fc6"], {"a": {"fc6": 0.0}}, "fashion_mnist",
                   neural=table)
    rows = out[out["section"] == "neural"]
    assert "neural" in SECTIONS and len(rows) == 2
    assert rows["text"].iloc[0].startswith("IT is best predicted by fc6 in 2 of 2 seeds, 0.55")


# ------------------------------------------------------------------ the reader
GOOD = {"dataset": "fashion_mnist", "split": "test", "source": "test"}


def _write(path, index=None, responses=None, areas=None, attrs=None):
    index = np.arange(6) * 3 if index is None else index
    responses = rng.normal(size=(6, 3, 2)) if responses is None else responses
    neural.write(path, index, responses, ["IT", "IT", "V4"] if areas is None else areas,
                 GOOD if attrs is None else attrs)
    return path


def test_a_good_file_reads_back(tmp_path):
    data = neural.read(_write(tmp_path / "n.h5"), ["V4"])
    assert data.responses.shape == (6, 3, 2) and data.area_names == ["IT", "V4"]
    np.testing.assert_array_equal(data.probe_positions(np.arange(20), "dump.h5"),
                                  np.arange(6) * 3)
    with pytest.raises(InputError, match=r"n\.h5: 4 of 6 stimuli \(dataset indices 6, 9, 12, "
                                         r"15\) are not probe images of dump\.h5; record"):
        data.probe_positions(np.arange(4), "dump.h5")


def _edit(path, edit):
    with h5py.File(path, "a") as f:
        edit(f)


def _replace(name, value):
    def edit(f):
        del f[name]
        f[name] = value
    return edit


REFUSALS = {
    "kind": (lambda f: f.attrs.__setitem__("kind", "activations"), "expected kind='neural'"),
    "provenance": (lambda f: f.attrs.__delitem__("source"), "lacks the attribute.s. source"),
    "split": (lambda f: f.attrs.__setitem__("split", "val"), "split='val'; set it to test"),
    "responses": (lambda f: f.__delitem__("responses"), "has no dataset /responses"),
    "one repetition": (_replace("responses", np.zeros((6, 3, 1))), "1 repetition"),
    "nan": (_replace("responses", np.full((6, 3, 2), np.nan)), "NaN or infinite"),
    "shape": (_replace("responses", np.zeros((6, 3))), r"has shape \(6, 3\)"),
    "stimuli": (_replace("responses", np.zeros((5, 3, 2))), "5 stimuli but"),
    "repeats": (_replace("stimuli/index", np.zeros(6, int)), "repeated or negative"),
    "labels": (_replace("sites/area", np.array([b"IT"])), "1 entries for 3 sites"),
    "complex": (_replace("responses", np.ones((6, 3, 2)) + 1j), r"is complex \(complex128\); "
                "store real responses"),
    "no stimuli": (lambda f: (_replace("responses", np.zeros((0, 3, 2)))(f),
                              _replace("stimuli/index", np.zeros(0, int))(f)),
                   "has no stimuli; record responses"),
    "an area that never varies": (_replace("responses", np.ones((6, 3, 2))),
                                  "no site of area.s. IT, V4 varies"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_the_reader_refuses_a_malformed_file_in_one_line(tmp_path, case):
    edit, message = REFUSALS[case]
    path = _write(tmp_path / "n.h5")
    _edit(path, edit)
    with pytest.raises(InputError, match=message) as err:
        neural.read(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and "; " in text


def test_sites_that_never_vary_are_left_out_with_a_line_saying_so(tmp_path):
    responses = rng.normal(size=(6, 3, 2))
    responses[:, 1] = 4.0  # the second IT site responds the same to every stimulus
    data = neural.read(_write(tmp_path / "n.h5", responses=responses,
                              attrs=GOOD), ["IT", "V4"])
    assert data.names.tolist() == ["site000", "site002"] and data.constant == ("site001",)
    np.testing.assert_array_equal(data.responses, responses[:, [0, 2]])
    assert data.exclusion_note == (f"{tmp_path / 'n.h5'}: 1 site(s) left out (site001): their "
                                   "mean response is the same for every stimulus, nothing to "
                                   "predict")
    assert neural.read(_write(tmp_path / "m.h5")).exclusion_note is None


def test_too_few_stimuli_for_the_folds_are_refused_or_warned_about(tmp_path):
    data = neural.read(_write(tmp_path / "n.h5", index=np.arange(3),
                              responses=rng.normal(size=(3, 3, 2))))
    assert neural.few_stimuli(data, 2).endswith("3 stimuli in 2 folds, fewer than 10 per fold: "
                                                "each site's predictivity and ceiling rest on "
                                                "too few stimuli to be trusted; record more "
                                                "stimuli")
    with pytest.raises(InputError, match=r"^neural.folds: 5 folds, but .*n\.h5 has 3 stimuli; "
                                         r"set neural.folds to at most 3"):
        neural.few_stimuli(data, 5)
    assert neural.few_stimuli(neural.read(_write(tmp_path / "m.h5", index=np.arange(40),
                                                 responses=rng.normal(size=(40, 3, 2)))),
                              4) is None


def test_the_reader_refuses_missing_files_and_areas(tmp_path):
    with pytest.raises(InputError, match=r"nope\.h5: neural data file not found; check neural"):
        neural.read(tmp_path / "nope.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(InputError, match=r"junk\.h5: not a readable HDF5 file"):
        neural.read(tmp_path / "junk.h5")
    with pytest.raises(InputError, match=r"no sites of area\(s\) V1 \(it holds IT, V4\); fix"):
        neural.read(_write(tmp_path / "n.h5"), ["IT", "V1"])


# ------------------------------------------------------------------ the workflow
#: the tiny study with the demo: its models' training and dumps are those of the memoised core
#: run (the neural options are in no spec of theirs), so only the held-out network, its planted
#: data and the predictivity jobs run here
NEURAL_STUDY = {
    **workflow_runs.TINY_STUDY,
    # 32 features: the planted read-outs are estimable from the tiny probe's 90 training stimuli
    "neural": {"enabled": True, "path": "demo", "folds": 4, "width": 32,
               "demo": {"areas": {"V4": "conv1", "IT": "fc7"}, "sites": 12, "repetitions": 4,
                        "reliability": 0.9, "fraction": 0.7}},
}


@pytest.mark.workflow
def test_the_demo_runs_end_to_end_and_the_held_out_network_finds_the_planted_layers(
        tmp_path_factory, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(workflow_runs.run_local(tmp_path_factory), work,
                    symlinks=True)
    workflow_runs.write_config(work, NEURAL_STUDY)
    args = workflow_runs.snakemake_args(work / "config.yaml", work, "--cores", "2", "neural")
    proc = subprocess.run(args, cwd=workflow_runs.ROOT, env=workflow_runs.env(),
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = proc.stdout + proc.stderr
    assert "rule train:" in ran and ran.count("rule train:") == 1  # the held-out network only
    results = work / "results"
    for name in ("neural_predictivity.png", "neural_predictivity.pdf"):
        assert (results / "figures" / name).stat().st_size > 0
    best = pd.read_csv(results / "tables" / "neural_best_layer.csv").set_index("area")
    with h5py.File(results / "neural" / "demo.h5") as f:
        assert json.loads(f.attrs["planted_layers"]) == {"V4": "conv1", "IT": "fc7"}
    for area, layer in {"V4": "conv1", "IT": "fc7"}.items():
        assert best.loc[area, "held_out_best"] == layer
        assert abs(best.loc[area, "held_out_value"] - 0.7) < 0.15
        assert best.loc[area, "seeds"] == 2


def _dry_run_with_neural_data(folder, index, responses) -> subprocess.CompletedProcess:
    _write(folder / "rec.h5", index=index, responses=responses, areas=["IT", "IT", "V4"])
    config = {**workflow_runs.TINY_STUDY,
              "neural": {"enabled": True, "path": str(folder / "rec.h5"), "folds": 4}}
    args = workflow_runs.snakemake_args(workflow_runs.write_config(folder, config), folder, "-n",
                                        "neural")
    return subprocess.run(args, cwd=workflow_runs.ROOT, env=workflow_runs.env(),
                          capture_output=True, text=True)


def test_the_neural_data_is_checked_against_the_probe_set_before_any_job(tmp_path):
    from convergent.data import DataSpec, probe_index

    tiny = workflow_runs.TINY_STUDY
    probe = probe_index(DataSpec.from_config(tiny["dataset"]),
                        {"split": "test", "seed": 0, **tiny["probe"]})
    outside = np.setdiff1d(np.arange(probe.max()), probe)[:40]
    proc = _dry_run_with_neural_data(tmp_path, outside, rng.normal(size=(40, 3, 2)))
    assert proc.returncode == 1 and not (tmp_path / "results").exists()
    assert proc.stderr.strip() == (
        f"config error: neural.path: {tmp_path / 'rec.h5'}: 40 of 40 stimuli (dataset indices "
        f"{', '.join(map(str, outside[:5]))}, ...) are not probe images of the probe set; "
        "record on the probe images (their dataset indices: /probe/index of any activation "
        "file) or change probe in the config")
    responses = rng.normal(size=(40, 3, 2))
    responses[:, 1] = 1.0  # one IT site never varies: left out, with a line saying so
    proc = _dry_run_with_neural_data(tmp_path, probe[:40], responses)
    assert proc.returncode == 0, proc.stderr
    assert (f"warning: neural.path: {tmp_path / 'rec.h5'}: 1 site(s) left out (site001): their "
            "mean response is the same for every stimulus") in proc.stderr
