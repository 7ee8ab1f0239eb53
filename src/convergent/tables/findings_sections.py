"""The findings' sections beyond accuracy and convergence (:mod:`convergent.tables.findings`):
dead units, sparse prediction, the most and least active units, layer identification and the
claims — each number with its interval over networks (:mod:`convergent.analysis.inference`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from convergent import paper
from convergent.analysis import inference
from convergent.analysis.measures import display
from convergent.tables.finding import ci_text, estimate_values, finding, network_id
from convergent.tables.similarity import layer_identification_hits
from convergent.tables.sparse_prediction import published_at

#: the matched-correlation measures whose all-unit value (dead units as r = 0) stands beside
#: the live-unit one
MATCHED = {"semi_matched_correlation": "semi_matched_correlation_all",
           "matched_correlation": "matched_correlation_all"}
#: the range of each most/least-active-unit statistic (a rank correlation, two rates)
RANGE = {"spearman": (-1.0, 1.0), "top_overlap": (0.0, 1.0), "bottom_overlap": (0.0, 1.0)}


def _ids(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its pair's networks (net_a, net_b: arch/model) added."""
    arch = df["architecture"] if "architecture" in df else df["arch_a"]
    arch_b = df["architecture"] if "architecture" in df else df["arch_b"]
    return df.assign(net_a=[network_id(a, m) for a, m in zip(arch, df["model_a"], strict=True)],
                     net_b=[network_id(a, m) for a, m in zip(arch_b, df["model_b"],
                                                            strict=True)])


def _estimate(g: pd.DataFrame, column: str) -> inference.Estimate:
    """The network-level estimate of the mean over pairs of one per-pair column."""
    per_pair = g.groupby(["net_a", "net_b"], sort=False)[column].mean()
    return inference.estimate(inference.layer_mean(0), [per_pair.to_numpy()[:, None]],
                              [list(per_pair.index)])


# ------------------------------------------------------------------ dead units
def dead_fractions(similarity: pd.DataFrame | None, matching: pd.DataFrame | None
                   ) -> pd.DataFrame:
    """One row per architecture, layer and network: the fraction of its units that are dead on
    the probe set (from the similarity table's dead_a/dead_b, else the matching table)."""
    if similarity is not None and "dead_a" in similarity:
        per = similarity[(similarity["analysis"] == "per_layer") & (similarity["kind"] == "pair")
                         & (similarity["comparison"] == "within")]
        sides = [per.assign(network=[network_id(a, m) for a, m in
                                     zip(per["arch_" + s], per["model_" + s], strict=True)],
                            dead=per["dead_" + s]) for s in "ab"]
        long = pd.concat(sides)[["arch_a", "layer_a", "network", "dead"]]
        long.columns = ["architecture", "layer", "network", "dead"]
    elif matching is not None and "dead_a" in matching:
        sides = [matching.assign(network=[network_id(a, m) for a, m in
                                          zip(matching["architecture"], matching["model_" + s],
                                              strict=True)],
                                 dead=matching["dead_" + s] / matching["units"]) for s in "ab"]
        long = pd.concat(sides)[["architecture", "layer", "network", "dead"]]
    else:
        return pd.DataFrame(columns=["architecture", "layer", "network", "dead"])
    return long.drop_duplicates(["architecture", "layer", "network"])


def _matched_means(similarity: pd.DataFrame | None, matching: pd.DataFrame | None
                   ) -> dict[tuple[str, str, str], tuple[float, float]]:
    """{(architecture, layer, measure): (live-unit mean, all-unit mean)} over the seed pairs."""
    out = {}
    if similarity is not None:
        per = similarity[(similarity["analysis"] == "per_layer") & (similarity["kind"] == "pair")
                         & (similarity["comparison"] == "within")]
        means = per.groupby(["arch_a", "layer_a", "measure"])["value"].mean()
        for (arch, layer, measure), v in means.items():
            if measure in MATCHED:
                out[arch, layer, measure] = (v, means.get((arch, layer, MATCHED[measure]),
                                                          np.nan))
    elif matching is not None and "semi_mean_live" in matching:
        g = matching.groupby(["architecture", "layer"])
        for (arch, layer), m in g[["semi_mean_live", "semi_mean", "one_to_one_mean_live",
                                   "one_to_one_mean"]].mean().iterrows():
            out[arch, layer, "semi_matched_correlation"] = (m.iloc[0], m.iloc[1])
            out[arch, layer, "matched_correlation"] = (m.iloc[2], m.iloc[3])
    return out


