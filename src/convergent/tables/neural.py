"""Neural predictivity tables (docs/neural.md): per model, area and layer the ceiling-normalised
predictivity; per area each seed's best layer and how often the seeds agree; per area and layer
the spread across seeds and the between-seed consistency of per-site predictions; and the
findings' sentences.

Models are ``seed`` models (the study's networks) or the ``held_out`` network of the demo
(whose layers the planted data read out: a check, never counted among the seeds).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from convergent.analysis import predictivity as pr
from convergent.analysis.statistics import t_interval
from convergent.io.layouts import PredictivityFile
from convergent.tables.finding import ci_text, finding

SEED, HELD_OUT = "seed", "held_out"


def _role(model_id: str, held_out: str | None) -> str:
    return HELD_OUT if model_id == held_out else SEED


def per_site(paths: Sequence[str | os.PathLike], layers: Sequence[str],
             held_out: str | None = None) -> pd.DataFrame:
    """One row per model, layer and site: ev (r²), r, ceiling, normalised."""
    frames = []
    for path in paths:
        f = PredictivityFile(path)
        model_id = str(f.attrs["model"])
        sites = f.sites()
        for layer in layers:
            p = f.layer(layer)
            frames.append(pd.DataFrame({
                "architecture": f.attrs["architecture"], "model": model_id.split("/")[-1],
                "role": _role(model_id, held_out), "area": sites["area"], "site": sites["name"],
                "layer": layer, "ev": p.ev, "r": p.r, "ceiling": sites["ceiling"],
                "normalised": p.normalised,
            }))
    return pd.concat(frames, ignore_index=True)


def by_layer(sites: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    """Per model, area and layer: the medians over sites of normalised predictivity (the area's
    predictivity), explained variance and ceiling; the sites counted; whether the layer is the
    model's best for the area."""
    keys = ["architecture", "model", "role", "area", "layer"]
    g = sites.groupby(keys, sort=False)
    out = g.agg(
        predictivity=("normalised", pr.area_summary),
        ev=("ev", "median"),
        ceiling=("ceiling", "median"),
        sites=("normalised", lambda v: int(np.isfinite(v).sum())),
    ).reset_index()
    order = {layer: k for k, layer in enumerate(layers)}
    out = out.assign(_k=out["layer"].map(order)).sort_values(
        ["architecture", "role", "area", "model", "_k"], kind="stable").drop(columns="_k")
    best = out.groupby(["architecture", "model", "area"])["predictivity"].transform("max")
    out["best"] = out["predictivity"] == best
    return out.reset_index(drop=True)


