"""Figures: one module per figure family; each reads tables/HDF5 and never recomputes analyses.

Every figure is written as PDF and PNG (same stem), atomically, with labelled axes.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from convergent.io import atomic_path  # noqa: E402

#: no creation date in the PDF: the same inputs give the same bytes (incremental = clean run)
METADATA = {"pdf": {"CreationDate": None}, "png": {}}


def save(fig: plt.Figure, pdf: str | os.PathLike) -> None:
    """Write ``fig`` to ``pdf`` and to the PNG beside it."""
    pdf = Path(pdf)
    for path in (pdf, pdf.with_suffix(".png")):
        fmt = path.suffix[1:]
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=METADATA[fmt])
    plt.close(fig)


def add_parsers(figure: argparse.ArgumentParser, func: Callable) -> None:
    sub = figure.add_subparsers(dest="name", required=True)

    s = sub.add_parser("correlation-matrices", help="within/between-net matrices (Li Fig. 1)")
    s.add_argument("--moments-a", required=True)
    s.add_argument("--moments-b", required=True)
    s.add_argument("--pair", required=True, help="the pair file of this layer")
    s.add_argument("--dead-std", type=float, default=1e-6)

    s = sub.add_parser("matched-sorted", help="sorted matched correlation per unit (Li Fig. 3)")
    s.add_argument("--pairs", nargs="+", required=True)
    s.add_argument("--example", nargs=2, required=True, metavar=("MODEL_A", "MODEL_B"))

    s = sub.add_parser("convergence", help="mean matched correlation vs layer, all pairs")
    s.add_argument("--per-pair", required=True)
    s.add_argument("--summary", required=True)

    s = sub.add_parser("training", help="training curves and test accuracies")
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--accuracy", required=True)

    from convergent.figures.li_parsers import add_li_parsers

    add_li_parsers(sub)

    from convergent.figures.similarity import add_similarity_parsers

    add_similarity_parsers(sub)

    for s in sub.choices.values():
        s.add_argument("--out", required=True, help="the PDF; the PNG is written beside it")
        s.set_defaults(func=func)