def dead_unit_rows(similarity: pd.DataFrame | None, matching: pd.DataFrame | None,
                   layers: Sequence[str], level: float) -> list[dict]:
    """Per architecture and layer: the dead fraction over networks (mean and range), and the
    matched correlation over live units (the convergence section's headline: a dead unit has
    no correlation to match) beside the all-unit mean that counts dead units as r = 0."""
    dead = dead_fractions(similarity, matching)
    if dead.empty:
        return []
    means = _matched_means(similarity, matching)
    rows = []
    for arch, g in dead.groupby("architecture", sort=False):
        if not (g["dead"] > 0).any():
            rows.append(finding("dead_units", f"{arch}: no unit is dead on the probe set at "
                                f"any compared layer ({g['network'].nunique()} networks).",
                                architecture=arch, measure="dead_fraction", value=0.0))
            continue
        for layer in [x for x in layers if x in set(g["layer"])]:
            d = g.loc[g["layer"] == layer, "dead"].to_numpy(float)
            text = (f"{layer}: {d.mean():.0%} of units are dead on the probe set "
                    f"({d.min():.0%}–{d.max():.0%} across {len(d)} networks)")
            semi = means.get((arch, layer, "semi_matched_correlation"))
            if semi and d.max() > 0 and np.isfinite(semi[1]):
                text += (f"; semi-matched r over live units {semi[0]:.2f}, counting dead units "
                         f"as r = 0 (the all-unit mean) {semi[1]:.2f}")
            rows.append(finding("dead_units", text + ".", headline=bool(d.max() > 0),
                                architecture=arch, layer=layer, measure="dead_fraction",
                                value=float(d.mean()), note=f"range {d.min():.3f}–{d.max():.3f}"))
    return rows


# ------------------------------------------------------------------ sparse prediction
def sparse_rows(per_pair: pd.DataFrame, layers: Sequence[str], dataset: str, level: float
                ) -> list[dict]:
    """Per layer: the held-out loss of the dense linear map (λ = 0) and at the best λ, mean of
    both directions per pair, interval over networks; Li et al.'s Table 1 where it applies."""
    rows = []
    per = _ids(per_pair)
    for (arch, layer), g in sorted(per.groupby(["architecture", "layer"]),
                                   key=lambda kv: list(layers).index(kv[0][1])):
        source = paper.applies(paper.LI2016, arch, dataset)
        mean = g.groupby("penalty")["loss"].mean()
        lambdas = {"loss_dense": 0.0, "loss_best": float(mean.idxmin())}
        if 0.0 not in mean.index:
            del lambdas["loss_dense"]
        found = {}
        for name, lam in lambdas.items():
            est = _estimate(g[g["penalty"] == lam], "loss")
            pub = published_at(paper.LI2016_SPARSE_LOSS, layer, lam) if source else np.nan
            found[name] = (lam, est, pub)
        # one clause per distinct λ: the dense map may be the best one
        distinct = {lam: (est, pub) for lam, est, pub in found.values()}
        parts = [f"{est.value:.3f} {ci_text(*est.interval(level), 3)} "
                 + ("with the dense linear map (λ = 0)" if lam == 0 else f"at the best λ = "
                    f"{lam:.2g}") for lam, (est, _) in distinct.items()]
        if len(distinct) == 1 and 0.0 in distinct:
            parts[0] += ", the best of the λ tried"
        pubs = [f"{pub:.3f}" for _, pub in distinct.values() if np.isfinite(pub)]
        text = (f"{layer}: predicting one net's units from the other's leaves a held-out loss of "
                f"{' and '.join(parts)} (0.5 = predicting the mean)"
                + (f"; {source}: {' and '.join(pubs)}." if pubs else "."))
        for name, (lam, est, pub) in found.items():
            own = (f"{layer}: held-out loss {est.value:.3f} {ci_text(*est.interval(level), 3)} "
                   "with the dense linear map (λ = 0)." if name == "loss_dense" else text)
            rows.append(finding(
                "sparse_prediction", own, headline=name == "loss_best", architecture=arch,
                layer=layer, measure=f"{name} (λ={lam:.2g})", **estimate_values(est, level),
                chance=0.5, published=pub,
                published_source=source if np.isfinite(pub) else "no published counterpart"))
    return rows


