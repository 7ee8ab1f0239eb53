"""The test accuracy of every model and its spread across the seeds of an architecture."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import pandas as pd

COLUMNS = ["model", "arch", "init_seed", "data_seed", "replicate", "perturb", "epochs",
           "test_acc", "test_loss", "device", "num_classes", "weights_sha256"]


def accuracy(summary_files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per model: its seeds, final test accuracy, chance level (100 / classes) and
    weights hash (equal for bit-identical networks), plus the spread per architecture (no rows
    in a study of activations recorded elsewhere only: no network to test)."""
    rows = [json.loads(open(p).read()) for p in summary_files]
    # summaries written before a field existed lack it: NaN / empty, not a failure
    df = pd.DataFrame(rows).reindex(columns=COLUMNS)
    # integers, empty for a network trained elsewhere (no seeds or epochs of ours), never floats
    counts = ["init_seed", "data_seed", "replicate", "perturb", "epochs"]
    df[counts] = df[counts].astype("Int64")
    df["test_acc_pct"] = 100 * df["test_acc"]
    df["chance_pct"] = 100 / df["num_classes"]
    spread = df.groupby("arch")["test_acc_pct"].agg(lambda s: s.max() - s.min())
    df["arch_spread_pp"] = df["arch"].map(spread)
    return df


def trained_on(table: pd.DataFrame) -> list[str]:
    """The processors the networks of an accuracy table were trained on (its ``device``s): CPU
    kernels round differently per instruction set and vendor, so a study reproduces to the bit
    only on the same kind."""
    return sorted(table["device"].dropna().astype(str).unique())
