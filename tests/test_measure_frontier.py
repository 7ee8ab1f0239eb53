"""The measures the field uses now, on planted data with known answers and against the peers'
published definitions (re-derived here from their formulas): mutual k-NN and CKNNA (Huh et al.
2024, minyoungg/platonic-rep), the generalized shape metric (Williams et al. 2021, netrep and
repsim), ReSi's soft correlation match; the calibration against the shuffled null; the
registry's public listing and the generated table of docs/similarity.md."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, write_planted

import convergent
from convergent.analysis import measures, neighbours, shapes
from convergent.analysis import similarity as sim
from convergent.analysis.scatter import Scatter
from convergent.analysis.subsample import MeasureOptions, SubsampleLayer, subsample_measures
from convergent.io.activations import ActivationFile
from convergent.steps.similarity.dumps import pair_rows
from convergent.steps.similarity.options import SimilarityOptions

RNG = np.random.default_rng(25)


def _rotation(p: int) -> np.ndarray:
    return np.linalg.qr(RNG.normal(size=(p, p)))[0]


# ------------------------------------------------------------------ Huh et al.'s definitions
def platonic_knn(feats: np.ndarray, k: int) -> np.ndarray:
    """platonic-rep's compute_nearest_neighbors on L2-normalised rows: (feats @ feats.T) with
    the diagonal at -1e8, the k largest."""
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    s = f @ f.T
    np.fill_diagonal(s, -1e8)
    return np.argsort(-s, axis=1, kind="stable")[:, :k], f @ f.T


def platonic_hsic_unbiased(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    m = len(k)
    kt, lt = k.copy(), l.copy()
    np.fill_diagonal(kt, 0)
    np.fill_diagonal(lt, 0)
    value = (np.sum(kt * lt.T) + np.sum(kt) * np.sum(lt) / ((m - 1) * (m - 2))
             - 2 * np.sum(kt @ lt) / (m - 2))
    return value / (m * (m - 3))


def platonic_mutual_knn(a: np.ndarray, b: np.ndarray, k: int) -> float:
    (ka, _), (kb, _) = platonic_knn(a, k), platonic_knn(b, k)
    n = len(a)
    ma, mb = np.zeros((n, n)), np.zeros((n, n))
    ma[np.arange(n)[:, None], ka] = 1
    mb[np.arange(n)[:, None], kb] = 1
    return float(((ma * mb).sum(1) / k).mean())


def platonic_cknna(a: np.ndarray, b: np.ndarray, k: int) -> float:
    (ka, kmat), (kb, lmat) = platonic_knn(a, k), platonic_knn(b, k)
    n = len(a)

    def sim_of(kk, ll, idx_k, idx_l):
        mk, ml = np.zeros((n, n)), np.zeros((n, n))
        mk[np.arange(n)[:, None], idx_k] = 1
        ml[np.arange(n)[:, None], idx_l] = 1
        mask = mk * ml
        return platonic_hsic_unbiased(mask * kk, mask * ll)

    return sim_of(kmat, lmat, ka, kb) / np.sqrt(sim_of(kmat, kmat, ka, ka)
                                                * sim_of(lmat, lmat, kb, kb))


def test_neighbour_measures_equal_huh_et_al_definitions():
    a = RNG.normal(size=(80, 12))
    b = a @ RNG.normal(size=(12, 9)) + RNG.normal(size=(80, 9))
    for k in (2, 5, 10):
        assert convergent.mutual_knn(a, b, k) == pytest.approx(platonic_mutual_knn(a, b, k),
                                                               abs=1e-12)
        assert convergent.cknna(a, b, k) == pytest.approx(platonic_cknna(a, b, k), abs=1e-12)


def test_a_rotated_copy_is_perfect_and_independent_data_sit_at_chance():
    x = RNG.normal(size=(150, 10))
    y = 2.5 * x @ _rotation(10)  # rotated and scaled: the same cosines, the same neighbours
    assert convergent.mutual_knn(x, y) == 1.0
    assert convergent.cknna(x, y) == pytest.approx(1.0, abs=1e-12)
    k, n = 10, 150
    chance = k / (n - 1)
    z = RNG.normal(size=(n, 10))
    assert abs(convergent.mutual_knn(x, z, k) - chance) < 0.03
    assert abs(convergent.cknna(x, z, k)) < 0.2


def test_neighbour_measures_need_more_samples_than_neighbours():
    x, y = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 3))
    assert np.isnan(convergent.mutual_knn(x, y, 7)) and np.isnan(convergent.cknna(x, y, 7))
    assert "every other sample is a neighbour" in measures.undefined("cknna", 8, 0, 0, k=7)
    assert measures.undefined("mutual_knn", 8, 0, 0, k=6) == ""


def test_neighbours_come_from_the_models_gram_one_sort_each():
    """The Gram route's per-model cosines and neighbour lists give the arrays' values, and a
    bootstrap resample reuses them (no sort)."""
    x, y = RNG.normal(size=(60, 7)), RNG.normal(size=(60, 5))
    a, b = SubsampleLayer(x, "correlation"), SubsampleLayer(y, "correlation")
    opts = MeasureOptions(svcca_keep=0.99, shape_alpha=0.5, rbf_fraction=0.4, knn_k=6)
    got = subsample_measures(a, b, np.arange(60), opts, kendall=False)
    assert got["mutual_knn"] == pytest.approx(convergent.mutual_knn(x, y, 6), abs=1e-15)
    assert got["cknna"] == pytest.approx(convergent.cknna(x, y, 6), abs=1e-12)
    masks = a.neighbours(6)
    subsample_measures(a, b, RNG.integers(0, 60, 60), opts, kendall=False)
    assert a.neighbours(6) is masks


def test_cknna_of_a_resample_from_its_draw_counts_equals_that_of_the_resampled_matrices():
    """A bootstrap resample's CKNNA weights the images' masked cosines by how often it drew
    each image; building the resample's matrices (repeated images meet their copies with 0)
    gives the same number."""
    x, y = RNG.normal(size=(60, 7)), RNG.normal(size=(60, 5))
    a, b = SubsampleLayer(x, "correlation"), SubsampleLayer(y, "correlation")
    opts = MeasureOptions(svcca_keep=0.99, shape_alpha=0.5, rbf_fraction=0.4, knn_k=6)
    ma, mb = a.neighbours(6), b.neighbours(6)
    for _ in range(5):
        idx = RNG.integers(0, 60, 60)
        ii = np.ix_(idx, idx)
        built = neighbours.cknna_masked(a.cosine[ii], b.cosine[ii], ma[ii], mb[ii])
        got = subsample_measures(a, b, idx, opts, kendall=False)["cknna"]
        assert got == pytest.approx(built, abs=1e-12) and abs(built) > 1e-3
    with pytest.raises(ValueError, match="zero diagonals"):
        neighbours.HsicTerms(a.cosine, b.cosine).value(np.ones(60))


# ------------------------------------------------------------------ generalized shape metric
def netrep_angular(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """netrep's LinearMetric(alpha, score_method="angular").fit_score(x, y) for equal widths:
    centre, whiten(X, alpha) with eigenvalues of XᵀX clipped at 1e-7, rotate, angle."""
    def whiten(z):
        if alpha > 1 - 1e-7:
            return z
        lam, v = np.linalg.eigh(z.T @ z)
        lam = np.maximum(lam, 1e-7)
        return z @ ((v * (alpha + (1 - alpha) * lam ** -0.5)) @ v.T)

    xw, yw = whiten(x - x.mean(0)), whiten(y - y.mean(0))
    u, _, vt = np.linalg.svd(xw.T @ yw)
    a, b = xw @ u, yw @ vt.T
    return float(np.arccos(np.clip(np.sum(a * b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def unit_mean_scatter(x: np.ndarray) -> np.ndarray:
    """x centred and scaled so that its scatter's eigenvalues have mean 1."""
    xc = x - x.mean(0)
    return xc / np.sqrt(np.trace(xc.T @ xc) / x.shape[1])


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
def test_shape_metric_equals_netrep_on_unit_mean_variance_data(alpha):
    x = RNG.normal(size=(300, 6)) @ RNG.normal(size=(6, 6))
    y = x @ RNG.normal(size=(6, 6)) + RNG.normal(size=(300, 6))
    want = netrep_angular(unit_mean_scatter(x), unit_mean_scatter(y), alpha)
    assert convergent.shape_metric(x, y, alpha) == pytest.approx(want, abs=1e-10)
    assert shapes.shape_metric(Scatter.from_data(x, y), alpha) == pytest.approx(want, abs=1e-9)
    if alpha in (0.0, 1.0):  # the data's own scale does not matter at the ends of the family
        assert netrep_angular(x, 7 * y, alpha) == pytest.approx(want, abs=1e-9)