# ------------------------------------------------------------------ mean activations
def mean_activation_rows(agreement: pd.DataFrame, layers: Sequence[str], level: float
                         ) -> list[dict]:
    """Per layer: do one-to-one matched units agree on how active they are (rank correlation
    of mean activations; overlap of the most and least active tenth)?"""
    rows = []
    agreement = _ids(agreement)
    for arch, g in agreement.groupby("architecture", sort=False):
        for layer in [x for x in layers if x in set(g["layer"])]:
            at = g[g["layer"] == layer]
            est = {m: _estimate(at, m) for m in ("spearman", "top_overlap", "bottom_overlap")}
            ci = {m: e.interval(level, RANGE[m]) for m, e in est.items()}
            chance = float(at["chance_overlap"].mean())

            def pct(m: str, est=est, ci=ci) -> str:
                lo, hi = ci[m]
                interval = (f"[{lo:.0%}, {hi:.0%}]" if np.isfinite(lo) else "[no interval]")
                return f"{est[m].value:.0%} {interval}"

            text = {
                "spearman": (
                    f"{layer}: matched units' mean activations rank-correlate at ρ = "
                    f"{est['spearman'].value:.2f} {ci_text(*ci['spearman'])}; "
                    f"{pct('top_overlap')} of the most active tenth of units and "
                    f"{pct('bottom_overlap')} of the least active tenth are matched into the "
                    f"same tenth of the other net (chance {chance:.0%})."),
                "top_overlap": f"{layer}: {pct('top_overlap')} of the most active tenth of "
                               f"units are matched into the other net's most active tenth.",
                "bottom_overlap": f"{layer}: {pct('bottom_overlap')} of the least active tenth "
                                  f"are matched into the other net's least active tenth.",
            }
            for measure, e in est.items():
                rows.append(finding(
                    "mean_activation", text[measure], headline=measure == "spearman",
                    architecture=arch, layer=layer, measure=measure,
                    **estimate_values(e, level, RANGE[measure]),
                    chance=chance if measure != "spearman" else 0.0))
    return rows


# ------------------------------------------------------------------ layer identification
def layer_identification_rows(rows: pd.DataFrame, dataset: str, level: float) -> list[dict]:
    """Per measure: how often a layer's most similar layer in the other seed is the
    corresponding one (Kornblith et al.'s test), over the layers where the measure is defined
    at every candidate, with the chance level 1/L; interval over networks."""
    out = []
    for (arch, measure), (ids, hits) in layer_identification_hits(rows).items():
        n_layers = len(hits[0]) // 2
        chance = 100 / n_layers
        defined = float(np.mean([np.isfinite(h).sum() / 2 for h in hits]))
        source = paper.applies(paper.KORNBLITH2019, arch, dataset)
        pub = paper.KORNBLITH2019_LAYER_ID.get(measure, np.nan) if source else np.nan
        if defined == 0:
            out.append(finding(
                "layer_identification", f"{display(measure)}: undefined at every layer pair "
                "(see the similarity table's reasons); no hit rate.", headline=False,
                architecture=arch, measure=measure, chance=chance, note="undefined"))
            continue
        rate = np.array([100 * np.nanmean(h) if np.isfinite(h).any() else np.nan
                         for h in hits])[:, None]
        est = inference.estimate(inference.layer_mean(0), [rate], [ids])
        lo, hi = est.interval(level, (0.0, 100.0))
        text = (f"{display(measure)}: the corresponding layer is the most similar one in "
                f"{est.value:.1f} % {ci_text(lo, hi, 1)} of layers (defined at {defined:g} of "
                f"{n_layers} layers; chance {chance:.1f} %)"
                + (f"; {source}: {pub:.1f} %." if np.isfinite(pub) else "."))
        out.append(finding(
            "layer_identification", text, architecture=arch, measure=measure,
            **estimate_values(est, level, (0.0, 100.0)), chance=chance, published=pub,
            published_source=source if np.isfinite(pub) else "no published counterpart",
            note=f"defined at {defined:g} of {n_layers} layers"))
    return sorted(out, key=lambda r: -np.nan_to_num(r["value"], nan=-1))


# ------------------------------------------------------------------ claims
def claim_rows(claims: pd.DataFrame) -> list[dict]:
    """The claims table (``tables.claims``), one finding per tested claim and measure."""
    return [
        finding("claims", f"({r.claim}) {r.text}", architecture=r.architecture,
                layer=r.layers, measure=r.measure, value=r.effect, ci_low=r.ci_low,
                ci_high=r.ci_high, interval=r.interval, untrained=r.untrained,
                shuffled=r.shuffled, p_value=r.p_value, p_holm=r.p_holm, verdict=r.verdict)
        for r in claims.itertuples()
    ]
