"""compare(): two models over a loader in one pass equal the same measures on the stored
activations (every convention, both precisions, the Gram side for wide layers), dead units
counted per layer, bounded memory (no activation kept on the scatter side), one-line errors;
layer_matrix; the result's table, figure and the peers' formats."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import convergent
from convergent.api import compare as cmp
from convergent.api import layers as ly

LAYERS = ["1", "3", "5"]
MEASURES = ["linear_cka", "cca_rho", "svcca_rho", "pwcca", "procrustes", "angular_shape",
            "regression_r2", "matched_correlation", "semi_matched_correlation"]


def network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, 8, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 5))


def loader_of(n: int, seed: int = 0, batch: int = 32) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 1, 8, 8, generator=g)
    return DataLoader(TensorDataset(images, torch.arange(n) % 5), batch_size=batch)


def read_outs(net: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {}
    hooks = [net.get_submodule(k).register_forward_hook(
        lambda _m, _i, o, k=k: out.__setitem__(k, o.detach().double())) for k in LAYERS]
    with torch.no_grad():
        net.eval()(images)
    for h in hooks:
        h.remove()
    return out


def in_memory(a, b, images, conventions: np.ndarray, measures: list[str]
              ) -> dict[str, np.ndarray]:
    """The same cells from the stored activations, through the array API's layers."""
    acts = read_outs(a, images), read_outs(b, images)
    layers: dict[tuple, ly.Layer] = {}

    def layer(side: int, name: str, conv: str) -> ly.Layer:
        if (side, name, conv) not in layers:
            layers[side, name, conv] = ly.Layer(convergent.features(acts[side][name], conv))
        return layers[side, name, conv]

    out = {m: np.empty(conventions.shape) for m in measures}
    for i, la in enumerate(LAYERS):
        for j, lb in enumerate(LAYERS):
            pair = ly.Pair(layer(0, la, conventions[i, j]), layer(1, lb, conventions[i, j]))
            for m in measures:
                out[m][i, j] = ly.PAIR_MEASURES[m](pair)
    return out


@pytest.mark.parametrize("convention", ["flatten", "mean", "positions"])
def test_compare_equals_the_measures_on_stored_activations(convention):
    """400 images: every flattened layer is narrower than the samples (the scatter side)."""
    a, b, loader = network(0), network(1), loader_of(400)
    r = convergent.compare(a, b, loader, LAYERS, measures=MEASURES, convention=convention)
    expected = in_memory(a, b, loader.dataset.tensors[0], r.conventions, MEASURES)
    for measure in MEASURES:
        # PWCCA's weights on 216 flattened features of 400 images: a near-singular whitening
        # that resolves rounding differences (summed vs centred) to ~1e-5
        tol = 1e-4 if measure == "pwcca" and convention == "flatten" else 1e-10
        np.testing.assert_allclose(r[measure], expected[measure], atol=tol, err_msg=measure)
    if convention == "positions":  # the same grid: positions; else (and fc) mean, per cell
        assert r.conventions[0, 0] == "positions" and r.samples[0, 0] == 400 * 36
        assert r.conventions[0, 1] == "mean" and r.samples[0, 1] == 400
        assert r.conventions[2, 2] == "positions" and r.samples[2, 2] == 400
    else:
        assert set(r.conventions.ravel()) == {convention}
    assert r.images == 400 and r.layers_a == LAYERS and r.model_a == "Sequential A"


def test_layers_wider_than_the_samples_take_the_gram_side():
    """60 images, conv1 flattened to 216 features: its rows are kept (at most n·p) and its
    pairs go through the Gram matrix, with the same numbers; float32 products agree to 1e-5."""
    a, b, loader = network(0), network(1), loader_of(60, batch=16)
    r = convergent.compare(a, b, loader, LAYERS, measures=MEASURES)
    run = cmp._Pass(LAYERS, LAYERS, "flatten", 60, torch.float64)
    assert run._keep_rows((6, 6, 6), "flatten") and not run._keep_rows((5,), "flatten")
    names = ["linear_cka", "procrustes", "cca_rho", "matched_correlation", "pwcca"]
    expected = in_memory(a, b, loader.dataset.tensors[0], r.conventions, names)
    for measure in names:
        np.testing.assert_allclose(r[measure], expected[measure], atol=1e-10, err_msg=measure)
    fast = convergent.compare(a, b, loader, LAYERS, measures=["linear_cka"],
                              precision="float32")
    np.testing.assert_allclose(fast["linear_cka"], r["linear_cka"], atol=1e-5)
    # without a sized dataset the pass cannot know n: the scatter side, the same numbers
    batches = [x for x, _ in loader]
    blind = convergent.compare(a, b, batches, LAYERS, measures=["linear_cka", "procrustes"])
    np.testing.assert_allclose(blind["linear_cka"], r["linear_cka"], atol=1e-10)


