"""Similarity figures, all drawn from results/tables/similarity_per_pair.csv (and the
layer-identification table): per-layer similarity with bootstrap CIs and nulls, layer × layer
heatmaps, layer identification beside Kornblith et al. 2019, sources of divergence, and same- vs
cross-architecture similarity by relative depth."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from convergent.analysis.measures import MEASURES, display
from convergent.figures import (
    COLUMNS,
    ONE_ARCHITECTURE,
    PALETTE,
    SEQUENTIAL,
    arch_colors,
    footnote,
    legend_below,
    pair_floors,
    plot_floors,
    plural,
    save,
    suptitle,
)

BY_LAYER = ["matched_correlation", "linear_cka", "rbf_cka", "linear_cka_debiased", "cca_rho",
            "svcca_rho", "pwcca", "procrustes", "shape_metric", "regression_r2", "rsa_spearman",
            "mutual_knn"]
HEATMAP = ["linear_cka", "rbf_cka", "linear_cka_debiased", "cca_rho", "svcca_r2", "pwcca",
           "regression_r2", "procrustes", "shape_metric", "rsa_spearman", "mutual_knn", "cknna"]
#: how an undefined cell (a measure outside its domain) is drawn: grey, hatched
UNDEFINED = {"facecolor": "0.92", "hatch": "////", "edgecolor": "0.6", "linewidth": 0}


def label(measure: str) -> str:
    """A panel's name for a measure: the registry's, "(lower = similar)" for distances."""
    return display(measure) + (" (lower = similar)" if measure in MEASURES
                               and MEASURES[measure].is_distance else "")


def hatch_undefined(ax: plt.Axes, defined: np.ndarray) -> None:
    """Hatch the layers (x = 0, 1, ...) where the measure is undefined (``defined`` False),
    saying so: a gap in a line is otherwise read as a missing run.  Call it after the value
    axis is set."""
    for x in np.flatnonzero(~np.asarray(defined, dtype=bool)):
        ax.axvspan(x - 0.4, x + 0.4, zorder=0, **UNDEFINED)
        ax.text(x, np.mean(ax.get_ylim()), "undefined", rotation=90, ha="center", va="center",
                fontsize=7, color="0.3")


def measure_axis(ax: plt.Axes, measure: str, values: np.ndarray) -> None:
    """A panel's value axis on the measure's registry scale, the same in every figure and
    study (a signed measure from 0 unless a value is below it); an unbounded measure (linear
    HSIC) on the values' own range.  The axis is named by what larger values mean."""
    entry = MEASURES.get(measure)
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if entry is not None and entry.scale is not None:
        lo, hi = entry.scale
        if lo < 0:  # correlations: negative values are rare; the room below 0 only if used
            lo = min(0.0, float(values.min())) if len(values) else 0.0
        pad = 0.03 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_ylabel("distance (lower = similar)" if entry is not None and entry.is_distance
                  else "similarity")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-pair", required=True, help="tables/similarity_per_pair.csv")
    parser.add_argument("--layer-identification", required=True,
                        help="tables/layer_identification.csv")


def _yerr(d: pd.DataFrame) -> np.ndarray:
    """Error-bar lengths from CI bounds; a percentile CI can exclude the estimate (skewed
    resampling distribution), so lengths are clipped at 0 rather than drawn negative."""
    lo = (d["value"] - d["ci_low"]).to_numpy(dtype=float)
    hi = (d["ci_high"] - d["value"]).to_numpy(dtype=float)
    return np.clip(np.nan_to_num(np.vstack([lo, hi])), 0, None)


def _per_layer(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["analysis"] == "per_layer"]


def _layer_axis(ax: plt.Axes, layers: list[str]) -> None:
    ax.set_xticks(range(len(layers)), layers, rotation=45)
    ax.set_xlim(-0.5, len(layers) - 0.5)


def _ordered_layers(df: pd.DataFrame) -> list[str]:
    return df.drop_duplicates("layer_a").sort_values("depth_a")["layer_a"].tolist()


