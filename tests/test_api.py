"""The Python API: docs/api.md's examples run, the exported measures give known answers on
planted arrays and equal the workflow's streamed route, and ``record`` writes an activation file
the package reads, streaming."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from api_examples import DOC, run_examples
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import convergent
from convergent.analysis import shapes
from convergent.analysis import similarity as sim
from convergent.analysis.blocks import pair_moments_of_arrays
from convergent.analysis.scatter import Scatter
from convergent.io.activations import ActivationFile, check_same_probe


@pytest.fixture
def rng():
    """A fresh generator per test: a test's draws do not depend on which tests ran before."""
    return np.random.default_rng(7)


def test_the_documented_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write their activation files to the cwd
    result = run_examples(DOC)
    assert result.failed == 0 and result.attempted > 40, result
    assert (tmp_path / "seed0.h5").exists()


def test_every_export_is_documented_and_shown_in_docs():
    text = DOC.read_text()
    for name in convergent.__all__:
        if name == "__version__":
            continue
        value = getattr(convergent, name)
        assert value.__doc__ and len(value.__doc__) > 40, f"{name}: no conventions note"
        assert re.search(rf"convergent\.{name}\b", text), f"docs/api.md has no example of {name}"
    assert sorted(convergent.__all__) == dir(convergent)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        convergent.nope  # noqa: B018


def test_import_is_light():
    """`import convergent` (and so the CLI) loads no numerical package until a name is used."""
    code = "import sys, convergent; print(sorted({'numpy', 'torch', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_doctest_counts_failures(tmp_path):
    """The runner the test and CI use reports a wrong output as a failure (not a pass)."""
    bad = tmp_path / "bad.md"
    bad.write_text(">>> import convergent\n>>> convergent.linear_cka([[0.], [1.]], [[1.], [0.]])\n"
                   "0.5\n")  # it is 1.0
    result = run_examples(bad)
    assert isinstance(result, doctest.TestResults) and result.failed == 1


# ------------------------------------------------------------------ measures on planted arrays
def test_correlation_matrix_is_pearson_with_dead_units_zero(rng):
    x, y = rng.standard_normal((300, 4)), rng.standard_normal((300, 3))
    y[:, 2] = 0.0  # a dead unit
    c = convergent.correlation_matrix(x, y)
    expected = np.corrcoef(x.T, y[:, :2].T)[:4, 4:]
    np.testing.assert_allclose(c[:, :2], expected, atol=1e-12)
    assert np.all(c[:, 2] == 0)
    within = convergent.correlation_matrix(y)
    np.testing.assert_array_equal(np.diag(within), [1.0, 1.0, 0.0])


def test_array_measures_equal_the_streamed_route(rng):
    """The API's in-memory numbers are the workflow's (moments summed per probe block)."""
    x = rng.standard_normal((400, 6))
    y = x @ rng.standard_normal((6, 5)) + rng.standard_normal((400, 5))
    streamed = Scatter.from_moments(*pair_moments_of_arrays(x, y, blocks=7))
    for name, measure in [("linear_cka", sim.linear_cka), ("cca_rho", sim.cca_rho),
                          ("cca_r2", sim.cca_r2), ("pwcca", sim.pwcca),
                          ("regression_r2", sim.regression_r2), ("svcca", sim.svcca_rho)]:
        assert getattr(convergent, name)(x, y) == pytest.approx(measure(streamed), rel=1e-10)
    assert convergent.procrustes(x, y) == pytest.approx(shapes.procrustes(streamed), abs=1e-12)


def test_measures_known_answers(rng):
    x = rng.standard_normal((500, 5))
    scaled = 3.0 * x + 1.0  # isotropic scaling and a shift: every measure at its extreme
    assert convergent.linear_cka(x, scaled) == pytest.approx(1.0)
    assert convergent.procrustes(x, scaled) == pytest.approx(0.0, abs=1e-12)
    assert convergent.angular_shape(x, scaled) == pytest.approx(0.0, abs=1e-7)
    # y = the first 2 units of x: the canonical correlations are (1, 1), R² of y from x is 1,
    # of x from y 2/5 (independent unit-variance columns, on average)
    y = x[:, :2]
    np.testing.assert_allclose(convergent.canonical_correlations(x, y), [1.0, 1.0])
    assert convergent.regression_r2(x, y) == pytest.approx(1.0)
    assert convergent.regression_r2(y, x) == pytest.approx(0.4, abs=0.05)
    # debiased CKA of independent layers is unbiased for 0; the biased one sits ~p/n above it
    # (20 units, 500 images: ~0.04; over 200 seeds, |debiased| <= 0.009 and biased >= 0.03)
    u, w = rng.standard_normal((2, 500, 20))
    assert abs(convergent.debiased_cka(u, w)) < 0.015 < 0.025 < convergent.linear_cka(u, w)
    # RSA of a monotone transform of the distances: rank-based comparators give exactly 1
    rdm = convergent.rdm(x[:30], "euclidean")
    assert len(rdm) == 30 * 29 // 2
    assert convergent.rsa(x[:30], 2 * x[:30], metric="euclidean") == pytest.approx(1.0)