def test_shape_metric_at_alpha_one_is_the_angular_shape_metric_exactly():
    x, y = RNG.normal(size=(120, 5)), RNG.normal(size=(120, 7))
    s = Scatter.from_data(x, y)
    assert shapes.shape_metric(s, 1.0) == shapes.angular_shape(s)
    assert convergent.shape_metric(x, y, 1.0) == convergent.angular_shape(x, y)
    m = sim.data_measures(x, y, shape_alpha=1.0)
    assert m["shape_metric"] == m["angular_shape"]


def test_shape_metric_zero_for_a_rotated_scaled_shifted_copy_and_a_metric():
    x = RNG.normal(size=(200, 8)) @ RNG.normal(size=(8, 8))
    y = 3.0 * x @ _rotation(8) + 5.0
    for alpha in (0.0, 0.5, 1.0):
        assert convergent.shape_metric(x, y, alpha) == pytest.approx(0.0, abs=1e-7)
    # full whitening of equal widths: arccos of the mean canonical correlation
    z = RNG.normal(size=(200, 8))
    assert convergent.shape_metric(x, z, 0.0) == pytest.approx(
        np.arccos(convergent.cca_rho(x, z)), abs=1e-10)
    # the triangle inequality at an intermediate alpha
    w = x + RNG.normal(size=x.shape)
    d = {(i, j): convergent.shape_metric(a, b, 0.5)
         for i, a in enumerate((x, z, w)) for j, b in enumerate((x, z, w))}
    for i, j, k in [(0, 1, 2), (0, 2, 1), (1, 0, 2)]:
        assert d[i, j] <= d[i, k] + d[k, j] + 1e-12


