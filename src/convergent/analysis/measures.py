"""The measure registry: one entry per similarity measure, the one place that says what a
measure's name means, how it is shown, which way is "more alike", what it is invariant to, its
standard name in nacloos/similarity-repository, how its score is calibrated against chance, and
where it is defined.

Tables, figures, findings and docs read names and directions from here (docs/similarity.md's
table of measures is generated from it: :func:`markdown_table`); the formulas live in
:mod:`convergent.analysis.similarity` (scatter route), :mod:`convergent.analysis.shapes`,
:mod:`convergent.analysis.kernels` and :mod:`convergent.analysis.subsample` (Gram/RDM route),
:mod:`convergent.analysis.neighbours` (k-nearest-neighbour route) and
:mod:`convergent.analysis.matching` (unit matching).

Domain rules (a measure outside its domain is NaN with the reason :func:`undefined` gives,
never a number):

* **Whitening measures** (the CCA family, linear regression and the partially whitened shape
  metric invert a within-network scatter matrix) need clearly more samples than features:
  ``n ≥ 2 (r_x + r_y)``, r = each side's numerical rank (after the SVD step for SVCCA).  With
  ``r_x + r_y > n`` at least ``r_x + r_y − n`` canonical correlations are exactly 1 whatever
  the data, and well before that sampling noise drives them towards 1 (Wachter's law), so the
  value would describe the sample size, not the networks.
* **Basis measures** (PWCCA, unit matching) are tied to the units themselves: they are
  undefined on principal-component scores (``reduce_features``, used when a flattened layer
  has more features than samples).
* **Neighbour measures** (mutual k-NN, CKNNA) need more samples than neighbours: ``k < n − 1``
  (with ``k = n − 1`` every other sample is a neighbour and the overlap is 1 whatever the data).

Calibration (:func:`calibrate`): a score s beside its shuffled-pairing null s₀ (the same
measure with the images of B paired at random with those of A) becomes
``(s − s₀) / (s* − s₀)``, s* the score of identical inputs (1 for similarities, 0 for
distances): 1 = identical up to the measure's invariances, 0 = chance, below 0 = below chance,
the same reading for every measure.  Unbounded measures (linear HSIC) have no s*: no
calibrated score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: invariances a measure can declare (translation: adding one vector to every sample's features)
INVARIANCES = ("translation", "permutation", "orthogonal", "isotropic_scaling",
               "invertible_linear")
#: how a measure is computed: from the scatter sums of all samples, from n × n Gram/RDM matrices
#: of a probe subsample, from the nearest neighbours of the subsample's images, or by matching
#: units through their correlations
ROUTES = ("scatter", "gram", "neighbours", "matching")
#: the least samples per feature of a whitening measure: n ≥ WHITENING_SAMPLES × (r_x + r_y)
WHITENING_SAMPLES = 2
#: the similarity repository's measure identifiers: measure/{repository}/{standard name}
REPOSITORY = "https://github.com/nacloos/similarity-repository"
#: the lines around docs/similarity.md's table of measures (scripts/measures_table.py)
TABLE_BEGIN = "<!-- measures: begin (scripts/measures_table.py writes this table) -->"
TABLE_END = "<!-- measures: end -->"

_TRANS, _PERM, _ORTH, _ISO, _LIN = INVARIANCES
_ROTATIONS = frozenset({_TRANS, _PERM, _ORTH, _ISO})
_UNITS = frozenset({_TRANS, _PERM, _ISO})  # correlations of units: each unit's scale is free
_COSINE = frozenset({_PERM, _ORTH, _ISO})  # cosines of uncentred samples


class UndefinedMeasureWarning(UserWarning):
    """A measure was asked for outside its domain: its value is NaN, the message says why."""


@dataclass(frozen=True)
class Measure:
    """One similarity measure: its stable ``name`` (the tables' ``measure`` column), how
    sentences and figures show it, and its properties.

    ``scale`` is the value range a figure's colour scale uses for every panel of the measure
    (None: the data's own range, for unbounded measures such as HSIC).  ``standard`` is its
    name in the similarity repository (``measure/*/<standard>``; "" where it has none; braces
    name the similarity option that fills them), ``standard_note`` where ours differs from it."""

    name: str
    display: str
    larger_is_similar: bool
    invariances: frozenset[str]
    route: str
    metric: bool = False
    whitens: bool = False
    basis: bool = False
    scale: tuple[float, float] | None = (0.0, 1.0)
    reference: str = ""
    standard: str = ""
    standard_note: str = ""

    @property
    def is_distance(self) -> bool:
        return not self.larger_is_similar

    @property
    def identical(self) -> float | None:
        """The score of two identical inputs (1 for similarities, 0 for distances); None for
        an unbounded measure."""
        if self.scale is None:
            return None
        return 1.0 if self.larger_is_similar else 0.0


_ENTRIES = (
    Measure("linear_cka", "linear CKA", True, _ROTATIONS, "scatter",
            reference="Kornblith et al. 2019", standard="cka-kernel=linear-hsic=gretton-score"),
    Measure("linear_hsic", "linear HSIC", True, frozenset({_TRANS, _PERM, _ORTH}), "scatter",
            scale=None, reference="Gretton et al. 2005"),
    Measure("cca_rho", "mean CCA ρ", True, frozenset(INVARIANCES), "scatter", whitens=True,
            reference="Hotelling 1936; Kornblith et al. 2019", standard="cca-score"),
    Measure("cca_r2", "R²_CCA", True, frozenset(INVARIANCES), "scatter", whitens=True,
            reference="Kornblith et al. 2019", standard="cca-squared_score"),
    Measure("svcca_rho", "SVCCA mean ρ", True, _ROTATIONS, "scatter", whitens=True,
            reference="Raghu et al. 2017", standard="svcca-var={svcca_keep}-score"),
    Measure("svcca_r2", "SVCCA R²", True, _ROTATIONS, "scatter", whitens=True,
            reference="Raghu et al. 2017", standard="svcca-var={svcca_keep}-squared_score"),
    Measure("pwcca", "PWCCA", True, frozenset({_TRANS, _PERM, _ISO}), "scatter", whitens=True,
            basis=True, reference="Morcos et al. 2018", standard="pwcca-score",
            standard_note="weights from the side with fewer units; canonical variates exact"),
    Measure("procrustes", "Procrustes distance", False, _ROTATIONS, "scatter",
            scale=(0.0, 2.0), reference="Ding et al. 2021",
            standard="procrustes-distance=squared_euclidean"),
    Measure("angular_shape", "angular shape distance", False, _ROTATIONS, "scatter",
            metric=True, scale=(0.0, np.pi / 2), reference="Williams et al. 2021",
            standard="procrustes-distance=angular"),
    Measure("shape_metric", "shape metric (α)", False, _ROTATIONS, "scatter", metric=True,
            whitens=True, scale=(0.0, np.pi / 2), reference="Williams et al. 2021",
            standard="shape_metric-alpha={shape_alpha}-distance=angular",
            standard_note="eigenvalues in units of their mean: equal to netrep's at α = 0 and 1 "
                          "and on data of unit mean variance"),
    Measure("regression_r2", "regression R² (both ways)", True, _ROTATIONS, "scatter",
            whitens=True, reference="Kornblith et al. 2019"),
    Measure("regression_r2_ab", "regression R² (A→B)", True, _ROTATIONS, "scatter",
            whitens=True, reference="Kornblith et al. 2019"),
    Measure("regression_r2_ba", "regression R² (B→A)", True, _ROTATIONS, "scatter",
            whitens=True, reference="Kornblith et al. 2019", standard="linear_regression",
            standard_note="linear_regression(A, B) explains A by B"),
    Measure("rbf_cka", "RBF CKA", True, _ROTATIONS, "gram", reference="Kornblith et al. 2019",
            standard_note="σ relative to the median distance; the repository's σ is absolute"),
    Measure("linear_cka_debiased", "debiased linear CKA", True, _ROTATIONS, "gram",
            reference="Kornblith et al. 2019 (Székely–Rizzo U-centring)",
            standard="cka-kernel=linear-hsic=song-score"),
    Measure("rsa_spearman", "RSA Spearman", True, frozenset({_PERM, _ISO}), "gram",
            scale=(-1.0, 1.0), reference="Kriegeskorte et al. 2008",
            standard="rsa-rdm=correlation-compare=spearman",
            standard_note="with rdm_metric: correlation"),
    Measure("rsa_kendall_tau_a", "RSA Kendall τa", True, frozenset({_PERM, _ISO}), "gram",
            scale=(-1.0, 1.0), reference="Nili et al. 2014",
            standard="rsa-rdm=correlation-compare=tau_a",
            standard_note="with rdm_metric: correlation"),
    Measure("mutual_knn", "mutual k-NN", True, _COSINE, "neighbours",
            reference="Huh et al. 2024", standard="mutual_knn-topk={knn_k}"),
    Measure("cknna", "CKNNA", True, _COSINE, "neighbours", reference="Huh et al. 2024",
            standard="cknna-topk={knn_k}", standard_note="no 1e-6 added to the denominator"),
    Measure("semi_matched_correlation", "semi-matched r (live units)", True, _UNITS,
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016"),
    Measure("matched_correlation", "one-to-one matched r (live units)", True, _UNITS,
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016"),
    Measure("semi_matched_correlation_all", "semi-matched r (dead units as 0)", True, _UNITS,
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016"),
    Measure("matched_correlation_all", "one-to-one matched r (dead units as 0)", True, _UNITS,
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016",
            standard="hard_correlation_match"),
    Measure("soft_correlation_match", "soft correlation match (live units)", True, _UNITS,
            "matching", basis=True, scale=(-1.0, 1.0),
            reference="Li et al. 2016; Klabunde et al. 2025 (ReSi)",
            standard="soft_correlation_match",
            standard_note="over live units; ReSi counts a dead unit as r = 0"),
    Measure("mean_activation_rank", "matched units' activity rank ρ", True,
            frozenset({_PERM, _ISO}), "matching", basis=True, scale=(-1.0, 1.0),
            reference="Li et al. 2016, Fig. 4"),
)
MEASURES: dict[str, Measure] = {m.name: m for m in _ENTRIES}


def measure(name: str) -> Measure:
    """The registry entry of ``name`` (KeyError naming the known measures otherwise)."""
    try:
        return MEASURES[name]
    except KeyError:
        raise KeyError(f"unknown measure {name!r}; one of {', '.join(MEASURES)}") from None


def display(name: str) -> str:
    """How sentences, tables and figures name a measure (its name if it is not registered)."""
    return MEASURES[name].display if name in MEASURES else name


def larger_is_similar(name: str) -> bool:
    """True if a larger value means more alike (False for distances)."""
    return measure(name).larger_is_similar


def orientation(name: str) -> float:
    """+1 for similarities, −1 for distances: multiplied in, larger always means more alike."""
    return 1.0 if larger_is_similar(name) else -1.0


def standard_name(name: str, options: Mapping[str, object]) -> str:
    """The similarity repository's name of ``name`` with the similarity options that
    parametrise it filled in (e.g. ``mutual_knn-topk=10``); "" where it has none."""
    return measure(name).standard.format(**options)


def undefined(name: str, n: float, rank_x: int, rank_y: int, reduced: bool = False,
              k: int | None = None) -> str:
    """Why ``name`` is undefined for n samples of features of numerical ranks ``rank_x`` and
    ``rank_y`` (``reduced``: principal-component scores stand in for the units; ``k``: the
    neighbours of a neighbour measure), or "" where it is defined."""
    m = measure(name)
    if m.basis and reduced:
        return ("tied to the units, which were replaced by principal components (more "
                "features than samples)")
    if m.whitens and n < WHITENING_SAMPLES * (rank_x + rank_y):
        return (f"n = {n:g} samples < {WHITENING_SAMPLES} × (rank {rank_x} + rank {rank_y}): "
                "canonical correlations are driven to 1 by the sample size")
    if m.route == "neighbours" and k is not None and k >= n - 1:
        return f"k = {k} neighbours of n = {n:g} samples: every other sample is a neighbour"
    return ""


def calibrate(name: str, value: float, null: float) -> float:
    """The calibrated score (s − s₀) / (s* − s₀) of ``value`` s against its shuffled-pairing
    ``null`` s₀ (s*: the score of identical inputs): 1 = identical, 0 = chance; NaN for an
    unbounded measure, a missing null or a null at s*."""
    best = measure(name).identical
    if best is None or not (np.isfinite(value) and np.isfinite(null)) or null == best:
        return np.nan
    return float((value - null) / (best - null))


def calibrate_interval(name: str, low: float, high: float, null: float) -> tuple[float, float]:
    """An interval of the raw score as one of the calibrated score, the null held fixed (the
    map is monotone: a distance's bounds swap)."""
    a, b = calibrate(name, low, null), calibrate(name, high, null)
    return (min(a, b), max(a, b)) if np.isfinite(a) and np.isfinite(b) else (np.nan, np.nan)


def markdown_table() -> str:
    """docs/similarity.md's table of measures (scripts/measures_table.py writes it there)."""
    def invariances(m: Measure) -> str:
        return ", ".join(i.replace("_", " ") for i in INVARIANCES if i in m.invariances) or "–"

    def domain(m: Measure) -> str:
        rules = [("whitens: n ≥ 2(r_x + r_y)", m.whitens), ("units (no PCA)", m.basis),
                 ("k < n − 1", m.route == "neighbours")]
        return "; ".join(text for text, holds in rules if holds) or "any"

    def standard(m: Measure) -> str:
        note = f" ({m.standard_note})" if m.standard_note else ""
        return (f"`{m.standard}`" if m.standard else "–") + note

    lines = ["| name | shown as | similarity-repository name | larger = | metric | invariant to "
             "| route | defined where | reference |", "|---" * 9 + "|"]
    for m in _ENTRIES:
        lines.append(
            f"| `{m.name}` | {m.display} | {standard(m)} | "
            f"{'similar' if m.larger_is_similar else 'distant'} | {'yes' if m.metric else 'no'}"
            f" | {invariances(m)} | {m.route} | {domain(m)} | {m.reference} |")
    return "\n".join(lines)
