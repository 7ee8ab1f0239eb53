"""One layer's samples prepared once for every pair it is in, on the cheaper side, and the
layer × layer matrix of in-memory activations (:func:`layer_matrix`).

The scatter route needs XcᵀXc (p × p, cost n·p²); a layer with more units than samples (p > n:
flattened conv features of a few hundred images) is replaced by its principal coordinates
Z (n × r, r ≤ n) from the centred Gram matrix XcXcᵀ (n × n, cost n²·p) instead.  Z has the same
Gram matrix as Xc, so every measure invariant to orthogonal maps of the units (linear CKA, the
CCA family, SVCCA, Procrustes, angular shape, regression R²) takes the same value from it; PWCCA's
unit-space weights are mapped back through ``units`` (p × r).  Unit matching needs the units
themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from convergent.analysis import kernels, shapes
from convergent.analysis import similarity as sim
from convergent.analysis.correlation import correlation
from convergent.analysis.matching import one_to_one_matching, semi_matching
from convergent.analysis.scatter import Eigen, Scatter
from convergent.api import products
from convergent.api.inputs import Matrix, is_tensor, matrix, same_place


class Layer:
    """Centred samples of one layer with what its pairs share, each computed once when first
    needed: its scatter (or, if wider than its samples, principal coordinates from its Gram
    matrix), that matrix's eigendecomposition, its units' variances."""

    def __init__(self, x: Matrix) -> None:
        self.n, self.width = x.shape
        self.xc = products.centred(x)
        self.wide = self.width > self.n

    @cached_property
    def gram(self) -> np.ndarray:
        """XcXcᵀ (n × n)."""
        return products.gram(self.xc)

    @cached_property
    def _scores(self) -> tuple[np.ndarray, np.ndarray]:
        return kernels.gram_scores(self.gram)

    @cached_property
    def basis(self) -> Matrix:
        """What the scatter route multiplies: Xc, or Z (n × r) for a wide layer."""
        return products.like(self._scores[1], self.xc) if self.wide else self.xc

    @cached_property
    def scatter(self) -> np.ndarray:
        """basisᵀbasis: XcᵀXc, or Λ = ZᵀZ (exactly diagonal) for a wide layer."""
        return np.diag(self._scores[0]) if self.wide else products.cross(self.xc, self.xc)

    @cached_property
    def eig(self) -> Eigen:
        """eigh of the scatter."""
        if self.wide:
            return self._scores[0], np.eye(len(self._scores[0]))
        return np.linalg.eigh(self.scatter)

    @cached_property
    def units(self) -> np.ndarray | None:
        """For a wide layer, V (p × r) with Xc = ZVᵀ: its units in principal coordinates."""
        if not self.wide:
            return None
        return products.cross(self.xc, self.basis) / self._scores[0]

    @cached_property
    def square_sum(self) -> float:
        """‖Xc‖²_F."""
        return float(np.trace(self.scatter))

    @cached_property
    def column_variance(self) -> np.ndarray:
        """Per-unit population variance (of the units, also for a wide layer)."""
        return products.column_squares(self.xc) / self.n

    @cached_property
    def row_squares(self) -> np.ndarray:
        """‖xcᵢ‖² per sample."""
        return products.column_squares(self.xc.T)


class Pair:
    """Two prepared layers of the same samples (``Layer``, or any object with the same
    attributes, e.g. streamed sums) and their cross products, each formed once when a measure
    first needs it.  ``unit_cross``: XcᵀYc when already known (streamed sums); otherwise it is
    multiplied from the layers' data.  ``dead_std``: units with a smaller std are dead (unit
    matching)."""

    def __init__(self, a: Any, b: Any, unit_cross: np.ndarray | None = None,
                 dead_std: float = 1e-6) -> None:
        if a.n != b.n:
            raise ValueError(f"x and y: x has {a.n} rows (samples) and y has {b.n}; rows must "
                             "be the same samples, in the same order")
        self.a, self.b, self.n, self.dead_std = a, b, a.n, dead_std
        if unit_cross is not None:
            self.unit_cross = unit_cross

    @cached_property
    def unit_cross(self) -> np.ndarray:
        """XcᵀYc (p × q), units against units."""
        if not (self.a.wide or self.b.wide):
            return self.basis_cross
        return products.cross(*same_place(self.a.xc, self.b.xc))

    @cached_property
    def basis_cross(self) -> np.ndarray:
        """The cross scatter of the two bases (units, or principal coordinates if wide)."""
        if "unit_cross" not in self.__dict__:
            return products.cross(*same_place(self.a.basis, self.b.basis))
        c = self.unit_cross
        c = self.a.units.T @ c if self.a.wide else c
        return c @ self.b.units if self.b.wide else c

    def scatter(self, eig: bool = True) -> Scatter:
        """The pair's :class:`~convergent.analysis.scatter.Scatter`, sharing each layer's
        decomposition (``eig`` False: for measures that need none, nor PWCCA's unit maps)."""
        a, b = self.a, self.b
        extra = {"eig_x": a.eig, "eig_y": b.eig, "units_x": a.units, "units_y": b.units} \
            if eig else {}
        return Scatter(self.n, a.scatter, b.scatter, self.basis_cross, **extra)

    def procrustes(self) -> float:
        """Procrustes distance; near identity from the residuals where the data are at hand
        (:func:`convergent.analysis.shapes.procrustes_of_cross`)."""
        a, b = self.a, self.b
        data = None
        if hasattr(a, "basis") and hasattr(b, "basis"):
            def data() -> tuple[np.ndarray, np.ndarray]:
                return products.numpy(a.basis), products.numpy(b.basis)

        return shapes.procrustes_of_cross(self.basis_cross, a.square_sum, b.square_sum, data)

    def correlations(self) -> np.ndarray:
        """Pearson correlation of every unit of A with every unit of B (p × q), from the unit
        cross product and the units' variances; dead units (std ≤ ``dead_std``) correlate 0."""
        return correlation(self.unit_cross / self.n, self.a.column_variance,
                           self.b.column_variance, self.dead_std)


# ------------------------------------------------------------------ measures by name
def _matched(kind: str):
    def measure(pair: Pair) -> float:
        c = pair.correlations()
        value = semi_matching(c)[1] if kind == "semi" else one_to_one_matching(c)[1]
        return float(np.nanmean(value))

    return measure


def _from_scatter(f, eig: bool = True):
    return lambda pair: f(pair.scatter(eig))


def _pwcca(pair: Pair) -> float:
    return sim.pwcca(pair.scatter(), "x" if pair.a.width <= pair.b.width else "y")


#: measure name -> f(Pair) -> float: what layer_matrix and compare compute
PAIR_MEASURES = {
    "linear_cka": _from_scatter(sim.linear_cka, eig=False),
    "linear_hsic": _from_scatter(sim.linear_hsic, eig=False),
    "cca_rho": _from_scatter(sim.cca_rho),
    "cca_r2": _from_scatter(sim.cca_r2),
    "svcca_rho": _from_scatter(sim.svcca_rho),
    "svcca_r2": _from_scatter(sim.svcca_r2),
    "pwcca": _pwcca,
    "procrustes": Pair.procrustes,
    "angular_shape": lambda pair: shapes.chord_angle(pair.procrustes()),
    "regression_r2_ab": _from_scatter(sim.regression_r2),
    "regression_r2_ba": _from_scatter(lambda s: sim.regression_r2(s.swap())),
    "regression_r2": _from_scatter(lambda s: (sim.regression_r2(s)
                                              + sim.regression_r2(s.swap())) / 2),
    "matched_correlation": _matched("one_to_one"),
    "semi_matched_correlation": _matched("semi"),
}


def check_measures(measures: Any) -> list[str]:
    """``measures`` (a name or names) checked against :data:`PAIR_MEASURES`."""
    names = [measures] if isinstance(measures, str) else list(measures)
    unknown = [m for m in names if m not in PAIR_MEASURES]
    if unknown or not names:
        raise ValueError(f"measures: {', '.join(map(repr, unknown)) or 'none given'}; choose "
                         f"from {', '.join(PAIR_MEASURES)}")
    return names


def _layers(acts: Sequence[Any] | Mapping[str, Any], side: str) -> list[Matrix]:
    items = list(acts.items()) if isinstance(acts, Mapping) else list(enumerate(acts))
    if not items:
        raise ValueError(f"{side}: no layers given")
    mats = [matrix(v, f"{side}[{k!r}]") for k, v in items]
    rows = {m.shape[0] for m in mats}
    if len(rows) > 1:
        raise ValueError(f"{side}: every layer must hold the same samples; got {sorted(rows)} "
                         "rows")
    return mats


def layer_matrix(
    acts_a: Sequence[Any] | Mapping[str, Any],
    acts_b: Sequence[Any] | Mapping[str, Any] | None = None,
    measure: str = "linear_cka",
) -> np.ndarray:
    """``measure`` of every layer of A (rows) against every layer of B (columns).

    ``acts_a``/``acts_b``: lists or ``{name: matrix}`` dicts of (samples × units) matrices of
    the same samples (numpy, or torch tensors on any device; conv layers through
    :func:`convergent.features`); ``acts_b`` None compares A with itself.  Each layer is
    centred and its scatter (or, if wider than its samples, its Gram matrix) formed once, so
    the matrix costs about one cross product per pair (linear CKA: one product of all of A's
    layers side by side with all of B's).  ``measure``: a name of :data:`PAIR_MEASURES` (the
    workflow's names).
    """
    check_measures(measure)
    mats_a = _layers(acts_a, "acts_a")
    mats_b = mats_a if acts_b is None else _layers(acts_b, "acts_b")
    if mats_a[0].shape[0] != mats_b[0].shape[0]:
        raise ValueError(f"acts_a and acts_b: {mats_a[0].shape[0]} and {mats_b[0].shape[0]} "
                         "rows; every layer must hold the same samples")
    if measure == "linear_cka":
        return cka_matrix(mats_a, mats_b)
    layers_a = [Layer(m) for m in mats_a]
    layers_b = layers_a if mats_b is mats_a else [Layer(m) for m in mats_b]
    f = PAIR_MEASURES[measure]
    return np.array([[f(Pair(a, b)) for b in layers_b] for a in layers_a])


def cka_matrix(mats_a: list[Matrix], mats_b: list[Matrix]) -> np.ndarray:
    """Linear CKA of every pair of checked matrices: each layer centred into one buffer per
    side, one cross product of the two buffers, and each layer's ‖XcᵀXc‖_F."""
    stack_a, norms_a, edges_a = _centred_stack(mats_a)
    if mats_b is mats_a:
        stack_b, norms_b, edges_b = stack_a, norms_a, edges_a
        sxy = products.cross(stack_a, stack_a)
    else:
        stack_b, norms_b, edges_b = _centred_stack(mats_b)
        sxy = products.cross(*same_place(stack_a, stack_b))
    out = np.empty((len(mats_a), len(mats_b)))
    for i, (lo_a, hi_a) in enumerate(edges_a):
        for j, (lo_b, hi_b) in enumerate(edges_b):
            denom = norms_a[i] * norms_b[j]
            out[i, j] = np.sum(sxy[lo_a:hi_a, lo_b:hi_b] ** 2) / denom if denom > 0 else np.nan
    return out


def _centred_stack(mats: list[Matrix]) -> tuple[Matrix, np.ndarray, list[tuple[int, int]]]:
    """The layers' bases side by side in one place and dtype (centred units; a wide layer's
    principal coordinates), each layer's ‖scatter‖_F, and its columns in the stack."""
    wide = {k: Layer(m) for k, m in enumerate(mats) if m.shape[1] > m.shape[0]}
    parts = [wide[k].basis if k in wide else m for k, m in enumerate(mats)]
    widths = np.cumsum([0] + [p.shape[1] for p in parts])
    edges = list(zip(widths[:-1], widths[1:], strict=True))
    tensor = next((p for p in parts if is_tensor(p)), None)
    f64 = any(str(p.dtype).endswith("float64") for p in parts)
    if tensor is not None:
        import torch

        parts = [p if is_tensor(p) else products.like(p, tensor) for p in parts]
        parts = [products.f64(p) if f64 else p for p in parts]
        stack = torch.cat([p if k in wide else products.centred(p)
                           for k, p in enumerate(parts)], dim=1)
    else:
        stack = np.empty((parts[0].shape[0], widths[-1]), np.float64 if f64 else np.float32)
        for k, (p, (lo, hi)) in enumerate(zip(parts, edges, strict=True)):
            if k in wide:
                stack[:, lo:hi] = p
            else:  # centred straight into the stack: no copy of each layer
                np.subtract(p, products.column_mean(p).astype(p.dtype), out=stack[:, lo:hi])
    norms = np.array([np.linalg.norm(wide[k].scatter) if k in wide
                      else np.linalg.norm(products.cross(v, v))
                      for k, v in enumerate(stack[:, lo:hi] for lo, hi in edges)])
    return stack, norms, edges