def test_shape_metric_is_undefined_where_whitening_is():
    x, y = RNG.normal(size=(30, 10)), RNG.normal(size=(30, 10))
    s = Scatter.from_data(x, y)
    assert np.isnan(sim.scatter_measures(s, shape_alpha=0.5)["shape_metric"])
    assert "canonical correlations" in sim.undefined_reasons(s)["shape_metric"]


# ------------------------------------------------------------------ soft correlation match
def resi_soft_correlation_match(r: np.ndarray, rp: np.ndarray) -> float:
    """ReSi's soft_correlation_match: centred columns, cosine of columns (a zero column has
    cosine 0), the mean best match of each side, averaged."""
    def unit(z):
        zc = z - z.mean(0)
        norm = np.linalg.norm(zc, axis=0)
        return zc / np.where(norm > 0, norm, 1)

    c = unit(r).T @ unit(rp)
    return (c.max(axis=1).mean() + c.max(axis=0).mean()) / 2


def test_soft_correlation_match_equals_resi_and_leaves_dead_units_out():
    x = RNG.normal(size=(200, 6))
    y = x[:, ::-1] @ np.diag(np.arange(1, 7)) + 0.5 * RNG.normal(size=(200, 6))
    y = np.c_[y, RNG.normal(size=200)]
    assert convergent.soft_correlation_match(x, y) == pytest.approx(
        resi_soft_correlation_match(x, y), abs=1e-12)
    dead = np.c_[x, np.zeros(200)]  # ReSi averages the dead unit in as r = 0
    assert convergent.soft_correlation_match(dead, y) == pytest.approx(
        convergent.soft_correlation_match(x, y), abs=1e-12)
    assert resi_soft_correlation_match(dead, y) < convergent.soft_correlation_match(dead, y)
    assert convergent.soft_correlation_match(x, x) == pytest.approx(1.0)


