"""Figures drawn from small planted inputs: each is checked for what its readers rely on (integer
ticks on unit axes, legends off the data, every text inside the canvas, visible reference values,
bars from zero, the overview's panels) and written as PDF + PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from convergent import figures
from convergent.analysis import clustering as cl
from convergent.analysis.blocks import BlockMoments
from convergent.analysis.pairs import compare_units
from convergent.figures import (
    clustering,
    convergence,
    correlation_matrices,
    matched_sorted,
    mean_activations,
    sparse_prediction,
    study_overview,
    training,
)
from convergent.io.layouts import ClusteringFile, Clusterings, Clusters, MomentsFile, PairFile
from convergent.tables.matching import matching_rows, matching_summary

ARCH = "alexnet_small"
A, B, C = (f"{ARCH}/i{k}-d{k}" for k in range(3))
PARTNER = A.split("/")[1]  # the member of a block file that holds a pair (A, B)
LAYERS = ["conv1", "fc6", "fc7"]
rng = np.random.default_rng(0)


# ------------------------------------------------------------------ planted inputs
def activations(n: int, p: int) -> np.ndarray:
    return rng.gamma(1.0, 1.0, size=(n, p)) * rng.uniform(0.2, 2.0, size=p)


def planted_pair(tmp: Path, layer: str, x_a: np.ndarray, x_b: np.ndarray, a: str = A,
                 b: str = B, blocks: int = 4) -> Path:
    """Moments of both nets and the pair file, as the compare step writes them."""
    n = len(x_a)
    cross = BlockMoments.zeros(blocks, x_a.shape[1], x_b.shape[1])
    within = [BlockMoments.zeros(blocks, x.shape[1], x.shape[1]) for x in (x_a, x_b)]
    for k, rows in enumerate(np.array_split(np.arange(n), blocks)):
        cross.add(k, x_a[rows], x_b[rows])
        for w, x in zip(within, (x_a, x_b), strict=True):
            w.add(k, x[rows])
    for w, model in zip(within, (a, b), strict=True):
        path = tmp / f"{model.replace('/', '_')}_{layer}.moments.h5"
        MomentsFile.save(path, {layer: w}, {"model": model})
    r = compare_units(cross, within[0].variance(), within[1].variance(), 1e-6)
    attrs = {"layer": layer, "model_a": a, "model_b": b, "architecture": ARCH,
             "samples": float(n), "dead_a": r.dead_a, "dead_b": r.dead_b,
             "same_partner_fraction": r.same_partner_fraction}
    out = tmp / f"{a.split('/')[1]}__{b.split('/')[1]}_{layer}.h5"
    with PairFile.block(out) as add:
        add(a.split("/")[1], PairFile.groups(r.between, r.matchings, cross), attrs)
    return out


def metrics_files(tmp: Path) -> list[str]:
    """Each model's metrics.csv where training writes it: models/<arch>/<model>/."""
    return [str(tmp / "models" / m / "metrics.csv") for m in (A, B, C)]


