"""Which measure can you trust on these networks?  The tests of a measure on the study's own
networks (docs/validation.md), as pure functions:

* **Group separation** (ReSi, Klabunde et al. 2025): networks trained under different
  conditions (a known difference, e.g. partly random labels) must be less alike than networks
  that differ in their seeds only.  Scored as ReSi does: the area under the precision-recall
  curve of telling the within-condition pairs (positives) from the across-condition pairs by the
  similarity (average precision; chance = the share of positives) and the violation rate (the
  share of (within, across) pairs in which the across pair is at least as alike).  Tested by
  permuting the condition labels over the networks (all distinct labellings where they are few,
  else seeded random ones): p = the share of labellings whose AUPRC reaches the observed one.
* **Monotonicity** (Ding et al. 2021): a layer against itself with its top principal components
  deleted, and against copies with growing Gaussian noise, must grow less alike at every step;
  and the similarity should fall with a linear probe's accuracy (Spearman ρ over the steps).

Layer identification (Kornblith et al. 2019) is :func:`convergent.analysis.similarity.
layer_identification`; the verdicts over all tests are :mod:`convergent.tables.validation`'s.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: a similarity must fall by more than this at every step of a perturbation series
FALL_TOL = 1e-9


@dataclass(frozen=True)
class Separation:
    """One measure's group separation at one layer: AUPRC and its chance level, violation rate,
    the permutation test's p-value and the smallest p its labellings allow, the pair counts."""

    auprc: float
    chance: float
    violation_rate: float
    p_value: float
    min_p: float
    within: int
    across: int


def violation_rate(within: np.ndarray, across: np.ndarray) -> float:
    """The share of (within, across) pairs of pairs with the across pair at least as alike
    (ReSi's ``violation_rate``: ties count as violations)."""
    return float(np.mean(within[:, None] <= across[None, :]))


def auprc(within: np.ndarray, across: np.ndarray) -> float:
    """Average precision of finding the within-condition pairs by similarity (ReSi's AUPRC)."""
    from sklearn.metrics import average_precision_score

    truth = np.r_[np.ones(len(within)), np.zeros(len(across))]
    return float(average_precision_score(truth, np.r_[within, across]))


def _labellings(labels: Sequence[str], limit: int, seed: int) -> tuple[list[tuple], bool]:
    """Every distinct arrangement of ``labels`` over the networks if there are at most
    ``limit`` (exact: True), else ``limit`` seeded random ones."""
    counts = {g: labels.count(g) for g in dict.fromkeys(labels)}
    sizes = list(counts.values())
    total = math.prod(math.comb(sum(sizes[i:]), c) for i, c in enumerate(sizes))
    if total <= limit:
        out: list[tuple] = []
        n = len(labels)

        def place(rest: dict[str, int], slots: tuple[int, ...], assignment: dict[int, str]):
            if not rest:
                out.append(tuple(assignment[i] for i in range(n)))
                return
            group, count = next(iter(rest.items()))
            others = dict(itertools.islice(rest.items(), 1, None))
            for chosen in itertools.combinations(slots, count):
                left = tuple(s for s in slots if s not in chosen)
                place(others, left, {**assignment, **dict.fromkeys(chosen, group)})

        place(counts, tuple(range(n)), {})
        return out, True
    rng = np.random.default_rng(seed)
    return [tuple(rng.permutation(labels)) for _ in range(limit)], False


