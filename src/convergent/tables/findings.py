"""The study's findings: its answers with numbers and intervals, each beside the published value
where one exists.

One long table, ``findings.csv``: a row per number (section, architecture, layer, measure,
value, interval, the floors it should be read against, the published value) with a sentence
saying what it shows.  :mod:`convergent.tables.render` draws it as Markdown (``findings.md``, the
README's copy) and as HTML tables (the report's landing page).

Intervals: ``pairs+blocks`` resamples pairs of networks and, within each pair, its probe-block
bootstrap (``analysis.statistics.pairs_and_blocks``); ``pairs`` resamples pairs only (where no
per-pair interval exists); ``t`` is a Student-t interval over seeds (accuracies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from convergent import paper
from convergent.analysis.similarity import HIGHER_IS_MORE_SIMILAR
from convergent.analysis.statistics import (
    interval_sd,
    pairs_and_blocks,
    percentile_ci,
    slope,
    t_interval,
)
from convergent.study import condition_of
from convergent.tables.similarity import layer_identification_hits
from convergent.tables.sparse_prediction import published_at

COLUMNS = ("section", "architecture", "layer", "measure", "value", "ci_low", "ci_high",
           "interval", "untrained", "shuffled", "published", "published_source", "headline",
           "text")

#: section key -> title, in the order they are shown
SECTIONS = {
    "accuracy": "Accuracy",
    "convergence": "Convergence by depth",
    "sparse_prediction": "Sparse prediction (Li et al. 2016, Table 1)",
    "mean_activation": "Most and least active units",
    "layer_identification": "Layer identification (Kornblith et al. 2019, Table 2)",
    "claims": "The commentary's claims, tested (Dong, Wang & Hu 2018)",
    "neural": "Neural predictivity across seeds",
}

#: convergence measures -> how a sentence names the number
CONVERGENCE = {
    "semi_matched_correlation": "semi-matched r",
    "matched_correlation": "one-to-one matched r",
    "linear_cka": "linear CKA",
    "svcca_rho": "SVCCA mean ρ",
    "procrustes": "Procrustes distance",
}
LI2016 = "Li et al. 2016"
PUBLISHED_CONVERGENCE = {
    "semi_matched_correlation": paper.LI2016_SEMI_MATCHING,
    "matched_correlation": paper.LI2016_ONE_TO_ONE,
}


@dataclass(frozen=True)
class Resampling:
    """How intervals are drawn: bootstrap resamples, seed and level."""

    resamples: int = 2000
    seed: int = 0
    level: float = 0.95


def _row(section: str, text: str, headline: bool = True, **values) -> dict:
    """One finding; ``headline`` ones are findings.md's sentences (the others are in its
    tables, or in a headline's sentence)."""
    return {**dict.fromkeys(COLUMNS, np.nan), "section": section, "text": text,
            "headline": headline, **values}


def _ci(lo: float, hi: float, digits: int = 2) -> str:
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


