"""The layout of every HDF5 result file, in one place: each kind is a class that writes its
groups and attributes and reads them back, checked.  No other module spells a group name.

==================  ==========================================================================
kind                groups (datasets)
==================  ==========================================================================
moments             ``<layer>/{count, sum_x, sum_y, sum_xy}`` — float64 per-block sums, one model
pair                ``correlation/between``; ``semi_a2b``, ``semi_b2a``, ``one2one`` (each
                    ``{partner, value}``); ``cross/{count, sum_x, sum_y, sum_xy}``
mutual_information  ``mi/{value, plugin, entropy_a, entropy_b}``; ``edges/{a, b}``; the three
                    matchings as in a pair file
sparse_prediction   ``penalties/value``; ``a2b``, ``b2a`` (each ``{loss, nonzero, weights}``)
clustering          ``joint/correlation``; ``spectral/{labels, order}``;
                    ``hierarchical/{labels, order, linkage}``
top_units           ``<layer>/{image, row, col, value}``; ``probe/index``
predictivity        ``sites/{area, name, ceiling}``; ``layer/<layer>/{prediction, ev, r,
                    normalised, penalty}`` — one model against neural data (docs/neural.md)
==================  ==========================================================================

Per-pair kinds (pair, mutual_information, sparse_prediction, clustering) are *block* files: one
file per layer and later model B of a block of pairs (:func:`convergent.study.blocks`), holding a
member per partner A (named by A's model name), each laid out as in the table.

Per-model files carry the attribute ``model``, per-pair members ``model_a`` and ``model_b`` (plus
``layer`` and ``architecture``); a reader given the ids it expects refuses a file that holds
other models (moved or swapped by hand).  Activation dumps have their own module,
:mod:`convergent.io.activations`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

import numpy as np

from convergent.analysis.blocks import BlockMoments
from convergent.analysis.matching import Matching, Matchings
from convergent.analysis.top_units import TopUnits
from convergent.io.files import InputError
from convergent.io.hdf5 import (
    Groups,
    block_writer,
    check_model,
    read_attrs,
    read_group,
    read_members,
    write_arrays,
)

#: the unit matchings a pair or MI file holds, one group each: A's units to B's, B's to A's,
#: one-to-one
MATCHINGS = tuple(f.name for f in fields(Matchings))
#: the directions of sparse prediction: B's units from A's, and A's from B's
DIRECTIONS = ("a2b", "b2a")


class ResultFile:
    """A checked view of one result file: attributes read at once, groups on demand."""

    KIND: ClassVar[str]

    def __init__(
        self,
        path: str | os.PathLike,
        model: str | None = None,
        models: tuple[str, str] | None = None,
        member: str | None = None,
    ) -> None:
        """``model`` (per-model files) or ``models`` (per-pair members): the ids the reader
        expects, None accepts any; ``member``: the member read of a block file."""
        self.path, self.member = str(path), member
        self.attrs: dict[str, Any] = read_attrs(path, self.KIND, member)
        check_model(self.path, self.attrs.get("model"), model)
        for key, expected in zip(("model_a", "model_b"), models or (None, None), strict=True):
            check_model(self.path, self.attrs.get(key), expected)

    def group(self, name: str) -> dict[str, np.ndarray]:
        return read_group(self.path, self.KIND, name, self.member)

    @classmethod
    def write(
        cls,
        path: str | os.PathLike,
        groups: dict[str, dict[str, np.ndarray]],
        attrs: dict[str, Any],
    ) -> None:
        write_arrays(path, cls.KIND, groups, attrs)


class PairResult(ResultFile):
    """One layer of one pair (A, B): the member named by A's model name of the block file of
    B and the layer.  Write a block with ``with cls.block(path) as add: add(partner, groups,
    attrs)``, each member's groups from the kind's ``groups``."""

    def __init__(
        self, path: str | os.PathLike, partner: str, models: tuple[str, str] | None = None
    ) -> None:
        super().__init__(path, models=models, member=partner)

    @classmethod
    def partners(cls, path: str | os.PathLike) -> list[str]:
        """The partners (members) of a block file, in pair order."""
        return read_members(path, cls.KIND)

    @classmethod
    def each(cls, *paths: str | os.PathLike) -> list[Self]:
        """Every pair of these block files, in order (each file's in pair order)."""
        return [cls(path, partner) for path in paths for partner in cls.partners(path)]

    @classmethod
    def block(
        cls, path: str | os.PathLike
    ) -> AbstractContextManager[Callable[[str, Groups, dict[str, Any]], None]]:
        return block_writer(path, cls.KIND)


def _matching_groups(matchings: Matchings) -> dict[str, dict[str, np.ndarray]]:
    return {name: getattr(matchings, name).as_dict() for name in MATCHINGS}


def _read_matchings(f: ResultFile) -> Matchings:
    return Matchings(**{name: Matching(**f.group(name)) for name in MATCHINGS})


class MomentsFile(ResultFile):
    """One model's within-net moments, one group per layer."""

    KIND = "moments"

    def layer(self, name: str) -> BlockMoments:
        return BlockMoments(**self.group(name))

    @classmethod
    def save(
        cls, path: str | os.PathLike, layers: dict[str, BlockMoments], attrs: dict[str, Any]
    ) -> None:
        cls.write(path, {name: m.as_dict() for name, m in layers.items()}, attrs)


class PairFile(PairResult):
    """One layer of one pair: the between-net correlations, the matchings, the per-block cross
    sums (so held-out splits and bootstraps never reread the activations)."""

    KIND = "pair"

    def between(self) -> np.ndarray:
        return self.group("correlation")["between"]

    def matchings(self) -> Matchings:
        return _read_matchings(self)

    def cross(self) -> BlockMoments:
        return BlockMoments(**self.group("cross"))

    @staticmethod
    def groups(between: np.ndarray, matchings: Matchings, cross: BlockMoments) -> Groups:
        return {"correlation": {"between": between}, **_matching_groups(matchings),
                "cross": cross.as_dict()}


@dataclass(frozen=True)
class UnitInformation:
    """MI (bias-corrected and plug-in, nats) of every unit pair and each unit's entropy."""

    value: np.ndarray
    plugin: np.ndarray
    entropy_a: np.ndarray
    entropy_b: np.ndarray


class MutualInformationFile(PairResult):
    """One layer of one pair: MI of every unit pair, the bin edges, the MI matchings."""

    KIND = "mutual_information"

    def information(self) -> UnitInformation:
        return UnitInformation(**self.group("mi"))

    def matchings(self) -> Matchings:
        return _read_matchings(self)

    @staticmethod
    def groups(
        information: UnitInformation, edges: tuple[np.ndarray, np.ndarray], matchings: Matchings
    ) -> Groups:
        return {"mi": vars(information), "edges": dict(zip("ab", edges, strict=True)),
                **_matching_groups(matchings)}


@dataclass(frozen=True)
class SparseFit:
    """One direction of sparse prediction: per penalty (rows) and target unit (columns) the
    held-out loss and the number of non-zero predictors; the weights (penalty, target,
    predictor)."""

    loss: np.ndarray
    nonzero: np.ndarray
    weights: np.ndarray


class SparsePredictionFile(PairResult):
    """One layer of one pair: the L1 path both ways."""

    KIND = "sparse_prediction"

    def penalties(self) -> np.ndarray:
        return self.group("penalties")["value"]

    def fit(self, direction: str) -> SparseFit:
        return SparseFit(**self.group(direction))

    @staticmethod
    def groups(penalties: np.ndarray, fits: dict[str, SparseFit]) -> Groups:
        return {"penalties": {"value": penalties}, **{d: vars(fits[d]) for d in DIRECTIONS}}


@dataclass(frozen=True)
class Clusters:
    """Cluster labels of the joint units (A's, then B's) and a display order; ``linkage``
    for the agglomerative clustering (scipy's format), None for spectral."""

    labels: np.ndarray
    order: np.ndarray
    linkage: np.ndarray | None = None


@dataclass(frozen=True)
class Clusterings:
    """Both clusterings of one joint matrix, one group each."""

    spectral: Clusters
    hierarchical: Clusters


class ClusteringFile(PairResult):
    """One layer of one pair: the joint correlation matrix and both clusterings."""

    KIND = "clustering"

    def joint(self) -> np.ndarray:
        return self.group("joint")["correlation"]

    def clusterings(self) -> Clusterings:
        return Clusterings(**{f.name: Clusters(**self.group(f.name)) for f in fields(Clusterings)})

    @staticmethod
    def groups(joint: np.ndarray, clusterings: Clusterings) -> Groups:
        groups = {"joint": {"correlation": joint}}
        for f in fields(Clusterings):
            c = getattr(clusterings, f.name)
            groups[f.name] = {k: v for k, v in vars(c).items() if v is not None}
        return groups


class TopUnitsFile(ResultFile):
    """One model: every layer's top-activating probe images per unit, and the probe indices."""

    KIND = "top_units"

    def layer(self, name: str) -> TopUnits:
        return TopUnits(**self.group(name))

    def probe_index(self) -> np.ndarray:
        return self.group("probe")["index"]

    @classmethod
    def save(
        cls,
        path: str | os.PathLike,
        layers: dict[str, TopUnits],
        probe_index: np.ndarray,
        attrs: dict[str, Any],
    ) -> None:
        if "probe" in layers:
            raise InputError("a layer may not be called 'probe' (the group of the probe index)")
        groups = {name: top.as_dict() for name, top in layers.items()}
        cls.write(path, {**groups, "probe": {"index": probe_index}}, attrs)


@dataclass(frozen=True)
class LayerPredictivity:
    """One layer against every site: held-out predictions (stimuli × sites), per site the
    explained variance, Pearson r and normalised predictivity, and the chosen relative ridge
    penalty per fold (folds × sites; NaN for PLS)."""

    prediction: np.ndarray
    ev: np.ndarray
    r: np.ndarray
    normalised: np.ndarray
    penalty: np.ndarray


class PredictivityFile(ResultFile):
    """One model's predictivity of neural data: the sites (area, name, noise ceiling) and one
    group per layer."""

    KIND = "predictivity"

    def sites(self) -> dict[str, np.ndarray]:
        g = self.group("sites")
        return {**g, "area": g["area"].astype(str), "name": g["name"].astype(str)}

    def layer(self, name: str) -> LayerPredictivity:
        return LayerPredictivity(**self.group(f"layer/{name}"))

    @classmethod
    def save(
        cls,
        path: str | os.PathLike,
        sites: dict[str, np.ndarray],
        layers: dict[str, LayerPredictivity],
        attrs: dict[str, Any],
    ) -> None:
        groups = {"sites": {"area": np.asarray(sites["area"], dtype="S"),
                            "name": np.asarray(sites["name"], dtype="S"),
                            "ceiling": np.asarray(sites["ceiling"], dtype=np.float64)}}
        groups.update({f"layer/{name}": vars(p) for name, p in layers.items()})
        cls.write(path, groups, attrs)