def group_separation(values: Mapping[tuple[str, str], float], condition: Mapping[str, str],
                     permutations: int, seed: int) -> Separation:
    """Group separation of one measure from its pairs' values (oriented: larger = more alike;
    NaN pairs left out), the networks' conditions and the permutation budget."""
    pairs = [p for p, v in values.items() if np.isfinite(v)]
    nan = Separation(np.nan, np.nan, np.nan, np.nan, np.nan, 0, 0)
    if not pairs:
        return nan
    v = np.array([values[p] for p in pairs])
    nets = sorted({n for p in pairs for n in p})
    index = {n: i for i, n in enumerate(nets)}
    ij = np.array([(index[a], index[b]) for a, b in pairs])

    def split(labels: Sequence[str]) -> np.ndarray:
        lab = np.asarray(labels)
        return lab[ij[:, 0]] == lab[ij[:, 1]]

    same = split([condition[n] for n in nets])
    if same.all() or not same.any():
        return Separation(np.nan, np.nan, np.nan, np.nan, np.nan, int(same.sum()),
                          int((~same).sum()))
    observed = auprc(v[same], v[~same])
    labellings, exact = _labellings([condition[n] for n in nets], permutations, seed)
    null = []
    for labels in labellings:
        s = split(labels)
        null.append(auprc(v[s], v[~s]) if s.any() and not s.all() else np.nan)
    null = np.array(null)
    reach = np.sum(null >= observed - 1e-12)
    # exact: the observed labelling is one of them; random: it is added (p never 0)
    p = reach / len(null) if exact else (1 + reach) / (1 + len(null))
    if exact:  # the smallest p: the labellings that split the pairs as the observed one does
        min_p = np.sum(np.array([np.array_equal(split(lab), same) for lab in labellings])
                       ) / len(null)
    else:
        min_p = 1 / (1 + len(null))
    return Separation(observed, float(same.mean()), violation_rate(v[same], v[~same]),
                      float(p), float(min_p), int(same.sum()), int((~same).sum()))


# ------------------------------------------------------------------ perturbations
def delete_components(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` with its top ``k`` principal components projected out (Ding et al. 2021)."""
    mean = x.mean(0)
    xc = x - mean
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    top = vt[:k]
    return xc - (xc @ top.T) @ top + mean


def add_noise(x: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` plus Gaussian noise of standard deviation ``level`` × the features' RMS standard
    deviation."""
    rms = np.sqrt(np.mean(x.var(0)))
    return x + level * rms * rng.standard_normal(x.shape)


def falls(values: Sequence[float]) -> bool:
    """Whether a series of (oriented) similarities falls strictly at every step; NaN: no."""
    v = np.asarray(values, dtype=float)
    return bool(np.isfinite(v).all() and np.all(np.diff(v) < -FALL_TOL))


def probe_accuracy(x: np.ndarray, labels: np.ndarray, folds: int) -> float:
    """Held-out accuracy of a linear probe: a ridge classifier (one-vs-all least squares,
    penalty 1 on features scaled to unit mean variance) in ``folds`` stratified folds, in
    order (deterministic)."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    xc = x - x.mean(0)
    scale = np.sqrt(np.mean(xc.var(0)))
    xs = xc / scale if scale > 0 else xc
    cv = StratifiedKFold(min(folds, int(np.bincount(labels).max())))
    with warnings.catch_warnings():  # a class with fewer images than folds: still scored
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return float(np.mean(cross_val_score(RidgeClassifier(alpha=1.0), xs, labels, cv=cv)))


@dataclass(frozen=True)
class Perturbations:
    """The perturbation series: top principal components deleted (counts, growing) and noise
    levels (growing), with the probe's folds and the noise seed."""

    deletions: tuple[int, ...]
    noise: tuple[float, ...]
    folds: int
    seed: int

    def series(self, x: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        """(family, level, perturbed copy) of ``x``: the identity first, then each deletion
        (fewer than the layer's rank) and each noise level."""
        rng = np.random.default_rng(self.seed)
        rank = np.linalg.matrix_rank(x - x.mean(0))
        out = [("none", 0.0, x)]
        out += [("pc_deletion", float(k), delete_components(x, k)) for k in self.deletions
                if k < rank]
        out += [("noise", float(level), add_noise(x, level, rng)) for level in self.noise]
        return out


def perturbation_rows(x: np.ndarray, labels: np.ndarray, p: Perturbations,
                      measures_of: Callable[[np.ndarray, np.ndarray],
                                            tuple[dict[str, float], dict[str, str]]]
                      ) -> list[dict]:
    """One row per perturbation and measure: family, level, measure, the similarity of ``x``
    and its perturbed copy (``measures_of(x, copy)``: values and undefined reasons) and the
    probe's accuracy on the copy."""
    rows = []
    for family, level, copy in p.series(x):
        values, why = measures_of(x, copy)
        accuracy = probe_accuracy(copy, labels, p.folds)
        rows += [{"family": family, "level": level, "measure": m, "value": v,
                  "probe_accuracy": accuracy, "undefined": why.get(m, "")}
                 for m, v in values.items()]
    return rows
