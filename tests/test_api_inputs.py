"""The public measures on every input they accept: numpy and torch tensors (CPU here: the CUDA
path is the same code on another device, benchmarks/api_gpu.py runs it where a GPU is), float32
and float64; refused shapes in one line; the cheaper side (n × n Gram) for layers wider than
their samples; Procrustes without padding; debiased CKA without Grams — each against the
textbook computation of the same number."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import ortho_group

import convergent
from convergent.analysis import kernels, shapes
from convergent.analysis import similarity as sim
from convergent.analysis.scatter import Scatter
from convergent.api import products

rng = np.random.default_rng(11)

#: every public measure of two matrices, with the arguments it takes beyond x and y
PAIR_FUNCTIONS = ["linear_cka", "debiased_cka", "rbf_cka", "canonical_correlations", "cca_rho",
                  "cca_r2", "svcca", "pwcca", "procrustes", "angular_shape", "regression_r2",
                  "similarity_measures", "correlation_matrix", "mutual_information_matrix",
                  "rsa"]


def planted(n: int = 120, p: int = 6, q: int = 5, noise: float = 0.5):
    x = np.maximum(rng.normal(size=(n, p)) @ rng.normal(size=(p, p)), 0) + 2.0
    y = x @ rng.normal(size=(p, q)) + noise * rng.normal(size=(n, q))
    return x, y


def call(name: str, x, y):
    return getattr(convergent, name)(x, y)


def as_array(v) -> np.ndarray:
    if isinstance(v, dict):
        return np.array([v[k] for k in sorted(v)])
    return np.asarray(v, dtype=float)


@pytest.mark.parametrize("name", PAIR_FUNCTIONS)
def test_tensors_give_the_numpy_numbers(name):
    """A float64 tensor (with requires_grad, as a model's output would have) and a mixed
    numpy/tensor pair give numpy's number; float32 in float32 blocks is within 1e-5."""
    x, y = planted()
    expected = as_array(call(name, x, y))
    tx = torch.from_numpy(x).requires_grad_(True)
    np.testing.assert_allclose(as_array(call(name, tx, torch.from_numpy(y))), expected,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(as_array(call(name, tx, y)), expected, rtol=1e-10, atol=1e-12)
    if name not in ("mutual_information_matrix", "rsa"):  # ranks and bins: float32 ties differ
        for pair in ((x.astype(np.float32), y.astype(np.float32)),
                     (torch.from_numpy(x).float(), torch.from_numpy(y).float())):
            np.testing.assert_allclose(as_array(call(name, *pair)), expected, rtol=1e-4,
                                       atol=1e-5)


@pytest.mark.parametrize("name", PAIR_FUNCTIONS)
def test_bad_shapes_are_refused_in_one_line(name):
    x, y = planted(n=50)
    batched = np.stack([x, x, x, x])
    cases = [
        ((batched, np.stack([y] * 4)), r"x: expected a \(samples × units\) matrix, got shape "
                                       r"\(4, 50, 6\): a batch of matrices"),
        ((x, y[:49]), "x has 50 rows \\(samples\\) and y has 49"),
        ((x[:, 0], y), r"got shape \(50,\): for a single unit pass x\[:, None\]"),
        ((x, rng.random((50, 2, 3, 3))), r"y: .* conv activations \(N, C, H, W\)\? make them a "
                                         r"matrix with convergent.features"),
        ((torch.from_numpy(batched), torch.from_numpy(y)), r"shape \(4, 50, 6\)"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            call(name, *args)
        assert "\n" not in str(err.value)
    nan = x.copy()
    nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="x: holds NaN or infinite values"):
        call(name, nan, y)


def test_procrustes_and_angular_shape_refuse_batches_instead_of_nan():
    """They returned NaN silently on (B, n, p) input before."""
    x = rng.normal(size=(3, 40, 5))
    for name in ("procrustes", "angular_shape"):
        with pytest.raises(ValueError, match="a batch of matrices"):
            call(name, x, x)


def test_features_keeps_a_tensor_on_its_device_and_dtype():
    acts = torch.rand(5, 4, 3, 3, dtype=torch.float32)
    f = convergent.features(acts, "positions")
    assert isinstance(f, torch.Tensor) and f.dtype == torch.float32 and f.shape == (45, 4)
    np.testing.assert_array_equal(f.numpy(), convergent.features(acts.numpy(), "positions"))
    assert convergent.features(acts, "flatten").shape == (5, 36)
    np.testing.assert_allclose(convergent.features(acts, "mean").numpy(),
                               acts.numpy().mean(axis=(2, 3)), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown convention 'pixels'"):
        convergent.features(acts, "pixels")


# ------------------------------------------------------------------ the cheaper side
def shapes_multiplied(monkeypatch) -> list[tuple[int, int]]:
    """Record the shape of every product the measures form over samples or features."""
    seen: list[tuple[int, int]] = []
    original = products._accumulate

    def spy(a, b):
        seen.append((a.shape[1], b.shape[1]))
        return original(a, b)

    monkeypatch.setattr(products, "_accumulate", spy)
    return seen


def test_wide_layers_take_the_gram_side_with_the_same_numbers(monkeypatch):
    """40 images × 300 flattened features: no 300 × 300 product is ever formed, and every
    measure equals the textbook p × p scatter route."""
    n, p = 40, 300
    base = rng.normal(size=(n, 40))
    x = np.maximum(base @ rng.normal(size=(40, p)), 0)
    y = np.maximum(base @ rng.normal(size=(40, 250)) + rng.normal(size=(n, 250)), 0)
    s = Scatter.from_data(x, y)
    expected = {
        "linear_cka": sim.linear_cka(s), "cca_rho": sim.cca_rho(s), "svcca": sim.svcca_rho(s),
        "regression_r2": sim.regression_r2(s), "pwcca": sim.pwcca(s),
        "procrustes": shapes.procrustes(s),
        "debiased_cka": kernels.cka(x @ x.T, y @ y.T, debiased=True),
    }
    seen = shapes_multiplied(monkeypatch)
    for name, value in expected.items():
        assert call(name, x, y) == pytest.approx(value, rel=1e-9, abs=1e-12,
                                                 nan_ok=True), name
    assert max(a * b for a, b in seen) <= p * n  # n × n Grams, p × r unit maps: never p × p


def test_correlations_need_one_cross_product_and_column_norms(monkeypatch):
    x, y = planted(n=300, p=20, q=30)
    seen = shapes_multiplied(monkeypatch)
    c = convergent.correlation_matrix(x, y)
    assert seen == [(20, 30)]  # no 20 × 20 or 30 × 30 within-layer scatter
    np.testing.assert_allclose(c, np.corrcoef(x.T, y.T)[:20, 20:], atol=1e-12)


def test_float32_sums_row_blocks_in_float64(monkeypatch):
    """Products of float32 blocks summed in float64: the error does not grow with n."""
    monkeypatch.setattr(products, "ROW_BLOCK", 64)
    x = rng.normal(size=(1000, 7)) + 100.0  # a large mean: centred before the product
    x32 = x.astype(np.float32)
    exact = products.cross(products.centred(x32.astype(np.float64)),
                           products.centred(x32.astype(np.float64)))
    blocked = products.cross(products.centred(x32), products.centred(x32))
    np.testing.assert_allclose(blocked, exact, rtol=2e-5, atol=1e-3)
    gram = products.gram(products.centred(x32[:100]))
    np.testing.assert_allclose(gram, products.gram(products.centred(x32[:100].astype(float))),
                               rtol=1e-4, atol=1e-3)


# ------------------------------------------------------------------ numbers of the measures
def padded_procrustes(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook: zero-pad the narrower side, rotate, sum the squared residuals."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    xc, yc = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    width = max(xc.shape[1], yc.shape[1])
    xh, yh = (np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in (xc, yc))
    u, _, vt = np.linalg.svd(yh.T @ xh)
    return float(np.sum((xh - yh @ (u @ vt)) ** 2))


@pytest.mark.parametrize("p,q", [(6, 6), (4, 9), (9, 4)])
def test_procrustes_without_padding_is_the_padded_textbook(p, q):
    x, y = planted(p=p, q=q, noise=2.0)
    assert convergent.procrustes(x, y) == pytest.approx(padded_procrustes(x, y), rel=1e-12)
    assert convergent.procrustes(y, x) == pytest.approx(padded_procrustes(x, y), rel=1e-12)
    # near identity, the residual form: a rotated, padded copy is 0 to ~1e-30, both ways
    rotated = np.hstack([x @ ortho_group.rvs(p, random_state=1), np.zeros((len(x), 3))])
    assert convergent.procrustes(x, rotated) <= 1e-24
    assert convergent.procrustes(rotated, x) <= 1e-24
    assert convergent.angular_shape(x, rotated) <= 1e-12


def test_debiased_cka_from_features_is_kornbliths_gram_form():
    for n, p, q in [(50, 5, 7), (200, 30, 20), (40, 100, 60)]:
        x, y = planted(n=n, p=p, q=q, noise=3.0)
        expected = kernels.cka(x @ x.T, y @ y.T, debiased=True)
        assert convergent.debiased_cka(x, y) == pytest.approx(expected, rel=1e-10, abs=1e-13)
    with pytest.raises(ValueError, match="needs at least 4 samples"):
        convergent.debiased_cka(x[:3], y[:3])
