"""A similarity job's options: typed and frozen, built once from its spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convergent.analysis.subsample import MeasureOptions
from convergent.moments.sums import spec_sums_device


@dataclass(frozen=True)
class SimilarityOptions:
    """What the similarity steps read of a job's spec (common.smk, SPECS["similarity"]): its
    ``similarity`` section, ``analysis.dead_unit_std`` and ``sums_device``; the defaults are
    the schema's (config/schema.yaml), none here."""

    #: the measures' own parameters (SVCCA's variance kept, the shape metric's alpha, RBF
    #: bandwidth, neighbours)
    measures: MeasureOptions
    #: conv layers on the scatter route: positions, mean or flatten
    conv_convention: str
    #: conv layers' per-image features on the subsample (Gram) route
    image_features: str
    #: probe images on the subsample route
    subsample: int
    rdm_metric: str
    kendall: bool
    bootstrap: int
    ci: float
    seed: int
    layer_by_layer: bool
    #: the shuffled-pairing null (similarity.nulls.shuffled)
    shuffled_null: bool
    dead_unit_std: float
    #: where the float64 sums are accumulated (analysis.sums_device)
    sums_device: str

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> SimilarityOptions:
        s = spec["similarity"]
        return cls(
            measures=MeasureOptions.from_section(s),
            conv_convention=s["conv_convention"],
            image_features=s["image_features"],
            subsample=s["subsample"],
            rdm_metric=s["rdm_metric"],
            kendall=s["kendall"],
            bootstrap=s["bootstrap"],
            ci=s["ci"],
            seed=s["seed"],
            layer_by_layer=s["layer_by_layer"],
            shuffled_null=s["nulls"]["shuffled"],
            dead_unit_std=spec["analysis"]["dead_unit_std"],
            sums_device=spec_sums_device(spec),
        )