def test_mutual_information_of_a_unit_with_itself_is_its_binned_entropy(rng):
    """Half the values are ReLU zeros (one bin), the rest 9 equal-frequency bins: the plug-in
    MI of a unit with itself is H = ½ ln 2 + ½ ln 18; with an independent unit it is ≈ 0."""
    x = np.maximum(rng.standard_normal((40_000, 2)), 0.0)
    mi = convergent.mutual_information_matrix(x, x, bins=10, correction="none")
    assert mi[0, 0] == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(18), abs=0.01)
    assert mi[0, 1] < 0.005
    corrected = convergent.mutual_information_matrix(x, x, bins=10)
    assert corrected[0, 1] < mi[0, 1] + 1e-12  # Miller–Madow subtracts the bias


def test_sparse_prediction_finds_the_planted_predictors(rng):
    x = rng.standard_normal((2000, 6))
    y = (2 * x[:, 1] - x[:, 4] + 0.1 * rng.standard_normal(2000))[:, None]
    r = convergent.sparse_prediction(x, y, penalties=[0.0, 0.05, 10.0], folds=4, blocks=8)
    w = r.weights[1, :, 0]
    assert set(np.flatnonzero(w)) == {1, 4} and w[1] > 0 > w[4]
    # standardised: residual variance 0.01 / var(y) = 0.01 / 5.01 -> ½·MSE ≈ 0.001
    assert r.loss[0, 0] == pytest.approx(0.5 * 0.01 / 5.01, rel=0.2)
    assert r.loss[2, 0] == pytest.approx(0.5, abs=0.01) and r.nonzero[2, 0] == 0


def test_bootstrap_ci_of_a_mean_has_the_normal_width(rng):
    n = 2000
    x = rng.standard_normal((n, 1))
    est, lo, hi = convergent.bootstrap_ci(lambda a, b: float(a.mean()), x, x, resamples=400)
    assert est == pytest.approx(x.mean()) and lo < est < hi
    assert hi - lo == pytest.approx(2 * 1.96 / np.sqrt(n), rel=0.15)
    again = convergent.bootstrap_ci(lambda a, b: float(a.mean()), x, x, resamples=400)
    assert again == (est, lo, hi)  # seeded


# ------------------------------------------------------------------ record
def network(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(3 * 5 * 5, 4)
    )


def test_record_writes_what_the_modules_output(tmp_path):
    net = network().train()  # dropout on: record must use eval mode, then restore the mode
    images = torch.randn(23, 1, 7, 7)
    loader = DataLoader(TensorDataset(images, torch.arange(23) % 5), batch_size=5)
    out = convergent.record(net, {"conv1": "1", "fc": "4"}, loader, tmp_path / "a.h5", name="net/a")
    assert net.training
    net.eval()
    with torch.no_grad():
        relu, logits = net[1](net[0](images)), net(images)
    with ActivationFile(out, model="net/a") as f:
        assert f.n_images == 23
        np.testing.assert_allclose(f.layer("conv1")[()], relu.numpy(), atol=1e-6)
        np.testing.assert_allclose(f.layer("fc")[()], logits.numpy(), atol=1e-6)
        assert f.layer("conv1").attrs["kind"] == "conv" and f.layer("fc").attrs["module"] == "4"
        np.testing.assert_array_equal(f.file["probe/label"][()], np.arange(23) % 5)
        np.testing.assert_array_equal(f.probe_index, np.arange(23))
        assert f.samples("conv1", 0, 23).shape == (23 * 25, 3)
        other = convergent.record(network(1), ["1"], loader, tmp_path / "b.h5")
        with ActivationFile(other) as g:
            check_same_probe(f, g)  # two recordings of one loader compare
            assert list(g.file["layers"]) == ["1"]


def test_record_streams_a_generator_of_batches(tmp_path):
    """Batches are pulled one at a time: the loader is never read ahead of the model."""
    net = network().eval()
    pulled, forwarded = [], []
    net[0].register_forward_hook(lambda *_: forwarded.append(len(pulled)))

    def loader():
        for k in range(4):
            pulled.append(k)
            assert len(forwarded) == k  # the previous batch ran before this one is made
            yield torch.randn(6, 1, 7, 7)  # images only: no labels

    out = convergent.record(net, {"fc": "4"}, loader(), tmp_path / "g.h5", n_images=24)
    assert forwarded == [1, 2, 3, 4]
    with ActivationFile(out) as f:
        np.testing.assert_array_equal(f.file["probe/label"][()], np.full(24, -1))


def test_record_refuses_bad_layers_and_counts(tmp_path):
    loader = DataLoader(TensorDataset(torch.randn(8, 1, 7, 7)), batch_size=4)
    with pytest.raises(ValueError, match=r"layers\['x'\]: the model has no module 'nope'"):
        convergent.record(network(), {"x": "nope"}, loader, tmp_path / "x.h5")
    # (batch, T, D) is a token layer; five axes are no layer kind
    with pytest.raises(ValueError, match=r"shape \(N, 3, 1, 5, 5\) is none of \(N, C\)"):
        five_d = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Unflatten(1, (3, 1)))
        convergent.record(five_d, ["1"], loader, tmp_path / "x.h5")
    with pytest.raises(RuntimeError, match="yielded 8 images, expected 9"):
        convergent.record(network(), ["1"], loader, tmp_path / "x.h5", n_images=9)
    with pytest.raises(ValueError, match="n_images"):
        convergent.record(network(), ["1"], iter([torch.randn(2, 1, 7, 7)]), tmp_path / "x.h5")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    dropped = DataLoader(TensorDataset(torch.randn(9, 1, 7, 7)), batch_size=4, drop_last=True)
    with ActivationFile(convergent.record(network(), ["1"], dropped, tmp_path / "d.h5")) as f:
        assert f.n_images == 8