def moments_path(tmp: Path, model: str, layer: str) -> Path:
    return tmp / f"{model.replace('/', '_')}_{layer}.moments.h5"


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict:
    """Three nets; B's units are A's permuted plus noise growing with depth (convergence falls
    with depth), C's are unrelated at fc7."""
    tmp = tmp_path_factory.mktemp("planted")
    perm = rng.permutation(12)
    pairs, files = {}, []
    for depth, layer in enumerate(LAYERS):
        x_a = activations(400, 12)
        x_b = x_a[:, perm] + rng.normal(scale=0.3 + depth, size=x_a.shape)
        x_c = x_a + rng.normal(scale=0.5 + 2 * depth, size=x_a.shape)
        pairs[layer] = planted_pair(tmp, layer, x_a, x_b)
        files += [pairs[layer], planted_pair(tmp, layer, x_a, x_c, b=C)]
    per_pair = matching_rows(files)
    per_pair.to_csv(tmp / "matching_per_pair.csv", index=False)
    summary = matching_summary(per_pair, LAYERS, "fashion_mnist")
    summary.to_csv(tmp / "matching_summary.csv", index=False)
    acc = pd.DataFrame({"model": [A, B, C], "arch": ARCH, "test_acc_pct": [9.8, 11.2, 10.5]})
    acc.to_csv(tmp / "accuracy.csv", index=False)
    for k, path in enumerate(metrics_files(tmp)):
        Path(path).parent.mkdir(parents=True)
        pd.DataFrame({"epoch": [0, 1, 2], "train_loss": [2.3, 2.2, 2.1 - k / 10],
                      "test_acc": [0.08, 0.09, 0.1]}).to_csv(path, index=False)
    return {"tmp": tmp, "perm": perm, "pairs": pairs, "files": files}


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Draw a figure through its module's main; returns the figure, laid out, after it was
    written as PDF and PNG."""
    out = {}

    def keep(fig, pdf):
        figures.save(fig, pdf)
        FigureCanvasAgg(fig)  # save closed it: a canvas again, to measure what it drew
        fig.canvas.draw()
        out["fig"] = fig

    def draw(module, name: str, **arguments):
        monkeypatch.setattr(module, "save", keep)
        pdf = tmp_path / f"{name}.pdf"
        module.FIGURES[name](argparse.Namespace(out=str(pdf), **arguments))
        assert pdf.stat().st_size > 0 and pdf.with_suffix(".png").stat().st_size > 0
        return out["fig"]

    return draw


# ------------------------------------------------------------------ checks
def assert_text_fits(fig) -> None:
    """Everything drawn (texts, tick labels, legends) lies inside the canvas: nothing depends
    on bbox='tight' growing the page to be seen, no title runs off it."""
    drawn, page = fig.get_tightbbox(fig.canvas.get_renderer()), fig.bbox_inches  # inches
    tol = 0.02
    assert drawn.x0 >= -tol and drawn.y0 >= -tol, (drawn, page)
    assert drawn.x1 <= page.x1 + tol and drawn.y1 <= page.y1 + tol, (drawn, page)


def assert_integer_ticks(axis) -> None:
    lo, hi = sorted(axis.get_view_interval())
    ticks = [t for t in axis.get_majorticklocs() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def assert_legends_off_data(fig) -> None:
    """Each legend lies outside every panel's data area."""
    legends = fig.findobj(lambda a: a.__class__.__name__ == "Legend")
    assert legends
    for leg in legends:
        box = leg.get_window_extent()
        for ax in fig.axes:
            if ax.get_visible() and ax.axison and ax.has_data():
                assert not box.overlaps(ax.get_window_extent()), (leg, ax.get_title())


