"""Figures: one module per figure family; each reads tables and result files and never
recomputes an analysis.  Every figure is written as PDF and PNG (same stem), atomically."""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

from convergent.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# files, no display; set before any figure module imports pyplot (they import this first)
matplotlib.use("Agg")

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
