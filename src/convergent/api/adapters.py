"""The peers' formats, for code written against them: torch-cka's ``results`` dict from a
:class:`~convergent.api.result.Comparison`, and an rsatoolbox ``RDMs`` object from our RDMs.
Neither peer is a dependency: rsatoolbox is imported only when its object is asked for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from convergent.analysis.rsa import METRICS


def torch_cka_results(comparison: Any, measure: str = "linear_cka") -> dict[str, Any]:
    """What torch-cka's ``CKA.export()`` returns: ``model1_name``, ``model2_name``, ``CKA``
    (a layers-of-A × layers-of-B tensor, float64 here: our exact full-data values, where
    torch-cka averages a minibatch estimate), ``model1_layers``, ``model2_layers``,
    ``dataset1_name``, ``dataset2_name``; ``measure`` picks another matrix for ``CKA``."""
    import torch

    return {
        "model1_name": comparison.model_a,
        "model2_name": comparison.model_b,
        "CKA": torch.from_numpy(np.array(comparison[measure], dtype=np.float64)),
        "model1_layers": list(comparison.layers_a),
        "model2_layers": list(comparison.layers_b),
        "dataset1_name": comparison.datasets[0],
        "dataset2_name": comparison.datasets[1],
    }


def to_rsatoolbox(
    rdms: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    metric: str = "correlation",
    stimuli: Sequence[Any] | None = None,
) -> Any:
    """An ``rsatoolbox.rdm.RDMs`` holding our condensed RDMs (:func:`convergent.rdm`): one per
    layer or model, named by the keys of ``rdms`` (rdm descriptor ``name``); ``metric`` as
    given to :func:`convergent.rdm` ("correlation" or "euclidean": the same definitions as
    rsatoolbox's, so its comparisons give our numbers); ``stimuli``: a pattern descriptor
    ``index`` (default 0 … n − 1).  Needs ``pip install rsatoolbox``."""
    import importlib

    try:  # an optional peer, not a dependency of the package (tests install it)
        RDMs = importlib.import_module("rsatoolbox.rdm").RDMs  # noqa: N806
    except ImportError:
        raise ImportError("to_rsatoolbox needs rsatoolbox: pip install rsatoolbox") from None
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: our RDMs are {' or '.join(METRICS)}")
    items = list(rdms.items()) if isinstance(rdms, Mapping) else list(enumerate(rdms))
    vectors = [np.asarray(v, dtype=np.float64) for _, v in items]
    lengths = {v.shape for v in vectors}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1:
        raise ValueError(f"rdms: expected condensed RDMs of one length (convergent.rdm's), got "
                         f"shapes {sorted(lengths)}")
    m = len(vectors[0])
    n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise ValueError(f"rdms: {m} entries is no n·(n − 1)/2: not a condensed RDM")
    index = list(range(n)) if stimuli is None else list(stimuli)
    return RDMs(np.stack(vectors), dissimilarity_measure=metric,
                rdm_descriptors={"name": [str(k) for k, _ in items]},
                pattern_descriptors={"index": index})
