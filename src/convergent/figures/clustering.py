"""Many-to-many groups (Li et al. 2016): the joint correlation matrix [[C_AA, C_AB], [C_BA, C_BB]]
of one layer in natural order, permuted by spectral cluster, and in the leaf order of the
agglomerative clustering's dendrogram (drawn above it).  The strip beside each matrix marks net A
(dark) and net B (light) units; lines separate spectral clusters."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
from scipy.cluster import hierarchy

from convergent.figures import save
from convergent.io.layouts import ClusteringFile


def _net_strip(ax: plt.Axes, is_b: np.ndarray) -> None:
    strip = ax.inset_axes([-0.06, 0, 0.03, 1], sharey=ax)
    strip.imshow(
        is_b[:, None], cmap="Greys_r", vmin=-0.5, vmax=1.5, aspect="auto", interpolation="nearest"
    )
    strip.set_axis_off()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clusters", required=True, help="the clustering file of one layer")

def main(args: argparse.Namespace) -> None:
    clusters = ClusteringFile(args.clusters)
    attrs, s = clusters.attrs, clusters.joint()
    both = clusters.clusterings()
    spectral, hac = both.spectral, both.hierarchical
    p = int(attrs["units_a"])
    is_b = np.arange(len(s)) >= p
    fig = plt.figure(figsize=(17, 6.2), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, height_ratios=(1, 4))
    panels = [
        (np.arange(len(s)), "natural order (net A, then net B)"),
        (
            spectral.order,
            f"spectral clusters ({attrs['spectral_shared']} of "
            f"{attrs['clusters']} shared by both nets)",
        ),
        (
            hac.order,
            f"agglomerative, dendrogram order ({attrs['hierarchical_shared']} of "
            f"{attrs['clusters']} shared)",
        ),
    ]
    for col, (order, title) in enumerate(panels):
        ax = fig.add_subplot(grid[1, col])
        im = ax.imshow(
            s[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
        )
        _net_strip(ax, is_b[order])
        ax.set(
            title=title,
            xlabel="unit (A: 0…, B: after the line)" if col == 0 else "unit",
            ylabel="unit",
        )
        if col == 0:
            ax.axhline(p - 0.5, color="k", lw=0.8)
            ax.axvline(p - 0.5, color="k", lw=0.8)
        if col == 1:
            labels = spectral.labels[order]
            for edge in np.flatnonzero(np.diff(labels)) + 0.5:
                ax.axhline(edge, color="k", lw=0.3)
                ax.axvline(edge, color="k", lw=0.3)
        if col == 2:
            top = fig.add_subplot(grid[0, col])
            hierarchy.dendrogram(
                hac.linkage, ax=top, no_labels=True, color_threshold=0, above_threshold_color="k"
            )
            top.set(ylabel="1 − affinity", title="dendrogram (average linkage)")
    fig.colorbar(im, ax=fig.axes, shrink=0.6, label="correlation")
    fig.suptitle(
        f"{attrs['layer']}: joint correlation matrix of {attrs['model_a']} and {attrs['model_b']}"
        f" ({p} + {len(s) - p} units, affinity {attrs['affinity']})"
    )
    save(fig, args.out)


FIGURES = {"clustering": main}