def by_layer(args: argparse.Namespace) -> None:
    df = _per_layer(pd.read_csv(args.per_pair))
    measures = [m for m in BY_LAYER if m in set(df["measure"])]
    cols = COLUMNS
    rows = int(np.ceil(len(measures) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.9 * rows), squeeze=False,
                             constrained_layout=True)
    archs = list(dict.fromkeys(df.loc[df["comparison"] == "within", "arch_a"]))
    colors = arch_colors(archs)
    reasons = {}
    for ax, measure in zip(axes.flat, measures, strict=False):
        d = df[df["measure"] == measure]
        layers = _ordered_layers(d)
        x = np.arange(len(layers))
        for k, arch in enumerate(archs):
            color = colors[arch]
            # replicate pairs (same seeds) belong to the sources figure, not to the seed spread
            w = d[(d["comparison"] == "within") & (d["arch_a"] == arch)
                  & (d["source"] != "replicate")]
            pair = w[w["kind"] == "pair"]
            for j, (_, g) in enumerate(pair.groupby(["model_a", "model_b"], sort=False)):
                g = g.set_index("layer_a").reindex(layers)
                off = (j - 2) * 0.04 + 0.12 * k
                ax.errorbar(x + off, g["value"], yerr=_yerr(g), fmt="o", ms=2, lw=0.8,
                            color=color, alpha=0.5)
            mean = pair.groupby("layer_a")["value"].mean().reindex(layers)
            ax.plot(x, mean, "-", color=color, lw=1.8, label=f"{arch}: pairs (95% CI)")
            plot_floors(ax, x, pair_floors(d, arch, arch, layers), color, arch)
        _layer_axis(ax, layers)
        conv = ", ".join(sorted(set(d.loc[(d["kind"] == "pair")
                                          & (d["comparison"] == "within"), "convention"])))
        ax.set_title(f"{label(measure)}\n[{conv}]", fontsize=8)
        measure_axis(ax, measure, d[["value", "ci_low", "ci_high"]].to_numpy())
        pairs = d[(d["comparison"] == "within") & (d["kind"] == "pair")]
        defined = pairs.groupby("layer_a")["value"].count().reindex(layers, fill_value=0)
        hatch_undefined(ax, defined.to_numpy() > 0)
        if (defined == 0).any() and (why := _reason(pairs[pairs["value"].isna()])):
            reasons[display(measure)] = why
    for ax in list(axes.flat)[len(measures):]:
        ax.axis("off")
    legend_below(fig, axes.flat[0], ncol=3, note=undefined_note(reasons))
    suptitle(fig, "Similarity of corresponding layers across seeds (dots: pairs with bootstrap "
             "95% CIs; lines: means)")
    save(fig, args.out)


