"""What :func:`convergent.compare` returns: the layer × layer matrix of each measure, with the
convention and sample count of every cell and each layer's dead-unit fraction, as arrays, as
the workflow's long table (:meth:`Comparison.to_frame`), as heatmaps (:meth:`Comparison.plot`)
and in torch-cka's ``results`` format (:meth:`Comparison.to_torch_cka`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from convergent.analysis.measures import MEASURES


@dataclass(frozen=True)
class Comparison:
    """``values[measure][i, j]``: layer ``layers_a[i]`` of A against ``layers_b[j]`` of B;
    ``conventions[i, j]`` the conv convention of that cell, ``samples[i, j]`` its sample count
    (images, or image positions); ``dead_a[i]``/``dead_b[j]`` the share of a layer's channels
    that never vary (std ≤ ``dead_std``: a ReLU that never fires); ``images``: the images seen;
    ``datasets``: what A's and B's loaders read (their dataset's first repr line)."""

    model_a: str
    model_b: str
    layers_a: list[str]
    layers_b: list[str]
    values: dict[str, np.ndarray]
    conventions: np.ndarray
    samples: np.ndarray
    dead_a: np.ndarray
    dead_b: np.ndarray
    images: int
    datasets: tuple[str, str] = ("", "")

    def __getitem__(self, measure: str) -> np.ndarray:
        """The (layers of A × layers of B) matrix of ``measure``."""
        if measure not in self.values:
            raise KeyError(f"{measure!r}: this comparison has {', '.join(self.values)}")
        return self.values[measure]

    def to_frame(self):
        """The long table the workflow writes (tables/similarity_per_pair.csv's columns: one row
        per cell and measure, analysis ``layer_by_layer``, no CIs), plus each cell's layers'
        dead-unit fractions."""
        import pandas as pd

        def depth(i: int, n: int) -> float:
            return i / max(n - 1, 1)

        rows = []
        na, nb = len(self.layers_a), len(self.layers_b)
        for measure, m in self.values.items():
            for i, la in enumerate(self.layers_a):
                for j, lb in enumerate(self.layers_b):
                    rows.append({
                        "analysis": "layer_by_layer", "kind": "pair",
                        "model_a": self.model_a, "model_b": self.model_b,
                        "layer_a": la, "layer_b": lb,
                        "depth_a": depth(i, na), "depth_b": depth(j, nb),
                        "measure": measure, "value": m[i, j],
                        "ci_low": np.nan, "ci_high": np.nan,
                        "convention": self.conventions[i, j], "samples": self.samples[i, j],
                        "dead_fraction_a": self.dead_a[i], "dead_fraction_b": self.dead_b[j],
                    })
        return pd.DataFrame(rows)

    def plot(self, path: str | os.PathLike | None = None, measures: list[str] | None = None):
        """Heatmaps of the layer × layer matrices (one panel per measure, the study's style:
        a sequential map, reversed for distances so that similar is always the same end, NaN
        cells hatched); ``path``: also write it there as PDF and PNG.  Returns the Figure."""
        import matplotlib
        from matplotlib.figure import Figure

        backend = matplotlib.get_backend()
        from convergent import figures  # its import selects Agg for the workflow's jobs

        matplotlib.use(backend)  # a notebook keeps its own
        from convergent.figures.similarity import label

        measures = list(self.values) if measures is None else measures
        with matplotlib.rc_context(figures.STYLE):
            fig = Figure(figsize=(0.6 + 3.2 * len(measures),
                                  1.6 + 0.28 * max(len(self.layers_a), 4)),
                         layout="constrained")
            axes = fig.subplots(1, len(measures), squeeze=False)[0]
            for ax, measure in zip(axes, measures, strict=True):
                self._heatmap(fig, ax, measure, label(measure), figures.SEQUENTIAL)
            conv = ", ".join(sorted(set(self.conventions.ravel())))
            figures.suptitle(fig, f"{self.model_a} vs {self.model_b}: layer × layer over "
                                  f"{self.images} images (conv features: {conv})")
        if path is not None:
            figures.save(fig, path)
        return fig

    def _heatmap(self, fig: Any, ax: Any, measure: str, label: str, cmap: str) -> None:
        m = self[measure]
        entry = MEASURES.get(measure)
        cmap = f"{cmap}_r" if entry is not None and entry.is_distance else cmap
        scale = entry.scale if entry is not None else None  # the study's fixed scale
        im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, aspect="auto",
                       **({"vmin": scale[0], "vmax": scale[1]} if scale else {}))
        for i, j in zip(*np.nonzero(~np.isfinite(m)), strict=True):
            ax.add_patch(matplotlib_rectangle(j, i))
        ax.set_xticks(range(len(self.layers_b)), self.layers_b, rotation=90)
        ax.set_yticks(range(len(self.layers_a)), self.layers_a)
        ax.set_xlabel(f"{self.model_b} layer (dead %: "
                      f"{', '.join(f'{100 * d:.0f}' for d in self.dead_b)})")
        ax.set_ylabel(f"{self.model_a} layer (dead %: "
                      f"{', '.join(f'{100 * d:.0f}' for d in self.dead_a)})")
        ax.set_title(label)
        if np.isfinite(m).any():
            lo, hi = np.nanmin(m), np.nanmax(m)
            if scale is None and hi - lo < 1e-3:  # a constant matrix: no 1e-9 ticks
                im.set_clim(lo - 0.01, hi + 0.01)
            bar = fig.colorbar(im, ax=ax, shrink=0.8)
            bar.formatter.set_useOffset(False)

    def to_torch_cka(self, measure: str = "linear_cka") -> dict[str, Any]:
        """torch-cka's ``CKA.export()`` dict
        (:func:`convergent.api.adapters.torch_cka_results`)."""
        from convergent.api.adapters import torch_cka_results

        return torch_cka_results(self, measure)


def matplotlib_rectangle(x: int, y: int):
    """A hatched cell at column ``x``, row ``y`` of an imshow: no value there (undefined)."""
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.6",
                     linewidth=0)