def labels_of(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()] + [
        t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


# ------------------------------------------------------------------ figures
def test_convergence_reference_is_visible_and_pairs_are_counted(study, drawn):
    tmp = study["tmp"]
    fig = drawn(convergence, "convergence", per_pair=str(tmp / "matching_per_pair.csv"),
                summary=str(tmp / "matching_summary.csv"), similarity_summary=None)
    ax = fig.axes[0]
    # Li et al. report conv1 only among these layers: a lone point, drawn with a marker
    refs = [ln for ln in ax.lines if "Li et al." in (ln.get_label() or "")]
    assert len(refs) == 2
    for ln in refs:
        assert ln.get_marker() not in (None, "None", "", " ")
        assert np.isfinite(ln.get_ydata()).sum() == 1
    text = " ".join(labels_of(fig))
    assert "2 pairs" in text and "2 pair " not in text
    assert_legends_off_data(fig)
    assert_text_fits(fig)


def test_plural_counts():
    assert figures.plural(1, "pair") == "1 pair" and figures.plural(3, "pair") == "3 pairs"


def test_training_bars_start_at_zero_and_epochs_are_integers(study, drawn):
    tmp = study["tmp"]
    fig = drawn(training, "training", metrics=metrics_files(tmp),
                accuracy=str(tmp / "accuracy.csv"), models=[A, B, C])
    ax_loss, ax_acc, ax_bar = fig.axes[:3]
    assert ax_bar.get_ylim()[0] == 0  # accuracies of ~10 %: bars used to start at 8 %
    assert [round(p.get_height(), 1) for p in ax_bar.patches] == [9.8, 11.2, 10.5]
    for ax in (ax_loss, ax_acc):
        assert_integer_ticks(ax.xaxis)
    assert_legends_off_data(fig)
    assert_text_fits(fig)


def test_correlation_matrices_show_the_planted_permutation(study, drawn):
    tmp, perm = study["tmp"], study["perm"]
    fig = drawn(correlation_matrices, "correlation-matrices", pair=str(study["pairs"]["conv1"]),
                partner=PARTNER,
                moments_a=str(moments_path(tmp, A, "conv1")),
                moments_b=str(moments_path(tmp, B, "conv1")), dead_std=1e-6)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4
    natural, matched = (ax.images[0].get_array() for ax in panels[2:])
    # B's unit j is A's unit perm[j]: the natural order puts the strong correlations off the
    # diagonal, the matched order on it
    assert np.all(np.argmax(natural, axis=1) == np.argsort(perm))
    assert np.all(np.argmax(matched, axis=1) == np.arange(12))
    for ax in panels:
        assert_integer_ticks(ax.xaxis)
        assert_integer_ticks(ax.yaxis)
        assert ax.images[0].get_clim() == (-1, 1)  # diverging map centred at 0
    assert_text_fits(fig)


def test_matched_sorted_and_mean_activations_have_integer_unit_axes(study, drawn):
    tmp = study["tmp"]
    fig = drawn(matched_sorted, "matched-sorted", pairs=[str(p) for p in study["files"]],
                example=[A, B])
    panels = [ax for ax in fig.axes if ax.lines]
    assert [ax.get_title() for ax in panels] == LAYERS
    for ax in panels:
        assert_integer_ticks(ax.xaxis)
    assert_legends_off_data(fig)
    assert_text_fits(fig)

    fig = drawn(mean_activations, "mean-activations", layers=["conv1"],
                moments=[str(moments_path(tmp, m, "conv1")) for m in (A, B)], models=[A, B, C])
    ax = fig.axes[0]
    assert_integer_ticks(ax.xaxis)
    lo, hi = ax.get_ylim()
    assert lo == 0 and sum(lo <= t <= hi for t in ax.get_yticks()) >= 3  # not one log tick
    assert_legends_off_data(fig)
    assert_text_fits(fig)


def planted_clustering(tmp: Path, p: int, dead: int = 0) -> Path:
    """A planted pair's clustering file; the first ``dead`` units of net A are dead."""
    x_a = activations(300, p)
    x_b = x_a[:, rng.permutation(p)] + rng.normal(scale=0.5, size=x_a.shape)
    x_a[:, :dead] = 0.0
    pair = PairFile(planted_pair(tmp, "fc7", x_a, x_b), PARTNER)
    within = [MomentsFile(moments_path(tmp, m, "fc7")).layer("fc7").within_correlation(1e-6)
              for m in (A, B)]
    s = cl.joint_matrix(within[0], pair.between(), within[1])
    a, live = cl.affinity(s), cl.live_units(s)
    k = cl.default_clusters(p)
    spectral = cl.spectral_labels(a, k, live)
    link, leaves, hac = cl.hierarchical(a, k, live)
    attrs = {"layer": "fc7", "model_a": A, "model_b": B, "architecture": ARCH, "clusters": k,
             "affinity": "abs", "units_a": p, "spectral_shared": 1, "hierarchical_shared": 1,
             "dead_units": dead}
    out = tmp / "clusters.h5"
    clusterings = Clusterings(Clusters(spectral, cl.cluster_order(spectral, a)),
                              Clusters(hac, leaves, link))
    with ClusteringFile.block(out) as add:
        add(PARTNER, ClusteringFile.groups(s, clusterings), attrs)
    return out


def test_clustering_ticks_clear_of_the_strip_and_a_thin_dendrogram(tmp_path, drawn):
    p, dead = 100, 3
    fig = drawn(clustering, "clustering", clusters=str(planted_clustering(tmp_path, p, dead)),
                partner=PARTNER)
    matrices = [ax for ax in fig.axes if ax.images and ax.images[0].get_array().shape[0] == 2 * p]
    assert len(matrices) == 3
    for ax in matrices:
        strip = next(c for c in ax.child_axes if c.images)
        # the y tick labels belong to the strip, left of it: none is drawn under it
        assert not any(t.get_visible() and t.get_text() for t in ax.get_yticklabels())
        labels = [t for t in strip.get_yticklabels() if t.get_visible() and t.get_text()]
        assert labels
        for t in labels:
            assert t.get_window_extent().x1 <= strip.get_window_extent().x0 + 1
            assert float(t.get_text().replace("−", "-")).is_integer()
        assert_integer_ticks(ax.xaxis)
    tree = next(c for c in matrices[2].child_axes if c.collections)
    lines = tree.collections[0]
    assert lines.get_linewidths().max() < 0.5  # 200 leaves at 1 pt were a solid block
    # leaves sit on the matrix's columns; the dead units, in no cluster, come last
    xs = np.concatenate([seg[:, 0] for seg in lines.get_segments()])
    assert xs.min() == 0 and xs.max() == 2 * p - 1 - dead
    # the spectral panel outlines clusters on the diagonal instead of full-width lines
    assert not matrices[1].lines and matrices[1].patches
    assert_text_fits(fig)


def test_sparse_prediction_legend_off_the_data_and_sparse_penalty_labels(tmp_path, drawn):
    penalties = [0.0, 1e-5, 1e-4, 1e-3, 10**-2.8, 10**-2.6, 1e-2, 1e-1]
    rows = [{"model_a": A, "model_b": B, "layer": layer, "direction": d, "penalty": lam,
             "loss": 0.2 + lam, "predictors": 10 / (1 + 1e3 * lam)}
            for layer in ("conv1", "conv2") for d in ("a2b", "b2a") for lam in penalties]
    pd.DataFrame(rows).to_csv(tmp_path / "sparse.csv", index=False)
    fig = drawn(sparse_prediction, "sparse-prediction", per_pair=str(tmp_path / "sparse.csv"))
    for ax in fig.axes[:2]:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert labels[0].get_text() == "0" and len(labels) == 6  # 0 and the five decades
        boxes = [t.get_window_extent() for t in labels]
        assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))
    assert_legends_off_data(fig)
    assert_text_fits(fig)