def _mean_matrix(d: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    la = d.drop_duplicates("layer_a").sort_values("depth_a")["layer_a"].tolist()
    lb = d.drop_duplicates("layer_b").sort_values("depth_b")["layer_b"].tolist()
    m = d.pivot_table(index="layer_a", columns="layer_b", values="value", aggfunc="mean")
    return la, lb, m.reindex(index=la, columns=lb).to_numpy()


def _reason(g: pd.DataFrame) -> str:
    """The most common reason the rows give for a measure being undefined ("" if none)."""
    if "undefined" not in g:
        return ""
    why = g["undefined"].dropna().astype(str)
    why = why[why != ""]
    return why.value_counts().index[0] if len(why) else ""


def undefined_note(reasons: dict[str, str]) -> str:
    """The note under a figure with hatched (undefined) cells: each reason once, after the
    measures ({display name: reason}) it holds for."""
    by_reason = {}
    for name, why in reasons.items():
        by_reason.setdefault(why, []).append(name)
    if not by_reason:
        return ""
    return "Hatched: the measure is undefined there — " + "; ".join(
        f"{', '.join(names)}: {why}" for why, names in by_reason.items())


def heatmaps(args: argparse.Namespace) -> None:
    """Layer × layer means over pairs, one panel per measure (at most three a row, a group of
    rows per architecture pair); every measure on its registry scale, the same in every panel
    and study; cells where a measure is undefined hatched, with the reason under the figure."""
    df = pd.read_csv(args.per_pair)
    d = df[(df["analysis"] == "layer_by_layer") & (df["kind"] == "pair")
           & (df["comparison"] != "untrained")]
    groups = list(d.groupby(["arch_a", "arch_b"], sort=False))
    measures = [m for m in HEATMAP if m in set(d["measure"])]
    rows_per_group = int(np.ceil(len(measures) / COLUMNS))
    fig, axes = plt.subplots(rows_per_group * len(groups), COLUMNS, squeeze=False,
                             figsize=(3.3 * COLUMNS, 2.9 * rows_per_group * len(groups) + 0.8),
                             constrained_layout=True)
    reasons = {}
    for r, ((arch_a, arch_b), g) in enumerate(groups):
        npairs = g.groupby(["model_a", "model_b"]).ngroups
        for c, measure in enumerate(measures):
            ax = axes[r * rows_per_group + c // COLUMNS, c % COLUMNS]
            rows = g[g["measure"] == measure]
            la, lb, m = _mean_matrix(rows)
            entry = MEASURES[measure]
            # distances reversed, so that similar is the same end of the map for every measure
            cmap = f"{SEQUENTIAL}_r" if entry.is_distance else SEQUENTIAL
            lo, hi = entry.scale or (np.nanmin(m), np.nanmax(m))
            ax.add_patch(plt.Rectangle((-0.5, -0.5), len(lb), len(la), zorder=0, **UNDEFINED))
            im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, aspect="auto", vmin=lo,
                           vmax=hi, zorder=1)
            ax.set_xticks(range(len(lb)), lb, rotation=90, fontsize=7)
            ax.set_yticks(range(len(la)), la, fontsize=7)
            ax.set_xlabel(f"{arch_b} layer", fontsize=7)
            ax.set_ylabel(f"{arch_a} layer", fontsize=7)
            ax.set_title(f"{label(measure)}\n({plural(npairs, 'pair')})", fontsize=7)
            if not np.isfinite(m).all() and (why := _reason(rows)):
                reasons[display(measure)] = why
            if not np.isfinite(m).any():
                ax.text(0.5, 0.5, "undefined\nat every\nlayer pair", transform=ax.transAxes,
                        ha="center", va="center", fontsize=8,
                        bbox={"facecolor": "white", "edgecolor": "0.6"})
            bar = fig.colorbar(im, ax=ax, shrink=0.8)
            bar.ax.tick_params(labelsize=7)
        for ax in axes[r * rows_per_group:(r + 1) * rows_per_group].flat[len(measures):]:
            ax.axis("off")
    conv = ", ".join(sorted(set(d["convention"])))
    suptitle(fig, f"Layer × layer similarity, mean over pairs (per-image features: {conv}); "
             "each measure on its own fixed scale")
    if reasons:
        footnote(fig, undefined_note(reasons))
    save(fig, args.out)


def layer_identification(args: argparse.Namespace) -> None:
    """Per measure: the share of layers whose most similar layer is the corresponding one,
    over the layers where it is defined (how many beside each bar), against chance (1/L) and
    Kornblith et al.'s Table 2 where it applies."""
    t = pd.read_csv(args.layer_identification)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * t["measure"].nunique() + 1.8),
                           constrained_layout=True)
    measures = list(dict.fromkeys(t.sort_values("accuracy_pct", na_position="first")["measure"]))
    y = np.arange(len(measures))
    archs = list(dict.fromkeys(t["architecture"]))
    colors = arch_colors(archs)
    h = 0.8 / max(len(archs), 1)
    for k, arch in enumerate(archs):
        s = t[t["architecture"] == arch].set_index("measure").reindex(measures)
        ax.barh(y + k * h, s["accuracy_pct"].fillna(0), height=h, color=colors[arch],
                label=f"ours: {arch} ({plural(int(s['pairs'].max()), 'pair')})")
        for yy, v, n, total in zip(y + k * h, s["accuracy_pct"], s["defined_layers"],
                                   s["layers"], strict=True):
            text = (f"{v:.0f} % of {n:g}/{total:g} layers" if np.isfinite(v)
                    else "undefined at every layer")
            # on white: the chance line runs through the labels of undefined measures
            ax.text((v if np.isfinite(v) else 0) + 1, yy, text, va="center", fontsize=6,
                    color=colors[arch], zorder=3,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3})
    chance = float(t["chance_pct"].iloc[0]) if len(t) else np.nan
    ax.axvline(chance, color="0.4", ls=":", lw=1, label=f"chance (1/L = {chance:.0f} %)")
    ref = t.drop_duplicates("measure").set_index("measure").reindex(measures)["kornblith2019_pct"]
    if ref.notna().any():
        ax.plot(ref, y + 0.4 - h / 2, "k*", ms=8, label="Kornblith et al. 2019 (Tiny-10, CIFAR-10)")
    ax.set_yticks(y + 0.4 - h / 2, [display(m) for m in measures], fontsize=8)
    ax.set(xlabel="layers identified correctly (%), of the layers where the measure is defined",
           xlim=(0, 118),
           title="Layer identification: is the most similar layer the corresponding one?")
    legend_below(fig, ax, ncol=len(archs) + 2)
    save(fig, args.out)


#: why a source of divergence has no pairs: which model entries of the config would give it
MISSING_SOURCE = {
    "replicate": "replicate: no rerun of the same seeds (an entry with replicate: 1)",
    "perturb": "perturb: no one-bit perturbation control (an entry with perturb: 1)",
    "data": "data: no two models with one init_seed and different data_seeds",
    "init": "init: no two models with one data_seed and different init_seeds",
    "init+data": "init+data: no two models that differ in both seeds",
}
#: a source's colour, the same in every study: the usual one (seeds differ) first
SOURCE_ORDER = ["init+data", "init", "data", "replicate", "perturb"]
#: why a panel of the sources figure is empty: no two trained models of known seeds
NO_SOURCE = ("no pairs of known seeds to tell apart:\nthe models are checkpoints or "
             "activations\nfrom elsewhere, or trained under\ndifferent conditions")


