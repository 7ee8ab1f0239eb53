"""convergent: do networks that differ only in their random seed learn the same features?

The Python API (docs/api.md shows each function in a short example; the code is in
:mod:`convergent.api`): two models compared layer × layer over a loader in one exact pass, the
study's measures as functions of two (samples × units) arrays or tensors, a recorder of any
``torch.nn.Module``'s layers into the study's activation file, that file's reader, and a writer
of activations recorded elsewhere (JAX, TensorFlow, a brain) for the workflow::

    import convergent
    convergent.compare(model_a, model_b, loader, ["layer1", "layer2"]).plot()
    convergent.linear_cka(x, y)
    convergent.record(model, {"conv1": "features.0"}, loader, "out.h5")
    convergent.save_activations("jax_net.npz", {"block1": tokens}, stimuli=probe_indices)

Names are imported on first use, so ``import convergent`` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_ARRAYS = "convergent.api.arrays"
_MATCHING = "convergent.analysis.matching"
_ACTIVATIONS = "convergent.io.activations"
_API = "convergent.api"

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
    "compare": f"{_API}.compare",
    "Comparison": f"{_API}.result",
    "layer_matrix": f"{_API}.layers",
    "to_rsatoolbox": f"{_API}.adapters",
    "UndefinedMeasureWarning": "convergent.analysis.measures",
    "save_activations": "convergent.io.recorded",
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