#: the floors planted in :func:`similarity_summary`: (comparison, kind) -> value at depth d
PLANTED_FLOORS = {"untrained": (("untrained", "pair"), lambda base, d: base / 2 - 0.05 * d),
                  "shuffled": (("within", "shuffled"), lambda base, d: 0.05 + 0.01 * d)}


def similarity_summary(path: Path, floors: tuple[str, ...] = ("untrained", "shuffled")) -> Path:
    """A similarity summary of ``LAYERS``: pairs at base − 0.1·depth, and the ``floors`` of
    :data:`PLANTED_FLOORS`."""
    rows = []
    for measure, base in (("linear_cka", 0.9), ("matched_correlation", 0.7),
                          ("shape_metric", 0.3), ("linear_hsic", 17500),
                          ("semi_matched_correlation_all", 0.8),
                          ("matched_correlation_all", 0.6)):
        for depth, layer in enumerate(LAYERS):
            kinds = [(("within", "pair"), base - 0.1 * depth)] + [
                (PLANTED_FLOORS[f][0], PLANTED_FLOORS[f][1](base, depth)) for f in floors]
            for (comparison, kind), v in kinds:
                rows.append({"comparison": comparison, "kind": kind, "arch_a": ARCH,
                             "arch_b": ARCH, "layer": layer, "depth": depth, "measure": measure,
                             "convention": "positions", "pairs": 3, "mean": v, "sd": 0.01,
                             "min": v - 0.02, "max": v + 0.02, "ci_low_mean": v - 0.05,
                             "ci_high_mean": v + 0.05})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def floor_lines(ax, color: str) -> dict[str, list[np.ndarray]]:
    """The y values of the floor lines drawn in ``color``, by floor (its line style)."""
    out = {}
    for kind, style in figures.FLOORS.items():
        out[kind] = [ln.get_ydata() for ln in ax.lines if ln.get_linestyle() == style["ls"]
                     and to_hex(ln.get_color()) == to_hex(color) and len(ln.get_xdata())]
    return out


def legend_title(fig) -> str:
    return " ".join(leg.get_title().get_text() for leg in fig.legends)


def test_convergence_draws_its_floors_from_the_similarity_summary(study, drawn, tmp_path):
    """Each matching's mean stands beside its two floors, in its colour, at the planted values
    of its measure; a missing floor is named under the figure, with where to turn it on."""
    tmp = study["tmp"]
    tables = {"per_pair": str(tmp / "matching_per_pair.csv"),
              "summary": str(tmp / "matching_summary.csv")}
    fig = drawn(convergence, "convergence", similarity_summary=str(
        similarity_summary(tmp_path / "sim.csv")), **tables)
    ax = fig.axes[0]
    bases = {"semi_matched_correlation_all": 0.8, "matched_correlation_all": 0.6}
    for col, measure in convergence.FLOOR_MEASURES.items():
        lines = floor_lines(ax, figures.MATCHING_COLORS[col])
        for kind, (_, value) in PLANTED_FLOORS.items():
            expected = [value(bases[measure], d) for d in range(len(LAYERS))]
            assert len(lines[kind]) == 1 and np.allclose(lines[kind][0], expected), (col, kind)
    text = " ".join(labels_of(fig))
    assert "vs untrained net" in text and "shuffled null" in text
    assert legend_title(fig) == ""
    assert_legends_off_data(fig)
    assert_text_fits(fig)

    fig = drawn(convergence, "convergence", similarity_summary=str(
        similarity_summary(tmp_path / "sim.csv", floors=("shuffled",))), **tables)
    assert not floor_lines(fig.axes[0], figures.MATCHING_COLORS["semi"])["untrained"]
    assert "vs untrained net" in legend_title(fig) and "similarity.nulls" in legend_title(fig)
    fig = drawn(convergence, "convergence", similarity_summary=None, **tables)
    assert not any(floor_lines(fig.axes[0], figures.MATCHING_COLORS["semi"]).values())
    assert "similarity.enabled" in legend_title(fig)
    assert_text_fits(fig)


