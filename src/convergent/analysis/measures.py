"""The measure registry: one entry per similarity measure, the one place that says what a
measure's name means, how it is shown, which way is "more alike", what it is invariant to, and
where it is defined.

Tables, figures, findings and docs read names and directions from here; the formulas live in
:mod:`convergent.analysis.similarity` (scatter route), :mod:`convergent.analysis.subsample`
(Gram/RDM route) and :mod:`convergent.analysis.matching` (unit matching).

Domain rules (a measure outside its domain is NaN with the reason :func:`undefined` gives,
never a number):

* **Whitening measures** (the CCA family and linear regression invert a within-network scatter
  matrix) need clearly more samples than features: ``n ≥ 2 (r_x + r_y)``, r = each side's
  numerical rank (after the SVD step for SVCCA).  With ``r_x + r_y > n`` at least
  ``r_x + r_y − n`` canonical correlations are exactly 1 whatever the data, and well before
  that sampling noise drives them towards 1 (Wachter's law), so the value would describe the
  sample size, not the networks.
* **Basis measures** (PWCCA, unit matching) are tied to the units themselves: they are
  undefined on principal-component scores (``reduce_features``, used when a flattened layer
  has more features than samples).
"""

from __future__ import annotations

from dataclasses import dataclass

#: invariances a measure can declare (every measure centres its inputs: translations are free)
INVARIANCES = ("permutation", "orthogonal", "isotropic_scaling", "invertible_linear")
#: how a measure is computed: from the scatter sums of all samples, from n × n Gram/RDM matrices
#: of a probe subsample, or by matching units through their correlations
ROUTES = ("scatter", "gram", "matching")
#: the least samples per feature of a whitening measure: n ≥ WHITENING_SAMPLES × (r_x + r_y)
WHITENING_SAMPLES = 2

_PERM, _ORTH, _ISO, _LIN = INVARIANCES
_ROTATIONS = frozenset({_PERM, _ORTH, _ISO})


class UndefinedMeasureWarning(UserWarning):
    """A measure was asked for outside its domain: its value is NaN, the message says why."""


@dataclass(frozen=True)
class Measure:
    """One similarity measure: its stable ``name`` (the tables' ``measure`` column), how
    sentences and figures show it, and its properties.

    ``scale`` is the value range a figure's colour scale uses for every panel of the measure
    (None: the data's own range, for unbounded measures such as HSIC)."""

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

    @property
    def is_distance(self) -> bool:
        return not self.larger_is_similar


_ENTRIES = (
    Measure("linear_cka", "linear CKA", True, _ROTATIONS, "scatter",
            reference="Kornblith et al. 2019"),
    Measure("linear_hsic", "linear HSIC", True, frozenset({_PERM, _ORTH}), "scatter",
            scale=None, reference="Gretton et al. 2005"),
    Measure("cca_rho", "mean CCA ρ", True, frozenset(INVARIANCES), "scatter", whitens=True,
            reference="Hotelling 1936; Kornblith et al. 2019"),
    Measure("cca_r2", "R²_CCA", True, frozenset(INVARIANCES), "scatter", whitens=True,
            reference="Kornblith et al. 2019"),
    Measure("svcca_rho", "SVCCA mean ρ", True, _ROTATIONS, "scatter", whitens=True,
            reference="Raghu et al. 2017"),
    Measure("svcca_r2", "SVCCA R²", True, _ROTATIONS, "scatter", whitens=True,
            reference="Raghu et al. 2017"),
    Measure("pwcca", "PWCCA", True, frozenset({_PERM, _ISO}), "scatter", whitens=True,
            basis=True, reference="Morcos et al. 2018"),
    Measure("procrustes", "Procrustes distance", False, _ROTATIONS, "scatter",
            scale=(0.0, 2.0), reference="Ding et al. 2021"),
    Measure("angular_shape", "angular shape distance", False, _ROTATIONS, "scatter",
            metric=True, scale=(0.0, 1.5707963267948966), reference="Williams et al. 2021"),
    Measure("regression_r2", "regression R² (both ways)", True, _ROTATIONS, "scatter",
            whitens=True, reference="Kornblith et al. 2019"),
    Measure("regression_r2_ab", "regression R² (A→B)", True, _ROTATIONS, "scatter",
            whitens=True, reference="Kornblith et al. 2019"),
    Measure("regression_r2_ba", "regression R² (B→A)", True, _ROTATIONS, "scatter",
            whitens=True, reference="Kornblith et al. 2019"),
    Measure("rbf_cka", "RBF CKA", True, _ROTATIONS, "gram", reference="Kornblith et al. 2019"),
    Measure("linear_cka_debiased", "debiased linear CKA", True, _ROTATIONS, "gram",
            reference="Kornblith et al. 2019 (Székely–Rizzo U-centring)"),
    Measure("rsa_spearman", "RSA Spearman", True, frozenset({_PERM, _ISO}), "gram",
            scale=(-1.0, 1.0), reference="Kriegeskorte et al. 2008"),
    Measure("rsa_kendall_tau_a", "RSA Kendall τa", True, frozenset({_PERM, _ISO}), "gram",
            scale=(-1.0, 1.0), reference="Nili et al. 2014"),
    Measure("semi_matched_correlation", "semi-matched r (live units)", True, frozenset({_PERM}),
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016"),
    Measure("matched_correlation", "one-to-one matched r (live units)", True,
            frozenset({_PERM}),
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016"),
    Measure("semi_matched_correlation_all", "semi-matched r (dead units as 0)", True,
            frozenset({_PERM}), "matching", basis=True, scale=(-1.0, 1.0),
            reference="Li et al. 2016"),
    Measure("matched_correlation_all", "one-to-one matched r (dead units as 0)", True,
            frozenset({_PERM}), "matching", basis=True, scale=(-1.0, 1.0),
            reference="Li et al. 2016"),
    Measure("mean_activation_rank", "matched units' activity rank ρ", True, frozenset({_PERM}),
            "matching", basis=True, scale=(-1.0, 1.0), reference="Li et al. 2016, Fig. 4"),
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


def undefined(name: str, n: float, rank_x: int, rank_y: int, reduced: bool = False) -> str:
    """Why ``name`` is undefined for n samples of features of numerical ranks ``rank_x`` and
    ``rank_y`` (``reduced``: principal-component scores stand in for the units), or "" where
    it is defined."""
    m = measure(name)
    if m.basis and reduced:
        return ("tied to the units, which were replaced by principal components (more "
                "features than samples)")
    if m.whitens and n < WHITENING_SAMPLES * (rank_x + rank_y):
        return (f"n = {n:g} samples < {WHITENING_SAMPLES} × (rank {rank_x} + rank {rank_y}): "
                "canonical correlations are driven to 1 by the sample size")
    return ""