def best_layer(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per architecture and area: the layer most seeds find best, in how many of them, the
    seeds' predictivity at that layer (mean, sd, t interval at ``level``), every seed's best
    layer, and the held-out network's best layer (demo data)."""
    rows = []
    for (arch, area), g in table.groupby(["architecture", "area"], sort=False):
        seeds = g[g["role"] == SEED]
        best = seeds[seeds["best"]].drop_duplicates(["model"])
        counts = best["layer"].value_counts()
        layers = list(dict.fromkeys(g["layer"]))
        # ties in the count: the shallower layer
        modal = min(counts[counts == counts.max()].index, key=layers.index) if len(counts) \
            else None
        at = seeds[seeds["layer"] == modal]["predictivity"].to_numpy()
        lo, hi = t_interval(at, level)
        held = g[(g["role"] == HELD_OUT) & g["best"]]
        rows.append({
            "architecture": arch, "area": area, "best_layer": modal,
            "agree": int(counts.max()) if len(counts) else 0,
            "seeds": int(seeds["model"].nunique()),
            "mean": float(np.mean(at)) if len(at) else np.nan,
            "sd": float(np.std(at, ddof=1)) if len(at) > 1 else np.nan,
            "ci_low": lo, "ci_high": hi,
            "per_seed": "; ".join(f"{m}: {layer}" for m, layer in zip(best["model"],
                                                                     best["layer"], strict=True)),
            "held_out_best": held["layer"].iloc[0] if len(held) else None,
            "held_out_value": float(held["predictivity"].iloc[0]) if len(held) else np.nan,
        })
    return pd.DataFrame(rows)


def consistency(paths: Sequence[str | os.PathLike], table: pd.DataFrame,
                sites: pd.DataFrame, layers: Sequence[str],
                held_out: str | None = None) -> pd.DataFrame:
    """Per architecture, area and layer, over the seeds: the area predictivity's mean, sd, min
    and max; over pairs of seeds, the mean of the median per-site correlation of their held-out
    predictions (``prediction_r``) and the mean Spearman ρ of their per-site normalised
    predictivity across sites (``site_rank_rho``: do the same sites come out well?)."""
    preds: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    area_of: dict[str, np.ndarray] = {}
    for path in paths:
        f = PredictivityFile(path)
        model_id = str(f.attrs["model"])
        if _role(model_id, held_out) != SEED:
            continue
        arch = str(f.attrs["architecture"])
        area_of[arch] = f.sites()["area"]
        for layer in layers:
            preds.setdefault((arch, layer), {})[model_id.split("/")[-1]] = f.layer(layer).prediction
    seeds = table[table["role"] == SEED]
    site_seeds = sites[sites["role"] == SEED]
    rows = []
    for (arch, area, layer), g in seeds.groupby(["architecture", "area", "layer"], sort=False):
        v = g["predictivity"].to_numpy()
        models = list(g["model"])
        cols = area_of[arch] == area
        per_model = preds[(arch, layer)]
        s = site_seeds[(site_seeds["architecture"] == arch) & (site_seeds["area"] == area)
                       & (site_seeds["layer"] == layer)].pivot(index="site", columns="model",
                                                               values="normalised")
        pred_r, rank_rho = [], []
        for a, b in itertools.combinations(models, 2):
            pred_r.append(pr.prediction_consistency(per_model[a][:, cols], per_model[b][:, cols]))
            ok = s[[a, b]].dropna()
            rank_rho.append(stats.spearmanr(ok[a], ok[b])[0] if len(ok) > 2 else np.nan)
        rows.append({
            "architecture": arch, "area": area, "layer": layer, "seeds": len(models),
            "mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else np.nan,
            "min": float(np.min(v)), "max": float(np.max(v)),
            "prediction_r": float(np.nanmean(pred_r)) if pred_r else np.nan,
            "site_rank_rho": float(np.nanmean(rank_rho)) if rank_rho else np.nan,
        })
    return pd.DataFrame(rows)


def neural_rows(by_layer_table: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """The findings (section "neural"): per architecture and area, the layer most seeds find
    best, in how many seeds, and the seeds' ceiling-normalised predictivity there (mean ± sd,
    t interval over seeds); the held-out network's best layer when the data are planted."""
    rows = []
    for r in best_layer(by_layer_table, level).itertuples():
        if r.best_layer is None:
            continue
        spread = f" ± {r.sd:.2f}" if np.isfinite(r.sd) else ""
        text = (f"{r.area} is best predicted by {r.best_layer} in {r.agree} of {r.seeds} seeds, "
                f"{r.mean:.2f}{spread} of ceiling {ci_text(r.ci_low, r.ci_high)}")
        if r.agree < r.seeds:
            text += f" (seeds' best layers: {r.per_seed})"
        if r.held_out_best is not None:
            text += (f"; planted data: the held-out network's {r.held_out_best} reaches "
                     f"{r.held_out_value:.2f}")
        rows.append(finding("neural", text + ".", architecture=r.architecture,
                         layer=r.best_layer, measure=f"{r.area} predictivity (of ceiling)",
                         value=r.mean, ci_low=r.ci_low, ci_high=r.ci_high, interval="t"))
        rows.append(finding("neural", f"{r.area}: {r.agree} of {r.seeds} seeds agree on its best "
                         f"layer ({r.best_layer}).", headline=False,
                         architecture=r.architecture, layer=r.best_layer,
                         measure=f"{r.area} best-layer agreement (seeds)", value=float(r.agree),
                         interval="-"))
    return rows
