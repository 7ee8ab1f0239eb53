"""Tables: one module per table family (matching, accuracy, mutual_information,
sparse_prediction, clustering, similarity), each turning result files into CSV tables, with the
published numbers beside ours where there are any; the shared writers live here."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from convergent import io

#: the columns naming one layer of one pair in every per-pair table
PAIR_KEYS = ("architecture", "model_a", "model_b", "layer")


def by_layer(df: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    """Rows ordered by architecture, then by the layers' order in ``layers`` (input to output)."""
    depth = df["layer"].map({layer: k for k, layer in enumerate(layers)})
    return df.assign(_depth=depth).sort_values(["architecture", "_depth"]).drop(columns="_depth")


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Atomically, with floats that read back exactly (pandas' shortest round-trip repr)."""
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
