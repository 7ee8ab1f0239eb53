"""convergent: do networks that differ only in their random seed learn the same features?

The Python API (docs/api.md shows each function in a short example): the study's measures as
functions of two (samples × units) arrays, a recorder of any ``torch.nn.Module``'s layers into
the study's activation file, and that file's reader::

    import convergent
    convergent.linear_cka(x, y)
    convergent.record(model, {"conv1": "features.0"}, loader, "out.h5")

Names are imported on first use, so ``import convergent`` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_ARRAYS = "convergent.analysis.arrays"
_MATCHING = "convergent.analysis.matching"
_ACTIVATIONS = "convergent.io.activations"

#: public name -> module that defines it
_EXPORTS = {
    **dict.fromkeys(
        (
            "features",
            "correlation_matrix",
            "mutual_information_matrix",
            "sparse_prediction",
            "linear_cka",
            "debiased_cka",
            "rbf_cka",
            "canonical_correlations",
            "cca_rho",
            "cca_r2",
            "svcca",
            "pwcca",
            "procrustes",
            "angular_shape",
            "shape_metric",
            "regression_r2",
            "similarity_measures",
            "soft_correlation_match",
            "mutual_knn",
            "cknna",
            "measures",
            "rdm",
            "rsa",
            "bootstrap_ci",
        ),
        _ARRAYS,
    ),
    **dict.fromkeys(("semi_matching", "one_to_one_matching", "matchings"), _MATCHING),
    **dict.fromkeys(("record", "ActivationFile"), _ACTIVATIONS),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'convergent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
