"""The test accuracy of every model and its spread across the seeds of an architecture."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import pandas as pd


def accuracy(summary_files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per model: its seeds and final test accuracy, plus the spread per architecture."""
    rows = [json.loads(open(p).read()) for p in summary_files]
    df = pd.DataFrame(rows)[
        [
            "model",
            "arch",
            "init_seed",
            "data_seed",
            "replicate",
            "epochs",
            "test_acc",
            "test_loss",
            "device",
        ]
    ]
    # integers, empty for a network trained elsewhere (no seeds or epochs of ours), never floats
    counts = ["init_seed", "data_seed", "replicate", "epochs"]
    df[counts] = df[counts].astype("Int64")
    df["test_acc_pct"] = 100 * df["test_acc"]
    spread = df.groupby("arch")["test_acc_pct"].agg(lambda s: s.max() - s.min())
    df["arch_spread_pp"] = df["arch"].map(spread)
    return df