def panels_by(fig, name: str):
    """The panel whose (left) title holds ``name``."""
    return next(ax for ax in fig.axes if name in ax.get_title(loc="left"))


@pytest.mark.parametrize("similarity", [False, True], ids=["matching-only", "with-similarity"])
def test_study_overview_panels(study, drawn, similarity):
    tmp, perm = study["tmp"], study["perm"]
    summary = str(similarity_summary(tmp / "sim.csv")) if similarity else None
    fig = drawn(study_overview, "study-overview", accuracy=str(tmp / "accuracy.csv"),
                matching_summary=str(tmp / "matching_summary.csv"),
                pair=str(study["pairs"]["conv1"]), partner=PARTNER, similarity_summary=summary,
                ci=0.95, models=[A, B, C])
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    expected = ["a", "b", "c", "d"] + (["e", "f", "g"] if similarity else [])
    assert [t.split("}$")[0][-1] for t in titles] == expected
    # the letter replaces the centred title: nothing is drawn twice over the panel
    assert not any(ax.get_title() for ax in fig.axes if ax.get_title(loc="left"))
    assert "Final accuracy" in titles[0] and "by depth" in titles[1]
    assert "natural order" in titles[2] and "after one-to-one matching" in titles[3]
    if similarity:
        # one measure per family, in the overview's order, named by the registry (an
        # unbounded measure such as linear HSIC, in the thousands, is not one of them)
        assert ["one-to-one matched r" in titles[4], "linear CKA" in titles[5],
                "shape metric (α) (lower = similar)" in titles[6]] == [True] * 3
        assert not any("_" in t.split("}$")[-1] for t in titles)
        ax = next(a for a in fig.axes if "matched r" in a.get_title(loc="left"))
        band = [c for c in ax.collections if c.get_label().endswith("95% CI")]
        assert len(band) == 1
        # each measure on its registry scale: CKA 0-1, the shape metric's angle 0-π/2
        cka, shape = (panels_by(fig, name) for name in ("linear CKA", "shape metric"))
        assert cka.get_ylim()[0] < 0 < 1 < cka.get_ylim()[1] < 1.1
        assert shape.get_ylim()[1] == pytest.approx(np.pi / 2 * 1.03, rel=0.01)
        # every panel beside both floors of its measure (CKA: base 0.9), in its line's colour
        lines = floor_lines(cka, figures.ONE_ARCHITECTURE)
        for kind, (_, value) in PLANTED_FLOORS.items():
            assert np.allclose(lines[kind], [[value(0.9, d) for d in range(3)]]), kind
        # and panel b beside the matchings' floors
        conv = panels_by(fig, "by depth")
        assert floor_lines(conv, figures.MATCHING_COLORS["semi"])["untrained"]
    panels = {t: ax for ax in fig.axes for t in [ax.get_title(loc="left")] if t}
    ax_acc, ax_before, ax_after = (panels[titles[k]] for k in (0, 2, 3))
    assert ax_acc.get_ylim()[0] == 0
    assert np.all(np.argmax(ax_before.images[0].get_array(), axis=1) == np.argsort(perm))
    assert np.all(np.argmax(ax_after.images[0].get_array(), axis=1) == np.arange(12))
    for ax in (ax_before, ax_after):
        assert_integer_ticks(ax.xaxis)
    assert_legends_off_data(fig)
    assert_text_fits(fig)


