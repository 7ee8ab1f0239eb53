"""Figures: one module per figure family; each reads tables and result files and never
recomputes an analysis.  Every figure is written as PDF and PNG (same stem), atomically."""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np

from convergent.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# files, no display; set before any figure module imports pyplot (they import this first)
matplotlib.use("Agg")

# ------------------------------------------------------------------ the family's style
#: line colours: Okabe & Ito's palette (distinct under the common colour-vision deficiencies),
#: without its black (reserved for published reference values) and yellow (too light on white)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
#: more models than PALETTE's colours: evenly spaced hues of this map instead
MANY_MODELS = "turbo"
#: semi-matching and one-to-one matching, in every figure that shows both
MATCHING_COLORS = {"semi": PALETTE[0], "one_to_one": PALETTE[1]}
#: maps: sequential ones are perceptually uniform and monotone in lightness (they survive
#: greyscale and colour blindness); the diverging one is centred at 0 (vmin = -vmax)
SEQUENTIAL = "cividis"
DIVERGING = "RdBu_r"
#: panels per row of a multi-panel figure: readable at a report's and a page's width
COLUMNS = 3
#: published values drawn beside ours
REFERENCE = {"color": "black", "mfc": "white", "mew": 1.2, "ms": 6}
#: the floors a similarity is read against, in the colour of what they qualify, one line style
#: each in every figure (dashed lines with open markers are published values)
FLOORS = {
    "untrained": {"ls": ":", "lw": 1.5, "label": "vs untrained net"},
    "shuffled": {"ls": "-.", "lw": 1.0, "label": "shuffled null"},
}

STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
    "legend.frameon": False,
    "axes.grid": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "image.cmap": SEQUENTIAL,
    "image.interpolation": "nearest",
    "lines.linewidth": 1.5,
    "pdf.fonttype": 42,  # TrueType in the PDF: editable text for journals
}


def add_partner_argument(parser: argparse.ArgumentParser) -> None:
    """``--partner``: which pair of a block file a single-pair figure draws (its member)."""
    parser.add_argument("--partner", required=True,
                        help="the drawn pair's model A: its member of the block files")


def add_models_argument(parser: argparse.ArgumentParser) -> None:
    """``--models``: the study's models, so that each keeps its colour in every figure."""
    parser.add_argument("--models", nargs="+", required=True,
                        help="the study's models as arch/model, in config order (their colours)")


def model_colors(models: Sequence[str]) -> dict[str, str]:
    """One colour per model (``arch/model``), the same in every figure of the study: the
    study's models in config order take PALETTE's colours (evenly spaced hues of MANY_MODELS
    when there are more), whatever subset a figure draws."""
    from matplotlib.colors import to_hex

    models = list(dict.fromkeys(models))
    if len(models) <= len(PALETTE):
        colors = PALETTE
    else:  # ends cut: the map's darkest and lightest hues are hard to tell from black/white
        colors = matplotlib.colormaps[MANY_MODELS](np.linspace(0.05, 0.95, len(models)))
    return {m: to_hex(c) for m, c in zip(models, colors, strict=False)}


#: the lines of a study's only architecture: dark grey, apart from every model's colour
ONE_ARCHITECTURE = "#333333"


def arch_colors(archs: Sequence[str]) -> dict[str, str]:
    """One colour per architecture of a figure's summary lines: a study's only architecture
    in ONE_ARCHITECTURE (PALETTE's colours are its models'), several in PALETTE's order."""
    archs = list(dict.fromkeys(archs))
    if len(archs) == 1:
        return {archs[0]: ONE_ARCHITECTURE}
    return {a: PALETTE[k % len(PALETTE)] for k, a in enumerate(archs)}


def apply_style() -> None:
    """The family's rc settings; applied when this package is imported (every figure module
    imports it first), so each figure is drawn alike."""
    matplotlib.rcParams.update(STYLE)


apply_style()


def plot_floors(ax: Axes, x: np.ndarray, floors: dict[str, Sequence[float]], color: str,
                owner: str | None) -> set[str]:
    """Each floor of :data:`FLOORS` in ``floors`` (its value at each ``x``, NaN where there is
    none), labelled "``owner``: <floor>" (no label if ``owner`` is None); a floor without a
    value is not drawn.  Returns the kinds drawn."""
    drawn = set()
    for kind, values in floors.items():
        values = np.asarray(values, dtype=float)
        if np.isfinite(values).any():
            style = FLOORS[kind]
            ax.plot(x, values, ls=style["ls"], lw=style["lw"], color=color,
                    label=None if owner is None else f"{owner}: {style['label']}")
            drawn.add(kind)
    return drawn


def summary_floors(summary: pd.DataFrame, arch: str, measure: str,
                   convention: str) -> dict[str, pd.Series]:
    """The floors of ``measure`` (under ``convention``) between seeds of ``arch``, from
    tables/similarity_summary.csv, each a mean per layer: ``untrained`` (each trained network
    against the untrained one) and ``shuffled`` (the pairs with B's images shuffled)."""
    d = summary[(summary["arch_a"] == arch) & (summary["measure"] == measure)
                & (summary["convention"] == convention)]
    untrained = d[(d["comparison"] == "untrained") & (d["kind"] == "pair")]
    shuffled = d[(d["comparison"] == "within") & (d["kind"] == "shuffled")]
    return {"untrained": untrained.set_index("layer")["mean"],
            "shuffled": shuffled.set_index("layer")["mean"]}


