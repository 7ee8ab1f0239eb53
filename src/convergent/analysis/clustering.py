"""Many-to-many groups of units across two nets (Li et al. 2016, section 6 of the notes).

The joint correlation matrix S = [[C_AA, C_AB], [C_BA, C_BB]] of the 2·C units of a layer (net A's
units first) is clustered twice:

* spectral clustering (the normalised Laplacian's embedding, labels by ``cluster_qr``:
  scikit-learn's ``SpectralClustering(affinity="precomputed", assign_labels="cluster_qr")``,
  label for label) -> the matrix permuted by cluster;
* agglomerative clustering (scipy, average linkage on the distance 1 − affinity) -> the matrix in
  dendrogram leaf order, and flat clusters cut at the same number of clusters.

Affinity: correlations can be negative; spectral clustering needs a non-negative affinity.  We use
|c| by default (a strongly anti-correlated unit carries the same information, and linear
predictability — what sparse prediction measures — ignores the sign), or (1 + c)/2 which keeps the
sign (anti-correlated units become dissimilar).

Dead units (zero rows of S: no variance on the probe set) are left out of both clusterings and
labelled :data:`DEAD`: each would be an isolated node of the affinity graph, a connected
component of its own, so the spectral embedding's top eigenvalue would repeat and the labels of
every unit would change with rounding noise.

A cluster is *shared* if it holds units of both nets (a subspace both nets span) and *single* if it
holds units of one net only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

AFFINITIES = ("abs", "shifted")
#: the label of a dead unit: in no cluster
DEAD = -1


def joint_matrix(c_aa: np.ndarray, c_ab: np.ndarray, c_bb: np.ndarray) -> np.ndarray:
    """[[C_AA, C_AB], [C_BA, C_BB]], net A's units first."""
    return np.block([[c_aa, c_ab], [c_ab.T, c_bb]])


def affinity(s: np.ndarray, kind: str = "abs") -> np.ndarray:
    """A symmetric non-negative affinity from a correlation matrix: |c| or (1 + c)/2."""
    if kind == "abs":
        a = np.abs(s)
    elif kind == "shifted":
        a = (1.0 + s) / 2.0
    else:
        raise ValueError(f"affinity {kind!r}: use one of {', '.join(AFFINITIES)}")
    a = (a + a.T) / 2.0
    np.fill_diagonal(a, 1.0)
    return np.clip(a, 0.0, 1.0)


def default_clusters(units_per_net: int) -> int:
    """Half the units of one net: clusters of four units on average, two from each net if they
    are shared — the smallest group that can express a many-to-many (2 ↔ 2) mapping."""
    return max(2, units_per_net // 2)


def live_units(s: np.ndarray) -> np.ndarray:
    """Which units of a joint correlation matrix are alive: a dead unit's row is all zero (it
    correlates with nothing, itself included; see analysis.correlation.within_correlation)."""
    return np.any(s != 0, axis=1)


def spectral_embedding(a: np.ndarray, dims: int) -> np.ndarray:
    """The ``dims`` eigenvectors of smallest eigenvalue of the normalised graph Laplacian
    I − D^-½ A D^-½ of affinity ``a`` (its diagonal is no edge), each row divided by √degree
    (scikit-learn's ``spectral_embedding``; an isolated node keeps degree 1, as scipy's
    ``csgraph.laplacian`` does)."""
    off = a - np.diag(np.diag(a))
    degree = off.sum(axis=0)
    root = np.sqrt(np.where(degree > 0, degree, 1.0))
    laplacian = np.eye(len(a)) - off / np.outer(root, root)
    return np.linalg.eigh(laplacian)[1][:, :dims] / root[:, None]


def cluster_qr(vectors: np.ndarray) -> np.ndarray:
    """The discrete labels nearest to a spectral embedding (Damle, Minden & Ying 2019):
    QR with column pivoting picks one representative row per cluster, and each row joins the
    representative direction it loads on most.  Deterministic, and a function of the
    embedding's span alone: a rotation or sign flip of its columns changes no label."""
    from scipy.linalg import qr, svd

    k = vectors.shape[1]
    pivots = qr(vectors.T, mode="r", pivoting=True)[1]
    u, _, vt = svd(vectors[pivots[:k]].T)
    return np.abs(vectors @ (u @ vt)).argmax(axis=1)


def spectral_labels(a: np.ndarray, clusters: int, live: np.ndarray | None = None) -> np.ndarray:
    """Spectral clustering of a precomputed affinity over the ``live`` units (default: all;
    the others :data:`DEAD`): deterministic labels, no random start (a dense eigensolver and
    :func:`cluster_qr`, where scikit-learn would start ARPACK at random: a job spends no second
    importing it)."""
    live = np.ones(len(a), bool) if live is None else live
    labels = np.full(len(a), DEAD)
    labels[live] = cluster_qr(spectral_embedding(a[np.ix_(live, live)], clusters))
    return labels


def hierarchical(
    a: np.ndarray, clusters: int, live: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(linkage, leaf order, labels cut into ``clusters`` flat clusters) of average-linkage
    agglomerative clustering on the distance 1 − affinity of the ``live`` units (default: all).
    The linkage's leaves are the live units; the order lists them in leaf order, then the dead
    units (labelled :data:`DEAD`)."""
    live = np.ones(len(a), bool) if live is None else live
    d = 1.0 - a[np.ix_(live, live)]
    np.fill_diagonal(d, 0.0)
    link = hierarchy.linkage(squareform(np.clip(d, 0.0, None), checks=False), method="average")
    alive = np.flatnonzero(live)
    order = np.concatenate([alive[hierarchy.leaves_list(link)], np.flatnonzero(~live)])
    labels = np.full(len(a), DEAD)
    labels[live] = hierarchy.fcluster(link, t=clusters, criterion="maxclust") - 1
    return link, order, labels


def cluster_order(labels: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Units grouped by cluster: clusters by decreasing mean within-cluster affinity (the
    tightest blocks first), units in a cluster with net A's before net B's (stable); the dead
    units last."""
    clusters = np.unique(labels[labels != DEAD])
    tightness = [a[np.ix_(labels == k, labels == k)].mean() for k in clusters]
    ranked = clusters[np.argsort(-np.asarray(tightness), kind="stable")]
    return np.concatenate([np.flatnonzero(labels == k) for k in [*ranked, DEAD]])


@dataclass
class Composition:
    """Per cluster: units of net A and of net B; shared = clusters with both."""

    units_a: np.ndarray
    units_b: np.ndarray

    @property
    def shared(self) -> int:
        return int(np.sum((self.units_a > 0) & (self.units_b > 0)))

    @property
    def only_a(self) -> int:
        return int(np.sum((self.units_a > 0) & (self.units_b == 0)))

    @property
    def only_b(self) -> int:
        return int(np.sum((self.units_a == 0) & (self.units_b > 0)))

    @property
    def one_to_one(self) -> int:
        """Clusters of exactly one unit of each net (a matched pair)."""
        return int(np.sum((self.units_a == 1) & (self.units_b == 1)))


def composition(labels: np.ndarray, units_a: int) -> Composition:
    """Count each cluster's units from net A (the first ``units_a`` labels) and net B (dead
    units, in no cluster, are not counted)."""
    k = int(labels.max()) + 1
    a, b = labels[:units_a], labels[units_a:]
    return Composition(np.bincount(a[a != DEAD], minlength=k),
                       np.bincount(b[b != DEAD], minlength=k))