# ------------------------------------------------------------------ calibration
def test_calibration_maps_the_null_to_zero_and_identity_to_one():
    assert measures.calibrate("linear_cka", 0.8, 0.6) == pytest.approx(0.5)
    assert measures.calibrate("procrustes", 0.3, 1.2) == pytest.approx(0.75)
    assert measures.calibrate("procrustes", 0.0, 1.2) == 1.0
    assert measures.calibrate("rsa_spearman", 0.1, 0.1) == 0.0
    assert np.isnan(measures.calibrate("linear_hsic", 5.0, 1.0))  # unbounded: no calibration
    assert np.isnan(measures.calibrate("linear_cka", 0.8, np.nan))
    lo, hi = measures.calibrate_interval("procrustes", 0.2, 0.4, 1.0)  # bounds swap
    assert (lo, hi) == pytest.approx((0.6, 0.8))


def _pair_files(tmp_path, a, b):
    fa = write_planted(tmp_path / "a.h5", {"fc7": a})
    fb = write_planted(tmp_path / "b.h5", {"fc7": b}, model="alexnet_small/i1-d1")
    return ActivationFile(fa), ActivationFile(fb)


#: a job spec's similarity section
CAL_SIMILARITY = {"conv_convention": "positions", "image_features": "flatten", "subsample": 200,
                  "rbf_fraction": 0.4, "svcca_keep": 0.99, "shape_alpha": 0.5, "knn_k": 10,
                  "rdm_metric": "correlation", "kendall": False, "bootstrap": 10, "ci": 0.95,
                  "seed": 0, "layer_by_layer": False, "nulls": {"shuffled": True}}


def cal_options(**over) -> SimilarityOptions:
    return SimilarityOptions.from_spec({"similarity": {**CAL_SIMILARITY, **over},
                                        "analysis": {"dead_unit_std": 1e-6},
                                        "sums_device": "cpu"})


CAL_OPTS = cal_options()


def test_shuffled_labels_score_at_chance_after_calibration(tmp_path):
    """B = A's responses to other images (the pairing of images shuffled): every bounded
    measure's calibrated score is near 0 whatever its raw scale; B = A rotated: near 1."""
    n = 400
    a = np.maximum(RNG.normal(size=(n, 6)) @ RNG.normal(size=(6, 8)), 0)
    rows = pair_rows(*_pair_files(tmp_path, a, a[RNG.permutation(n)]), ["fc7"], CAL_OPTS,
                     blocks=10, chunk_images=50)
    pair = {r["measure"]: r for r in rows if r["kind"] == "pair"}
    # the mean activations behind mean_activation_rank do not depend on the pairing of images
    bounded = [m for m in pair if measures.MEASURES[m].identical is not None
               and np.isfinite(pair[m]["value"]) and m != "mean_activation_rank"]
    assert {"linear_cka", "mutual_knn", "cknna", "shape_metric", "procrustes",
            "soft_correlation_match", "rsa_spearman"} <= set(bounded)
    for m in bounded:
        assert abs(pair[m]["calibrated"]) < 0.25, (m, pair[m]["value"], pair[m]["calibrated"])
        lo, hi = pair[m]["calibrated_low"], pair[m]["calibrated_high"]
        assert lo <= hi
    assert np.isnan(pair["linear_hsic"]["calibrated"])
    rotated = pair_rows(*_pair_files(tmp_path / "r", a, a @ _rotation(8)), ["fc7"], CAL_OPTS,
                        blocks=10, chunk_images=50)
    cal = {r["measure"]: r["calibrated"] for r in rotated if r["kind"] == "pair"}
    for m in ("linear_cka", "shape_metric", "angular_shape", "cca_rho"):
        assert cal[m] == pytest.approx(1.0, abs=1e-6), m
    # the dumps are float32: a near-tie of two cosines may order neighbours differently
    assert cal["mutual_knn"] > 0.99 and cal["cknna"] > 0.99
    assert all(np.isnan(r["calibrated"]) for r in rows if r["kind"] == "shuffled")


