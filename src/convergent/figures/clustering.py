"""Many-to-many groups (Li et al. 2016): the joint correlation matrix [[C_AA, C_AB], [C_BA, C_BB]]
of one layer in natural order, permuted by spectral cluster, and in the leaf order of the
agglomerative clustering's dendrogram (drawn above it).  The strip beside each matrix marks net A
(dark) and net B (light) units; squares on the diagonal outline the spectral clusters.  Dead
units (no variance) are in no cluster: last in both clustered orders, outside the dendrogram."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle
from scipy.cluster import hierarchy

from convergent.analysis.clustering import DEAD
from convergent.figures import (
    DIVERGING,
    add_partner_argument,
    integer_ticks,
    plural,
    save,
    suptitle,
)
from convergent.io.layouts import ClusteringFile

#: net A's units dark, net B's light: tells them apart in greyscale too
NET_COLORS = ListedColormap(["#3a3a3a", "#d9d9d9"])


def _net_strip(ax: plt.Axes, is_b: np.ndarray, ylabel: str) -> plt.Axes:
    """The membership strip left of the matrix; it carries the matrix's y ticks and label, so
    that they sit outside the strip instead of under it."""
    strip = ax.inset_axes([-0.055, 0, 0.04, 1], sharey=ax)
    strip.imshow(is_b[:, None], cmap=NET_COLORS, vmin=0, vmax=1, aspect="auto",
                 interpolation="nearest")
    strip.set_xticks([])
    for side in ("top", "right", "bottom"):
        strip.spines[side].set_visible(False)
    strip.set_ylabel(ylabel)
    integer_ticks(strip, "y")
    ax.tick_params(axis="y", labelleft=False, left=False)
    return strip


def _cluster_blocks(ax: plt.Axes, labels: np.ndarray) -> None:
    """Outline each cluster (of two or more units, contiguous in this order) on the diagonal:
    full-width lines at every boundary would bury the matrix."""
    edges = np.concatenate([[0], np.flatnonzero(np.diff(labels)) + 1, [len(labels)]])
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi - lo > 1 and labels[lo] != DEAD:
            ax.add_patch(Rectangle((lo - 0.5, lo - 0.5), hi - lo, hi - lo, fill=False, lw=0.8,
                                   ec="black"))


def _dendrogram(ax: plt.Axes, linkage: np.ndarray) -> plt.Axes:
    """The dendrogram above the matrix, its leaves on the matrix's columns; lines thin with
    the number of leaves (a full-width tree of hundreds of leaves is otherwise a solid block)."""
    tree = hierarchy.dendrogram(linkage, no_plot=True)
    top = ax.inset_axes([0, 1.02, 1, 0.3], sharex=ax)
    # scipy puts leaf i at x = 10 i + 5
    segments = [np.column_stack([(np.asarray(xs) - 5) / 10, ys])
                for xs, ys in zip(tree["icoord"], tree["dcoord"], strict=True)]
    lw = float(np.clip(60 / (len(linkage) + 1), 0.15, 1.0))
    top.add_collection(LineCollection(segments, colors="#404040", linewidths=lw))
    top.set_ylim(0, max(float(np.max(tree["dcoord"])), 1e-9) * 1.05)
    top.tick_params(axis="x", labelbottom=False, bottom=False)
    top.spines["bottom"].set_visible(False)
    top.set_ylabel("1 − affinity")
    return top


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clusters", required=True, help="the clustering file of one layer")
    add_partner_argument(parser)


def main(args: argparse.Namespace) -> None:
    clusters = ClusteringFile(args.clusters, args.partner)
    attrs, s = clusters.attrs, clusters.joint()
    both = clusters.clusterings()
    spectral, hac = both.spectral, both.hierarchical
    p = int(attrs["units_a"])
    n = len(s)
    is_b = np.arange(n) >= p
    fig, axes = plt.subplots(1, 3, figsize=(15, 6), layout="constrained")
    panels = [
        (np.arange(n), "natural order (net A, then net B)",
         f"joint unit (A: 0–{p - 1}, B: {p}–{n - 1})"),
        (spectral.order, f"spectral clusters ({attrs['spectral_shared']} of "
         f"{attrs['clusters']} shared by both nets)", "position in spectral-cluster order"),
        (hac.order, f"agglomerative, dendrogram order ({attrs['hierarchical_shared']} of "
         f"{attrs['clusters']} shared)", "position in dendrogram order"),
    ]
    for col, (ax, (order, title, label)) in enumerate(zip(axes, panels, strict=True)):
        im = ax.imshow(s[np.ix_(order, order)], cmap=DIVERGING, vmin=-1, vmax=1,
                       interpolation="nearest")
        _net_strip(ax, is_b[order], label)
        ax.set_xlabel(label)
        integer_ticks(ax, "x")
        if col == 0:
            ax.axhline(p - 0.5, color="black", lw=0.8)
            ax.axvline(p - 0.5, color="black", lw=0.8)
        if col == 1:
            _cluster_blocks(ax, spectral.labels[order])
        if col == 2:
            _dendrogram(ax, hac.linkage).set_title(f"{title}\n(average linkage)")
        else:
            ax.set_title(title)
    fig.colorbar(im, ax=axes, shrink=0.6, label="correlation")
    suptitle(fig,
        f"{attrs['layer']}: joint correlation matrix of {attrs['model_a']} and {attrs['model_b']}"
        f" ({p} + {n - p} units, affinity {attrs['affinity']}); strip: net A dark, net B light"
        + (f"; {plural(attrs['dead_units'], 'dead unit')}, in no cluster, last in both "
           "clustered orders"
           if attrs["dead_units"] else "")
    )
    save(fig, args.out)


FIGURES = {"clustering": main}