def sources(args: argparse.Namespace) -> None:
    """Per measure: the mean over pairs of each source of divergence by layer beside the
    floors, and under the figure, in words, which sources the study has no pairs of and what
    would give them."""
    df = _per_layer(pd.read_csv(args.per_pair))
    within = df[(df["comparison"] == "within") & (df["kind"] == "pair")]
    arch = within["arch_a"].iloc[0] if len(within) else ""
    within = within[within["arch_a"] == arch]
    measures = [m for m in ("matched_correlation", "linear_cka", "rbf_cka") if m in
                set(within["measure"])] or ["linear_cka"]
    present = [s for s in MISSING_SOURCE if s in set(within["source"])]
    fig, axes = plt.subplots(1, len(measures), figsize=(3.3 * len(measures), 3.6),
                             squeeze=False, constrained_layout=True)
    for ax, measure in zip(axes[0], measures, strict=True):
        d = within[within["measure"] == measure]
        layers = _ordered_layers(d)
        x = np.arange(len(layers))
        for k, src in enumerate(present):
            g = d[d["source"] == src]
            npairs = g.groupby(["model_a", "model_b"]).ngroups
            agg = g.groupby("layer_a")[["value", "ci_low", "ci_high"]].mean().reindex(layers)
            off = (k - (len(present) - 1) / 2) * 0.15
            ax.errorbar(x + off, agg["value"], yerr=_yerr(agg), fmt="o-", ms=3, capsize=2,
                        lw=1.2, color=PALETTE[SOURCE_ORDER.index(src)],
                        label=f"differ in {src} ({plural(npairs, 'pair')})")
        plot_floors(ax, x, pair_floors(df[df["measure"] == measure], arch, arch, layers),
                    ONE_ARCHITECTURE, arch)
        _layer_axis(ax, layers)
        measure_axis(ax, measure, d[["value", "ci_low", "ci_high"]].to_numpy())
        ax.set_title(f"{label(measure)} [{', '.join(sorted(set(d['convention'])))}]"
                     if len(d) else label(measure), fontsize=8)
        if not present:
            ax.text(0.5, 0.5, NO_SOURCE, transform=ax.transAxes, ha="center", va="center",
                    fontsize=7, bbox={"facecolor": "white", "edgecolor": "0.6"})
    missing = [why for src, why in MISSING_SOURCE.items() if src not in present]
    if present:
        legend_below(fig, axes[0, 0], ncol=4,
                     note="Not in this study: " + "; ".join(missing) + "." if missing else "")
    suptitle(fig, f"Sources of divergence ({arch or 'no architecture'}): mean over pairs, "
             "error bars = mean bootstrap 95% CI")
    save(fig, args.out)


def architectures(args: argparse.Namespace) -> None:
    df = _per_layer(pd.read_csv(args.per_pair))
    d = df[(df["kind"] == "pair") & (df["comparison"].isin(["within", "cross"]))]
    measures = [m for m in ("linear_cka", "rbf_cka", "rsa_spearman") if m in set(d["measure"])]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.3 * len(measures), 3.8), squeeze=False,
                             constrained_layout=True)
    for ax, measure in zip(axes[0], measures, strict=True):
        m = d[d["measure"] == measure]
        for k, ((cmp, a, b), g) in enumerate(m.groupby(["comparison", "arch_a", "arch_b"],
                                                       sort=False)):
            agg = g.groupby("depth_a")[["value", "ci_low", "ci_high"]].mean()
            npairs = g.groupby(["model_a", "model_b"]).ngroups
            style = "o-" if cmp == "within" else "s--"
            ax.plot(agg.index, agg["value"], style, color=f"C{k}", ms=4,
                    label=f"{a} vs {b} ({plural(npairs, 'pair')})")
            ax.fill_between(agg.index, agg["ci_low"], agg["ci_high"], color=f"C{k}", alpha=0.2)
            floors = pair_floors(df[df["measure"] == measure], a, b, agg.index, by="depth_a")
            plot_floors(ax, agg.index.to_numpy(), floors, f"C{k}", f"{a} vs {b}")
        ax.set(xlabel="relative depth of the layer (0 = first read-out, 1 = last)",
               ylabel=label(measure), title=label(measure))
    legend_below(fig, axes[0, 0], ncol=4)
    suptitle(fig, "Same- vs cross-architecture similarity by depth (bands: mean bootstrap 95% "
             "CI), beside the floors")
    save(fig, args.out)


FIGURES = {
    "similarity-by-layer": by_layer,
    "similarity-heatmaps": heatmaps,
    "similarity-layer-identification": layer_identification,
    "similarity-sources": sources,
    "similarity-architectures": architectures,
}