def _conv1_unit_pairs(tmp_path, drawn, monkeypatch, tops: np.ndarray, k: int):
    """The unit-pairs figure of a conv1 pair of alexnet_small (random weights and images),
    both nets' top units taken from activations ``tops`` (20 images, 16 units, 28 × 28)."""
    import torch

    from convergent import models
    from convergent.analysis.top_units import TopUnits
    from convergent.figures import unit_pairs
    from convergent.io.layouts import TopUnitsFile
    from convergent.models import checkpoints

    torch.manual_seed(0)
    net = models.build(ARCH, num_classes=10, in_channels=1, image_size=28).eval()
    monkeypatch.setattr(checkpoints, "load_network", lambda path, arch: (net, {}))
    images = rng.uniform(size=(20, 1, 28, 28))
    monkeypatch.setattr(unit_pairs, "probe_pixels", lambda dataset, split, index: images)
    x_a = activations(400, 16)
    pair = planted_pair(tmp_path, "conv1", x_a, x_a + rng.normal(size=x_a.shape))
    files = []
    for model in (A, B):
        top = TopUnits.empty(16, 4)
        top.add(tops, 0)
        files.append(str(tmp_path / f"{model.split('/')[1]}.units.h5"))
        TopUnitsFile.save(files[-1], {"conv1": top}, np.arange(20), {"model": model})
    return drawn(unit_pairs, "unit-pairs", pair=str(pair), partner=PARTNER, units=files,
                 checkpoints=["a", "b"],
                 spec={"arch": ARCH, "dataset": {}, "probe": {"split": "test"}, "k": k})


def test_unit_pairs_separate_the_nets_and_keep_the_title_on_the_page(tmp_path, drawn,
                                                                     monkeypatch):
    from convergent.figures import unit_pairs

    k = 3
    fig = _conv1_unit_pairs(tmp_path, drawn, monkeypatch, rng.uniform(size=(20, 16, 28, 28)), k)
    rows = [ax for ax in fig.axes if ax.images]
    assert len(rows) == 2 * k  # best and worst
    for ax in rows:
        # one bar in the gap between net A's tiles and net B's, in the separator colour
        (bar,) = ax.lines
        assert bar.get_color() == unit_pairs.SEPARATOR
        width = ax.images[0].get_array().shape[1]
        assert 0.3 * width < bar.get_xdata()[0] < 0.7 * width
    heads = [t.get_text() for ax in rows for t in ax.texts]
    assert heads.count("net A") == 2 and heads.count("net B") == 2
    assert_text_fits(fig)


@pytest.mark.parametrize("position", ["corner", "centre"])
def test_unit_pairs_paint_and_name_the_pixels_beyond_the_image(tmp_path, drawn, monkeypatch,
                                                               position):
    """conv1's 5×5 field at the corner position (0, 0) reaches 2 pixels beyond the image's top
    and left: those 16 of its 25 pixels are painted BEYOND_RGB (never white, which reads as
    the brightest content) and the title says what the colour is; a centre position has none,
    and the title no such note."""
    from convergent.figures import unit_pairs

    r = 0 if position == "corner" else 14
    tops = np.zeros((20, 16, 28, 28))
    tops[:, :, r, r] = rng.uniform(1, 2, size=(20, 16))  # every unit's top: (r, r)
    fig = _conv1_unit_pairs(tmp_path, drawn, monkeypatch, tops, k=2)
    for ax in (ax for ax in fig.axes if ax.images):
        tiles = ax.images[0].get_array()
        painted = np.all(tiles == unit_pairs.BEYOND_RGB, axis=-1).sum()
        assert painted == (8 * 16 if position == "corner" else 0)  # 4 patches a net
    title = fig.texts[0].get_text()
    assert ("blue = beyond the image's edge" in title) == (position == "corner"), title
    assert_text_fits(fig)