def pair_floors(d: pd.DataFrame, arch_a: str, arch_b: str, index: Sequence,
                by: str = "layer_a") -> dict[str, pd.Series]:
    """The floors of one measure's rows ``d`` of tables/similarity_per_pair.csv for the pairs
    of ``arch_a`` with ``arch_b``, a mean per ``by`` (layer or relative depth) at ``index``
    (as :func:`summary_floors`): the trained networks against the untrained one (pairs of one
    architecture only), and the pairs (replicates aside) with B's images shuffled."""
    d = d[(d["arch_a"] == arch_a) & (d["arch_b"] == arch_b)]
    floors = {"untrained": d[(d["comparison"] == "untrained") & (d["kind"] == "pair")],
              "shuffled": d[(d["comparison"] != "untrained") & (d["kind"] == "shuffled")
                            & (d["source"] != "replicate")]}
    return {kind: f.groupby(by)["value"].mean().reindex(index) for kind, f in floors.items()}


def integer_ticks(ax: Axes, *axes: str) -> None:
    """Integer-only ticks on the named axes ("x", "y") of ``ax``: unit, epoch and count axes."""
    from matplotlib.ticker import MaxNLocator

    for name in axes or ("x", "y"):
        getattr(ax, f"{name}axis").set_major_locator(MaxNLocator(integer=True))


def _wrapped(fig: Figure, text: str, size: float | str) -> str:
    """``text`` wrapped to the width of ``fig`` at font ``size``; explicit breaks kept."""
    import textwrap

    size = matplotlib.font_manager.FontProperties(size=size).get_size_in_points()
    # an average glyph is about half an em wide
    chars = max(20, int(0.95 * fig.get_figwidth() * 72 / (0.55 * size)))
    return "\n".join(w for line in text.split("\n") for w in textwrap.wrap(line, chars) or [""])


def suptitle(fig: Figure, text: str, **kwargs) -> None:
    """The figure's title, wrapped to its width (a long title on a narrow figure otherwise
    runs off the page); explicit line breaks are kept."""
    size = kwargs.get("fontsize", matplotlib.rcParams["figure.titlesize"])
    fig.suptitle(_wrapped(fig, text, size), **kwargs)


#: the size of a note under the panels (what is missing or undefined, and why)
NOTE_SIZE = 7


def footnote(fig: Figure, text: str) -> None:
    """A note under the panels of a figure without a legend there (:func:`legend_below`
    takes the note of one with it), wrapped to the figure's width; the layout keeps room for
    it (a figure text would be cut off)."""
    fig.supxlabel(_wrapped(fig, text, NOTE_SIZE), fontsize=NOTE_SIZE)


def plural(n: int, word: str) -> str:
    """``1 pair``, ``3 pairs``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def legend_below(fig: Figure, ax: Axes | None = None, ncol: int = 3, note: str = "",
                 **kwargs) -> None:
    """One legend for the figure, below the panels (never over the data): the handles of
    ``ax`` (default: every panel's, each label once), in at most ``ncol`` columns, fewer when
    they would not fit the width of the figure; ``note`` (what is missing or undefined, and
    why) above them, wrapped to the width."""
    if note:
        kwargs.update(title=_wrapped(fig, note, NOTE_SIZE), title_fontsize=NOTE_SIZE)
    pairs = {}
    for a in [ax] if ax is not None else fig.axes:
        for h, label in zip(*a.get_legend_handles_labels(), strict=True):
            pairs.setdefault(label, h)
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else None
    for n in range(min(ncol, len(pairs)), 0, -1):
        legend = fig.legend(pairs.values(), pairs.keys(), loc="outside lower center", ncol=n,
                            **kwargs)
        if n == 1 or renderer is None or (
                legend.get_window_extent(renderer).width <= 0.98 * fig.bbox.width):
            return
        legend.remove()


#: no creation date in the PDF: the same inputs give the same bytes (incremental = clean run)
METADATA = {"pdf": {"CreationDate": None}, "png": {}}


def save(fig: Figure, pdf: str | os.PathLike) -> None:
    """Write ``fig`` to ``pdf`` and to the PNG beside it, then close it."""
    import matplotlib.pyplot as plt

    pdf = Path(pdf)
    for path in (pdf, pdf.with_suffix(".png")):
        fmt = path.suffix[1:]
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=METADATA[fmt])
    plt.close(fig)


#: figure name (``convergent figure NAME``) -> the module that draws it; each module has
#: ``FIGURES`` (name -> draw function) and ``add_arguments(parser)`` (what they read)
REGISTRY = {
    "correlation-matrices": "correlation_matrices",
    "matched-sorted": "matched_sorted",
    "convergence": "convergence",
    "training": "training",
    "unit-pairs": "unit_pairs",
    "mean-activations": "mean_activations",
    "sparse-prediction": "sparse_prediction",
    "clustering": "clustering",
    "mutual-information": "mutual_information",
    "study-overview": "study_overview",
    "claims": "claims",
    "network-embedding": "claims",
    "neural-predictivity": "neural",
    "validation": "validation",
    **{
        f"similarity-{name}": "similarity"
        for name in ("by-layer", "heatmaps", "layer-identification", "sources", "architectures")
    },
}


def draw(name: str, argv: list[str]) -> None:
    """Parse the arguments of figure ``name`` and draw it."""
    module = importlib.import_module(f"convergent.figures.{REGISTRY[name]}")
    parser = argparse.ArgumentParser(prog=f"convergent figure {name}")
    module.add_arguments(parser)
    parser.add_argument("--out", required=True, help="the PDF; the PNG is written beside it")
    module.FIGURES[name](parser.parse_args(argv))