def test_neighbour_measures_undefined_with_too_few_images_say_why(tmp_path):
    a = RNG.normal(size=(40, 5))
    rows = pair_rows(*_pair_files(tmp_path, a, a + 0.1), ["fc7"],
                     cal_options(subsample=8, knn_k=7), blocks=4, chunk_images=10)
    knn = [r for r in rows if r["measure"] in ("mutual_knn", "cknna")]
    assert knn and all(np.isnan(r["value"]) and "neighbour" in r["undefined"] for r in knn)


# ------------------------------------------------------------------ registry and docs
def test_the_public_listing_is_the_registry_with_standard_names():
    listed = convergent.measures()
    assert [m.name for m in listed] == list(measures.MEASURES)
    options = {"svcca_keep": 0.99, "shape_alpha": 0.5, "knn_k": 10}
    named = {m.name: measures.standard_name(m.name, options) for m in listed}
    assert named["mutual_knn"] == "mutual_knn-topk=10"
    assert named["shape_metric"] == "shape_metric-alpha=0.5-distance=angular"
    assert named["linear_cka"] == "cka-kernel=linear-hsic=gretton-score"
    for m in listed:
        assert m.invariances <= set(measures.INVARIANCES) and m.route in measures.ROUTES
        assert (m.identical is None) == (m.scale is None)


def test_docs_table_of_measures_is_generated_from_the_registry():
    """docs/similarity.md's table is the registry's (scripts/measures_table.py rewrites it)."""
    text = (ROOT / "docs" / "similarity.md").read_text()
    start = text.index(measures.TABLE_BEGIN) + len(measures.TABLE_BEGIN)
    end = text.index(measures.TABLE_END)
    assert text[start:end].strip() == measures.markdown_table(), \
        "run: python scripts/measures_table.py"


def test_pwcca_weights_are_canonical_variates_not_googles_unwhitened_directions():
    """docs/similarity.md: google/svcca's compute_pwcca applies the whitened-space directions
    uᵢ to the unwhitened activations before its QR, so its directions are not the canonical
    variates; with Σxx^{-1/2} applied (the canonical variates) the QR route gives ours."""
    x = RNG.normal(size=(500, 6)) @ RNG.normal(size=(6, 6)) + 3.0
    y = x @ RNG.normal(size=(6, 8)) * 0.3 + RNG.normal(size=(500, 8))
    xc, yc = x - x.mean(0), y - y.mean(0)
    ex, vx = np.linalg.eigh(xc.T @ xc)
    ey, vy = np.linalg.eigh(yc.T @ yc)
    ix, iy = (vx / np.sqrt(ex)) @ vx.T, (vy / np.sqrt(ey)) @ vy.T
    u, rho, _ = np.linalg.svd(ix @ (xc.T @ yc) @ iy)

    def qr_weighted(directions):
        q, _ = np.linalg.qr(xc @ directions.T)
        w = np.abs(q.T @ xc).sum(axis=1)
        return float(np.sum(w * rho) / w.sum())

    ours = sim.pwcca(Scatter.from_data(x, y))
    assert qr_weighted(u.T @ ix) == pytest.approx(ours, abs=1e-12)
    assert abs(qr_weighted(u.T) - ours) > 1e-4


def test_table_pages_name_measures_as_the_registry_shows_them():
    import pandas as pd

    from convergent.tables.render import csv_html

    page = csv_html(pd.DataFrame({"measure": ["mutual_knn", "cca_rho", "other"],
                                  "value": [0.5, 0.4, 0.3]}), "t")
    assert ">mutual k-NN<" in page and ">mean CCA ρ<" in page and ">other<" in page