def test_the_scatter_side_keeps_no_activation(monkeypatch):
    """Memory is bounded by the widths: after a pass of many batches no rows are held."""
    kept = []
    original = cmp._Pass.result

    def spy(self, *args):
        kept.extend(len(s.rows) for s in self.sides.values())
        return original(self, *args)

    monkeypatch.setattr(cmp._Pass, "result", spy)
    convergent.compare(network(0), network(1), loader_of(640, batch=32), LAYERS,
                       convention="mean")
    assert kept and set(kept) == {0}


def test_dead_units_are_counted_per_layer_and_models_keep_their_mode():
    a, b = network(0), network(1).eval()
    with torch.no_grad():
        a[0].bias[:3] = -100.0  # three of six conv1 channels never fire after the ReLU
    a.train()
    r = convergent.compare(a, b, loader_of(100), LAYERS)
    assert r.dead_a[0] == pytest.approx(0.5) and r.dead_b[0] == 0.0
    assert a.training and not b.training  # each model's mode restored
    frame = r.to_frame()
    row = frame[(frame.layer_a == "1") & (frame.layer_b == "3")].iloc[0]
    assert row.dead_fraction_a == pytest.approx(0.5)


def test_loader_b_gives_model_b_its_own_batches_of_the_same_images(capsys):
    a = network(0)
    loader = loader_of(120)
    scaled = DataLoader(TensorDataset(3.0 * loader.dataset.tensors[0]), batch_size=32)
    r = convergent.compare(a, a, loader, ["1"], measures=["linear_cka"], loader_b=scaled,
                           convention="mean", progress=True)
    assert "120/120" in capsys.readouterr().err  # the progress bar reached every image
    same = convergent.compare(a, a, loader, ["1"], measures=["linear_cka"], convention="mean")
    assert same["linear_cka"][0, 0] == pytest.approx(1.0)
    assert r["linear_cka"][0, 0] < 1.0  # conv1 + ReLU of 3x the images: a different layer
    layers_b = {"first": "1", "last": "5"}
    r = convergent.compare(a, network(1), loader, {"conv": "1"}, layers_b,
                           measures="linear_cka")
    assert r.layers_a == ["conv"] and r.layers_b == ["first", "last"] and r["linear_cka"].shape \
        == (1, 2)


def test_compare_refuses_bad_arguments_in_one_line():
    a, b, loader = network(0), network(1), loader_of(40)
    cases = [
        (dict(layers_a=["nope"]), r"layers_a\['nope'\]: the model has no module 'nope'"),
        (dict(layers_a=LAYERS, measures=["cka"]), r"measures: 'cka'; choose from linear_cka"),
        (dict(layers_a=LAYERS, convention="pixels"), r"convention 'pixels': choose one of"),
        (dict(layers_a=LAYERS, precision="float16"), r"precision 'float16'"),
        (dict(layers_a=[]), r"layers_a: no layers given"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            convergent.compare(a, b, loader, **kwargs)
        assert "\n" not in str(err.value)
    tokens = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(2))
    with pytest.raises(ValueError, match=r"layer '1' outputs shape \(batch, 4, 36\)"):
        convergent.compare(tokens, tokens, loader, ["1"])
    with pytest.raises(ValueError, match="loader: yielded no batches"):
        convergent.compare(a, b, [], LAYERS)


# ------------------------------------------------------------------ layer_matrix
def test_layer_matrix_reuses_each_layer_and_equals_pair_by_pair():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(200, 8))
    def layer(w: int) -> np.ndarray:  # full rank: float32 rounding moves no CCA direction
        return base @ rng.normal(size=(8, w)) + 0.3 * rng.normal(size=(200, w))

    acts_a = {f"a{k}": np.maximum(layer(w), 0) for k, w in enumerate((4, 16, 260))}
    acts_b = [torch.from_numpy(layer(w)).float() for w in (6, 12)]
    for measure in ("linear_cka", "procrustes", "cca_r2"):
        m = convergent.layer_matrix(acts_a, acts_b, measure)
        for i, x in enumerate(acts_a.values()):
            for j, y in enumerate(acts_b):
                fn = {"cca_r2": convergent.cca_r2}.get(measure, getattr(convergent, measure,
                                                                        None))
                assert m[i, j] == pytest.approx(fn(x, y), rel=1e-5, abs=1e-6,
                                                nan_ok=True), (measure, i, j)
    within = convergent.layer_matrix(list(acts_a.values()))
    np.testing.assert_allclose(np.diag(within), 1.0)
    np.testing.assert_allclose(within, within.T, atol=1e-12)
    with pytest.raises(ValueError, match="measures: 'cka'"):
        convergent.layer_matrix(acts_b, measure="cka")