# ------------------------------------------------------------------ accuracy
def accuracy_rows(acc: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """Per architecture (and training condition, where there are several): mean test top-1
    over seeds (t interval) and the spread across seeds."""
    rows = []
    lo_pub, hi_pub = paper.LI2016_TOP1
    label = [a if (c := condition_of(m)) is None else f"{a} ({c})"
             for a, m in zip(acc["arch"], acc["model"], strict=True)]
    for arch, g in acc.assign(label=label).groupby("label", sort=False):
        pct = g["test_acc_pct"].to_numpy()
        lo, hi = t_interval(pct, level)
        spread = float(pct.max() - pct.min())
        rows.append(_row(
            "accuracy",
            f"{arch}: test top-1 {pct.mean():.2f} % {_ci(lo, hi)} over {len(pct)} seeds "
            f"(range {pct.min():.2f}–{pct.max():.2f} %); Li et al.'s four ImageNet AlexNets "
            f"{lo_pub}–{hi_pub} %.",
            architecture=arch, measure="test_top1_pct", value=float(pct.mean()), ci_low=lo,
            ci_high=hi, interval="t", published=(lo_pub + hi_pub) / 2, published_source=LI2016,
        ))
        rows.append(_row(
            "accuracy",
            f"{arch}: the seeds' accuracies spread over {spread:.2f} percentage points "
            f"(Li et al.: {hi_pub - lo_pub:.2f}).",
            architecture=arch, measure="spread_pp", value=spread, interval="-",
            published=round(hi_pub - lo_pub, 2), published_source=LI2016,
        ))
    return rows


# ------------------------------------------------------------------ convergence by depth
def similarity_inputs(
    rows: pd.DataFrame, level: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """From the long similarity table: the trained pairs' per-layer values with the standard
    deviation of their block bootstrap (from its ``level`` interval), the untrained baseline
    and the shuffled null."""
    per_layer = rows[(rows["analysis"] == "per_layer") & rows["measure"].isin(CONVERGENCE)]
    within = per_layer[(per_layer["comparison"] == "within") & (per_layer["source"] != "replicate")]
    pairs = within[within["kind"] == "pair"].assign(
        architecture=lambda d: d["arch_a"], layer=lambda d: d["layer_a"],
        pair=lambda d: d["model_a"] + "__" + d["model_b"],
        sd=lambda d: interval_sd(d["ci_low"], d["ci_high"], level),
    )
    untrained = per_layer[(per_layer["comparison"] == "untrained") & (per_layer["kind"] == "pair")]
    return (pairs[["architecture", "pair", "layer", "measure", "value", "sd"]],
            _layer_means(untrained), _layer_means(within[within["kind"] == "shuffled"]))


def _layer_means(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean value per architecture, layer and measure (a floor: untrained or shuffled)."""
    return (rows.groupby(["arch_a", "layer_a", "measure"])["value"].mean()
            .rename_axis(["architecture", "layer", "measure"]).reset_index())


def matching_inputs(per_pair: pd.DataFrame) -> pd.DataFrame:
    """The matched correlations of the matching table (no per-pair interval: sd 0)."""
    long = per_pair.melt(
        id_vars=["architecture", "model_a", "model_b", "layer"],
        value_vars=["semi_mean", "one_to_one_mean"], var_name="measure",
    )
    long["measure"] = long["measure"].map(
        {"semi_mean": "semi_matched_correlation", "one_to_one_mean": "matched_correlation"}
    )
    long["pair"] = long["model_a"] + "__" + long["model_b"]
    return long.assign(sd=0.0)[["architecture", "pair", "layer", "measure", "value", "sd"]]


def _floor(floor: pd.DataFrame | None, arch: str, layer: str, measure: str) -> float:
    if floor is None or floor.empty:
        return np.nan
    hit = floor[(floor["architecture"] == arch) & (floor["layer"] == layer)
                & (floor["measure"] == measure)]
    return float(hit["value"].iloc[0]) if len(hit) else np.nan


def _layer_sentence(measure: str, layer: str, value: float, lo: float, hi: float,
                    published: float, untrained: float, shuffled: float) -> str:
    label = CONVERGENCE[measure]
    if measure == "semi_matched_correlation":
        text = f"{layer} units are semi-matched at r = {value:.2f} {_ci(lo, hi)}"
    elif measure == "matched_correlation":
        text = f"{layer} units are matched one to one at r = {value:.2f} {_ci(lo, hi)}"
    else:
        text = f"{layer}: {label} {value:.2f} {_ci(lo, hi)}"
    if np.isfinite(published):
        text += f"; Li et al. {published:.2f}"
    floors = [f"{name} {v:.2f}" for name, v in (("untrained network", untrained),
                                                ("shuffled images", shuffled)) if np.isfinite(v)]
    return text + (f" (floors: {', '.join(floors)})." if floors else ".")


def _slope_sentence(measure: str, first: str, last: str, value: float, lo: float,
                    hi: float) -> str:
    label = CONVERGENCE[measure]
    similar_up = HIGHER_IS_MORE_SIMILAR[measure]
    if lo > 0 or hi < 0:
        converging = (value > 0) == similar_up
        trend = "networks grow more alike" if converging else "networks grow less alike"
    else:
        trend = "no clear trend"
    return (f"{label} over depth ({first} → {last}): slope {value:+.2f} {_ci(lo, hi)} per unit "
            f"of relative depth — {trend}.")


def convergence_rows(
    pairs: pd.DataFrame,
    layers: Sequence[str],
    depths: dict[str, dict[str, float]],
    untrained: pd.DataFrame | None,
    shuffled: pd.DataFrame | None,
    interval: str,
    resampling: Resampling,
) -> list[dict]:
    """Per architecture and measure: each layer's mean over pairs with its interval and floors,
    then the slope of the mean over relative depth (``depths[arch][layer]``, 0 = first read-out,
    1 = last) with its interval (same resamples)."""
    rows = []
    order_of = {m: k for k, m in enumerate(CONVERGENCE)}
    groups = sorted(pairs.groupby(["architecture", "measure"], sort=False),
                    key=lambda kv: order_of[kv[0][1]])
    for (arch, measure), g in groups:
        order = [layer for layer in layers if layer in set(g["layer"])]
        values = g.pivot_table(index="pair", columns="layer", values="value", dropna=False)
        sd = g.pivot_table(index="pair", columns="layer", values="sd", dropna=False)
        values, sd = values.reindex(columns=order), sd.reindex(columns=order).fillna(0.0)
        if values.isna().all().all():  # e.g. basis measures on PCA-reduced layers
            continue
        draws = pairs_and_blocks(values.to_numpy(), sd.to_numpy(), resampling.resamples,
                                 resampling.seed)
        means = np.nanmean(values.to_numpy(), axis=0)
        for k, layer in enumerate(order):
            lo, hi = percentile_ci(draws[:, k], resampling.level)
            pub = PUBLISHED_CONVERGENCE.get(measure, {}).get(layer, np.nan)
            u = _floor(untrained, arch, layer, measure)
            s = _floor(shuffled, arch, layer, measure)
            rows.append(_row(
                "convergence", _layer_sentence(measure, layer, means[k], lo, hi, pub, u, s),
                headline=False, architecture=arch, layer=layer, measure=measure,
                value=float(means[k]),
                ci_low=lo, ci_high=hi, interval=interval, untrained=u, shuffled=s,
                published=pub, published_source=LI2016 if np.isfinite(pub) else np.nan,
            ))
        # over every compared layer, and over the conv layers alone (Li et al.'s claim is
        # about conv1-conv5; fully connected layers can reverse the trend)
        spans = {"slope": list(range(len(order)))}
        conv = [k for k, layer in enumerate(order) if layer.startswith("conv")]
        if 1 < len(conv) < len(order):
            spans["slope (conv)"] = conv
        for name, ks in spans.items():
            if len(ks) < 2:
                continue
            depth = np.array([depths[arch][order[k]] for k in ks])
            lo, hi = percentile_ci(slope(depth, draws[:, ks]), resampling.level)
            value = float(slope(depth, means[ks])[0])
            rows.append(_row(
                "convergence",
                _slope_sentence(measure, order[ks[0]], order[ks[-1]], value, lo, hi),
                architecture=arch, layer=name, measure=measure, value=value, ci_low=lo,
                ci_high=hi, interval=interval,
            ))
    return rows


# ------------------------------------------------------------------ sparse prediction
def sparse_rows(per_pair: pd.DataFrame, layers: Sequence[str], resampling: Resampling
                ) -> list[dict]:
    """Per layer: the held-out loss of the dense linear map (λ = 0) and at the best λ, mean of
    both directions per pair, interval over pairs; Li et al.'s Table 1 at the same λ."""
    rows = []
    per = per_pair.assign(pair=per_pair["model_a"] + "__" + per_pair["model_b"])
    loss = per.groupby(["architecture", "layer", "penalty", "pair"])["loss"].mean().reset_index()
    for (arch, layer), g in sorted(loss.groupby(["architecture", "layer"]),
                                   key=lambda kv: list(layers).index(kv[0][1])):
        by_lambda = g.pivot_table(index="pair", columns="penalty", values="loss")
        mean = by_lambda.mean()
        lambdas = {"loss_dense": 0.0, "loss_best": float(mean.idxmin())}
        if 0.0 not in by_lambda.columns:
            del lambdas["loss_dense"]
        found = {}
        for name, lam in lambdas.items():
            v = by_lambda[lam].to_numpy()[:, None]
            draws = pairs_and_blocks(v, None, resampling.resamples, resampling.seed)
            pub = published_at(paper.LI2016_SPARSE_LOSS, layer, lam)
            found[name] = (lam, float(mean[lam]), *percentile_ci(draws[:, 0], resampling.level),
                           pub)
        parts = [f"{v:.3f} {_ci(lo, hi, 3)} " + ("with the dense linear map (λ = 0)" if lam == 0
                                                 else f"at the best λ = {lam:.2g}")
                 for lam, v, lo, hi, _ in found.values()]
        pubs = [f"{pub:.3f}" for *_, pub in found.values() if np.isfinite(pub)]
        text = (f"{layer}: predicting one net's units from the other's leaves a held-out loss of "
                f"{' and '.join(parts)} (0.5 = predicting the mean)"
                + (f"; Li et al. {' and '.join(pubs)}." if pubs else "."))
        for name, (lam, v, lo, hi, pub) in found.items():
            own = (f"{layer}: held-out loss {v:.3f} {_ci(lo, hi, 3)} with the dense linear map "
                   f"(λ = 0)." if name == "loss_dense" else text)
            rows.append(_row(
                "sparse_prediction", own, headline=name == "loss_best", architecture=arch,
                layer=layer, measure=f"{name} (λ={lam:.2g})", value=v, ci_low=lo, ci_high=hi,
                interval="pairs", published=pub,
                published_source=LI2016 if np.isfinite(pub) else np.nan,
            ))
    return rows


# ------------------------------------------------------------------ mean activations
def mean_activation_rows(agreement: pd.DataFrame, layers: Sequence[str],
                         resampling: Resampling) -> list[dict]:
    """Per layer: do one-to-one matched units agree on how active they are (rank correlation
    of mean activations; overlap of the most and least active tenth)?"""
    rows = []
    for arch, g in agreement.groupby("architecture", sort=False):
        order = [layer for layer in layers if layer in set(g["layer"])]
        stats = {}
        for measure in ("spearman", "top_overlap", "bottom_overlap"):
            v = g.pivot_table(index=["model_a", "model_b"], columns="layer", values=measure)
            v = v.reindex(columns=order).to_numpy()
            draws = pairs_and_blocks(v, None, resampling.resamples, resampling.seed)
            stats[measure] = (np.nanmean(v, axis=0), draws)
        chance = g.groupby("layer")["chance_overlap"].mean()
        for k, layer in enumerate(order):
            value = {m: float(means[k]) for m, (means, _) in stats.items()}
            ci = {m: percentile_ci(draws[:, k], resampling.level)
                  for m, (_, draws) in stats.items()}

            def pct(m: str, value=value, ci=ci) -> str:
                return f"{value[m]:.0%} [{ci[m][0]:.0%}, {ci[m][1]:.0%}]"

            text = {
                "spearman": (
                    f"{layer}: matched units' mean activations rank-correlate at ρ = "
                    f"{value['spearman']:.2f} {_ci(*ci['spearman'])}; {pct('top_overlap')} of "
                    f"the most active tenth of units and {pct('bottom_overlap')} of the least "
                    f"active tenth are matched into the same tenth of the other net (chance "
                    f"{chance[layer]:.0%})."),
                "top_overlap": f"{layer}: {pct('top_overlap')} of the most active tenth of "
                               f"units are matched into the other net's most active tenth.",
                "bottom_overlap": f"{layer}: {pct('bottom_overlap')} of the least active tenth "
                                  f"are matched into the other net's least active tenth.",
            }
            for measure in stats:
                rows.append(_row(
                    "mean_activation", text[measure], headline=measure == "spearman",
                    architecture=arch, layer=layer, measure=measure, value=value[measure],
                    ci_low=ci[measure][0], ci_high=ci[measure][1], interval="pairs",
                    shuffled=float(chance[layer]) if measure != "spearman" else np.nan,
                ))
    return rows


# ------------------------------------------------------------------ layer identification
def layer_identification_rows(rows: pd.DataFrame, resampling: Resampling) -> list[dict]:
    """Per measure: how often a layer's most similar layer in the other seed is the
    corresponding one (Kornblith et al.'s test), interval over pairs, beside their Table 2."""
    out = []
    for (arch, measure), per_pair in layer_identification_hits(rows).items():
        v = 100 * np.array([np.mean(h) for h in per_pair])[:, None]
        draws = pairs_and_blocks(v, None, resampling.resamples, resampling.seed)
        lo, hi = percentile_ci(draws[:, 0], resampling.level)
        pub = paper.KORNBLITH2019_LAYER_ID.get(measure, np.nan)
        text = (f"{measure}: the corresponding layer is the most similar one in "
                f"{v.mean():.1f} % {_ci(lo, hi, 1)} of layers"
                + (f"; Kornblith et al. {pub:.1f} %." if np.isfinite(pub) else "."))
        out.append(_row(
            "layer_identification", text, architecture=arch, measure=measure,
            value=float(v.mean()), ci_low=lo, ci_high=hi, interval="pairs", published=pub,
            published_source="Kornblith et al. 2019" if np.isfinite(pub) else np.nan,
        ))
    return sorted(out, key=lambda r: -r["value"])


# ------------------------------------------------------------------ claims
def claim_rows(claims: pd.DataFrame) -> list[dict]:
    """The claims table (``tables.claims``), one finding per tested claim and measure."""
    return [
        _row("claims", f"({r.claim}) {r.text}", architecture=r.architecture, layer=r.layers,
             measure=r.measure, value=r.effect, ci_low=r.ci_low, ci_high=r.ci_high,
             interval=r.interval, untrained=r.untrained, shuffled=r.shuffled)
        for r in claims.itertuples()
    ]


def findings(
    accuracy: pd.DataFrame,
    matching: pd.DataFrame | None,
    layers: Sequence[str],
    depths: dict[str, dict[str, float]],
    similarity: pd.DataFrame | None = None,
    sparse: pd.DataFrame | None = None,
    mean_activation: pd.DataFrame | None = None,
    claims: pd.DataFrame | None = None,
    neural: pd.DataFrame | None = None,
    resampling: Resampling = Resampling(),
) -> pd.DataFrame:
    """The findings table from the study's tables (the optional ones when configured; the
    matching table is read when there is no similarity table); ``depths``: each architecture's
    relative depth of each layer."""
    rows = accuracy_rows(accuracy, resampling.level)
    if similarity is not None:
        pairs, untrained, shuffled = similarity_inputs(similarity, resampling.level)
        rows += convergence_rows(pairs, layers, depths, untrained, shuffled, "pairs+blocks",
                                 resampling)
    elif matching is not None:
        rows += convergence_rows(matching_inputs(matching), layers, depths, None, None, "pairs",
                                 resampling)
    if sparse is not None:
        rows += sparse_rows(sparse, layers, resampling)
    if mean_activation is not None:
        rows += mean_activation_rows(mean_activation, layers, resampling)
    if similarity is not None:
        rows += layer_identification_rows(similarity, resampling)
    if claims is not None:
        rows += claim_rows(claims)
    if neural is not None:
        from convergent.tables.neural import neural_rows

        rows += neural_rows(neural, resampling.level)
    return pd.DataFrame(rows, columns=list(COLUMNS))
