"""Summary tables aggregated over models and pairs (CSV, one row per layer or model)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import io, paper


def matching_rows(pair_files: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per (pair, layer): mean matched correlation by semi- and one-to-one matching."""
    rows = []
    for path in pair_files:
        attrs = io.read_attrs(path, "pair")
        semi = io.read_group(path, "pair", "semi_a2b")["value"]
        one = io.read_group(path, "pair", "one2one")["value"]
        rows.append(
            {
                "architecture": attrs["architecture"],
                "model_a": attrs["model_a"],
                "model_b": attrs["model_b"],
                "layer": attrs["layer"],
                "units": len(semi),
                "dead_a": int(attrs["dead_a"]),
                "dead_b": int(attrs["dead_b"]),
                "semi_mean": float(np.mean(semi)),
                "one_to_one_mean": float(np.nanmean(one)),
                "same_partner": float(attrs["same_partner_fraction"]),
            }
        )
    return pd.DataFrame(rows)


def matching_summary(per_pair: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    """Per layer: mean, sd, min and max over pairs, with Li et al.'s values beside ours."""
    g = per_pair.groupby(["architecture", "layer"], sort=False)
    out = g.agg(
        pairs=("semi_mean", "size"),
        units=("units", "first"),
        semi_mean=("semi_mean", "mean"),
        semi_sd=("semi_mean", "std"),
        semi_min=("semi_mean", "min"),
        semi_max=("semi_mean", "max"),
        one_to_one_mean=("one_to_one_mean", "mean"),
        one_to_one_sd=("one_to_one_mean", "std"),
        one_to_one_min=("one_to_one_mean", "min"),
        one_to_one_max=("one_to_one_mean", "max"),
        same_partner=("same_partner", "mean"),
    ).reset_index()
    out["paper_semi"] = out["layer"].map(paper.LI2016_SEMI_MATCHING)
    out["paper_one_to_one"] = out["layer"].map(paper.LI2016_ONE_TO_ONE)
    depth = out["layer"].map({layer: k for k, layer in enumerate(layers)})
    return out.assign(depth=depth).sort_values(["architecture", "depth"]).drop(columns="depth")


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
    df["test_acc_pct"] = 100 * df["test_acc"]
    spread = df.groupby("arch")["test_acc_pct"].agg(lambda s: s.max() - s.min())
    df["arch_spread_pp"] = df["arch"].map(spread)
    return df


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` atomically; floats in pandas' shortest round-trip repr (full float64)."""
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