# ------------------------------------------------------------------ the result
def test_result_table_figure_and_torch_cka_format(tmp_path):
    r = convergent.compare(network(0), network(1), loader_of(50), LAYERS,
                           measures=["linear_cka", "cca_rho"])
    frame = r.to_frame()
    workflow = {"analysis", "kind", "model_a", "model_b", "layer_a", "layer_b", "depth_a",
                "depth_b", "measure", "value", "ci_low", "ci_high", "convention", "samples"}
    assert workflow <= set(frame.columns) and len(frame) == 2 * 3 * 3
    assert set(frame.analysis) == {"layer_by_layer"} and frame.depth_b.max() == 1.0
    fig = r.plot(tmp_path / "cka.pdf")
    assert (tmp_path / "cka.pdf").stat().st_size > 0 and (tmp_path / "cka.png").exists()
    assert len(fig.axes) >= 2
    exported = r.to_torch_cka()
    assert set(exported) == {"model1_name", "model2_name", "CKA", "model1_layers",
                             "model2_layers", "dataset1_name", "dataset2_name"}
    assert tuple(exported["CKA"].shape) == (3, 3)
    np.testing.assert_array_equal(exported["CKA"].numpy(), r["linear_cka"])
    assert exported["dataset1_name"].startswith("<torch.utils.data.dataset.TensorDataset")
    with pytest.raises(KeyError, match="this comparison has linear_cka, cca_rho"):
        r["procrustes"]


def test_rsatoolbox_adapter_builds_its_rdms(monkeypatch):
    """rsatoolbox (a test dependency) compares our RDMs to our numbers."""
    from rsatoolbox.rdm import compare

    g = np.random.default_rng(0)
    x = g.normal(size=(20, 8))
    y = x @ g.normal(size=(8, 6)) + 0.5 * g.normal(size=(20, 6))
    rdms = convergent.to_rsatoolbox({"conv1": convergent.rdm(x), "fc": convergent.rdm(y)},
                                    "correlation")
    assert rdms.n_rdm == 2 and rdms.n_cond == 20
    assert list(rdms.rdm_descriptors["name"]) == ["conv1", "fc"]
    assert rdms.dissimilarity_measure == "correlation"
    for ours, theirs in (("spearman", "spearman"), ("kendall_tau_a", "tau-a")):
        assert float(compare(rdms[0], rdms[1], method=theirs)[0, 0]) == pytest.approx(
            convergent.rsa(x, y, method=ours), abs=1e-12)
    with pytest.raises(ValueError, match="14 entries is no n"):
        convergent.to_rsatoolbox([np.zeros(14)])
    monkeypatch.setitem(sys.modules, "rsatoolbox.rdm", None)
    with pytest.raises(ImportError, match="pip install rsatoolbox"):
        convergent.to_rsatoolbox([convergent.rdm(x)])


def test_the_gpu_script_runs_on_the_cpu():
    """benchmarks/api_gpu.py: the device path (tensors, layer_matrix, compare of two resnet18s)
    checked against numpy float64; here on the CPU at small sizes."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "api_gpu.py"
    proc = subprocess.run([sys.executable, str(script), "--device", "cpu", "--quick"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "all device results agree with the CPU" in proc.stdout
    assert "x the 49 GEMMs" in proc.stdout and "img/s" in proc.stdout