@pytest.mark.parametrize("case", ["residual", "recorded", "tokens"])
def test_unit_pairs_without_a_receptive_field_show_whole_images(tmp_path, drawn, monkeypatch,
                                                                case):
    """A resnet18 read-out at layer1 (no receptive field: not a chain of modules), a conv layer
    of activations recorded elsewhere (no network) and a token layer: whole images, a conv
    unit's top cell outlined, the title saying why; never a traceback."""
    import torch

    from convergent import models
    from convergent.analysis.top_units import TopUnits
    from convergent.figures import unit_pairs
    from convergent.io.layouts import TopUnitsFile
    from convergent.models import checkpoints

    models.register({"rn18": {"torchvision": "resnet18", "layers": {"block1": "layer1"}}})
    torch.manual_seed(0)
    net = models.build("rn18", num_classes=10, in_channels=1, image_size=28).eval()
    monkeypatch.setattr(checkpoints, "load_network", lambda path, arch: (net, {}))
    images = rng.uniform(0.2, 0.8, size=(20, 1, 28, 28))
    monkeypatch.setattr(unit_pairs, "probe_pixels", lambda dataset, split, index: images)
    units = 8
    x_a = activations(400, units)
    a, b = "rn18/i0-d0", "rn18/i1-d1"
    pair = planted_pair(tmp_path, "block1", x_a, x_a + rng.normal(size=x_a.shape), a, b)
    shape = (20, 5, units) if case == "tokens" else (20, units, 7, 7)  # layer1 on 28 px: 7x7
    files = []
    for model in (a, b):
        top = TopUnits.empty(units, 4)
        top.add(rng.uniform(size=shape), 0)
        files.append(str(tmp_path / f"{model.split('/')[1]}.units.h5"))
        TopUnitsFile.save(files[-1], {"block1": top}, np.arange(20), {"model": model})
    k = 2
    fig = drawn(unit_pairs, "unit-pairs", pair=str(pair), partner="i0-d0", units=files,
                checkpoints=[] if case == "recorded" else ["a", "b"],
                spec={"arch": "rn18", "dataset": {}, "probe": {"split": "test"}, "k": k})
    rows = [ax for ax in fig.axes if ax.images]
    assert len(rows) == 2 * k
    tiles = rows[0].images[0].get_array()
    assert tiles.shape[0] == 28  # whole images, no patches and no filter tiles
    outlined = np.all(np.isclose(tiles, unit_pairs.MARK_RGB), axis=-1).sum()
    assert (outlined > 0) == (case != "tokens")
    title = fig.texts[0].get_text()
    why = {"residual": "no receptive field", "recorded": "no network",
           "tokens": "token units: whole images"}[case]
    assert why in title, title
    assert_text_fits(fig)


def test_sequential_map_survives_greyscale():
    """The sequential map's lightness rises monotonically: its order reads in greyscale."""
    import matplotlib

    rgb = matplotlib.colormaps[figures.SEQUENTIAL](np.linspace(0, 1, 64))[:, :3]
    grey = rgb @ [0.2126, 0.7152, 0.0722]
    assert np.all(np.diff(grey) > 0)
    assert matplotlib.rcParams["image.cmap"] == figures.SEQUENTIAL


def test_one_colour_per_model_across_figures(study, drawn):
    """A model has the colour the study's model list gives it in every figure, whichever
    subset a figure draws: C is drawn without B in the mean activations, still in C's colour."""
    tmp = study["tmp"]
    colors = figures.model_colors([A, B, C])
    assert len(set(colors.values())) == 3
    fig = drawn(training, "training", metrics=metrics_files(tmp),
                accuracy=str(tmp / "accuracy.csv"), models=[A, B, C])
    curves = {ln.get_label(): ln.get_color() for ln in fig.axes[0].lines}
    bars = [to_hex(p.get_facecolor()) for p in fig.axes[2].patches]
    assert curves == colors and bars == [colors[m] for m in (A, B, C)]
    fig = drawn(mean_activations, "mean-activations", layers=["conv1"],
                moments=[str(moments_path(tmp, m, "conv1")) for m in (A, C)], models=[A, B, C])
    assert {ln.get_label(): ln.get_color() for ln in fig.axes[0].lines} == {
        A: colors[A], C: colors[C]}
    fig = drawn(study_overview, "study-overview", accuracy=str(tmp / "accuracy.csv"),
                matching_summary=str(tmp / "matching_summary.csv"),
                pair=str(study["pairs"]["conv1"]), partner=PARTNER, similarity_summary=None,
                ci=0.95, models=[A, B, C])
    bars = [to_hex(p.get_facecolor()) for p in panels_by(fig, "Final accuracy").patches]
    assert bars == [colors[m] for m in (A, B, C)]
    # more models than the palette has colours: still one distinct colour each
    many = figures.model_colors([f"{ARCH}/i{k}-d{k}" for k in range(12)])
    assert len(set(many.values())) == 12


def similarity_per_pair(path: Path, models: list[str], source: str,
                        floors: bool = False) -> Path:
    """A per-pair similarity table of every pair of ``models``, each pair of ``source``; with
    ``floors``, each model against the untrained net at 0.4 − 0.1·depth, each pair with B's
    images shuffled at 0.05, and a replicate pair whose shuffled rows (0.9) are no floor."""
    def row(a: str, b: str, comparison: str, kind: str, src: str, value) -> list[dict]:
        return [{"analysis": "per_layer", "comparison": comparison, "kind": kind,
                 "arch_a": ARCH, "arch_b": ARCH, "model_a": a, "model_b": b, "layer_a": layer,
                 "depth_a": depth, "measure": measure, "convention": "positions",
                 "source": src, "value": value(depth), "ci_low": value(depth) - 0.1,
                 "ci_high": 0.85}
                for depth, layer in enumerate(LAYERS) for measure in ("linear_cka", "rbf_cka")]

    pairs = [(a, b) for k, a in enumerate(models) for b in models[k + 1:]]
    rows = [r for a, b in pairs for r in row(a, b, "within", "pair", source,
                                              lambda d: 0.8 - 0.1 * d)]
    if floors:
        rows += [r for a, b in pairs for r in row(a, b, "within", "shuffled", source,
                                                  lambda d: 0.05)]
        rows += [r for a in models for r in row(a, "untrained", "untrained", "pair", "-",
                                                lambda d: 0.4 - 0.1 * d)]
        rows += [r for kind in ("pair", "shuffled") for r in row(
            models[0], models[0] + "-r1", "within", kind, "replicate", lambda d: 0.9)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("name", "color", "owner"), [
    ("similarity-by-layer", figures.ONE_ARCHITECTURE, ARCH),
    ("similarity-sources", figures.ONE_ARCHITECTURE, ARCH),
    ("similarity-architectures", "C0", f"{ARCH} vs {ARCH}")])
def test_similarity_figures_stand_beside_their_floors(tmp_path, drawn, name, color, owner):
    """Each panel draws both floors at their planted means: the untrained net's, and the
    shuffled null of the seeds' pairs (a replicate pair's shuffled rows are not one)."""
    from convergent.figures import similarity

    table = similarity_per_pair(tmp_path / "per_pair.csv", ["i0-d0", "i1-d1", "i2-d2"],
                                "init+data", floors=True)
    fig = drawn(similarity, name, per_pair=str(table), layer_identification="")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2
    for ax in panels:
        lines = floor_lines(ax, color)
        assert np.allclose(lines["untrained"], [[0.4, 0.3, 0.2]])
        assert np.allclose(lines["shuffled"], [[0.05, 0.05, 0.05]])
    assert {f"{owner}: vs untrained net", f"{owner}: shuffled null"} <= set(labels_of(fig))
    assert_legends_off_data(fig)
    assert_text_fits(fig)


@pytest.mark.parametrize("case", ["seeds", "checkpoints"])
def test_sources_say_in_words_what_the_study_has_no_pairs_of(tmp_path, drawn, case):
    """Pairs that differ in both seeds only: the figure names the sources it lacks and the
    config entries that would give them; checkpoints trained elsewhere (no seeds known): each
    panel says why it is empty instead of showing bare axes."""
    from convergent.figures import similarity

    models, source = ((["i0-d0", "i1-d1", "i2-d2"], "init+data") if case == "seeds"
                      else (["ckpt-x", "ckpt-y"], "-"))
    table = similarity_per_pair(tmp_path / "per_pair.csv", models, source)
    fig = drawn(similarity, "similarity-sources", per_pair=str(table), layer_identification="")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(" [")[0] for ax in panels] == ["linear CKA", "RBF CKA"]
    if case == "seeds":
        (legend,) = fig.legends
        note = legend.get_title().get_text().replace("\n", " ")
        assert "differ in init+data (3 pairs)" in labels_of(fig)
        assert "init: no two models with one data_seed" in note and "replicate: 1" in note
        assert all(ax.lines and not ax.texts for ax in panels)
    else:
        assert all(not ax.lines for ax in panels)
        assert all("no pairs of known seeds" in ax.texts[0].get_text() for ax in panels)
    assert_text_fits(fig)


def test_network_embedding_fits_a_page_and_names_distances_by_the_registry(tmp_path, drawn):
    from convergent.figures import claims

    layers = ["conv1", "conv2", "conv3", "fc6", "fc7"]  # one row would be five thumbnails
    nets = [A, B, C, f"{ARCH}/i3-d3"]
    rows = [{"layer": layer, "distance": name, "network_a": a, "network_b": b,
             "value": 0.1 + rng.uniform()} for layer in layers
            for name in ("angular_shape", "cka_distance")
            for k, a in enumerate(nets) for b in nets[k + 1:]]
    pd.DataFrame(rows).to_csv(tmp_path / "networks.csv", index=False)
    fig = drawn(claims, "network-embedding", distances=[str(tmp_path / "networks.csv")],
                layers=layers)
    panels = [ax for ax in fig.axes if ax.collections]
    assert len(panels) == 2 * len(layers)
    assert len({round(ax.get_position().x0, 3) for ax in panels}) <= figures.COLUMNS
    titles = [ax.get_title() for ax in panels]
    assert "conv1\nangular shape distance (rad)" in titles and "fc7\n1 − linear CKA" in titles
    assert_text_fits(fig)
