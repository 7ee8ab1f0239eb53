"""Validation of a study config: the schema (filling defaults), the defaults that depend on other
keys, then :func:`check_study`, what a schema cannot say; every failure is one line naming the
key (:class:`~convergent.study.schema.ConfigError`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from convergent.data.checks import data_error
from convergent.data.layout import dataset_path_error
from convergent.study.architectures import check_architectures
from convergent.study.conditions import check_conditions, check_random_labels
from convergent.study.entries import check_models
from convergent.study.lists import (
    BASE_CONDITION,
    BUILDER_KEYS,
    architecture_names,
    example_pair,
    register_architectures,
)
from convergent.study.schema import ConfigError, schema_message, validator

#: Li et al.'s Table 1 layers and k-fold count: the defaults of analysis.sparse_layers and
#: analysis.sparse_folds, cut down to the study's layers and blocks (values a user sets are
#: checked against them instead).
LI_SPARSE_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
LI_SPARSE_FOLDS = 5


def validate(config: dict[str, Any], schema_path: str | os.PathLike) -> None:
    """Check ``config`` against the JSON schema at ``schema_path``, filling its defaults in place
    (as ``snakemake.utils.validate`` does), then :func:`check_study`.

    Raises :class:`ConfigError` with one line, ``<key.path>: <what is wrong>[; <the fix>]``.
    Unlike plain JSON Schema, an "integer" is never a float (2.0) or a boolean.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    error = next(validator(schema).iter_errors(config), None)
    if error is not None:
        raise ConfigError(schema_message(error))
    check_conditions(config, schema)
    _fill_derived_defaults(config)
    check_study(config)


def _fill_derived_defaults(config: dict[str, Any]) -> None:
    """Defaults that depend on other keys (the schema can only state fixed ones)."""
    archs = architecture_names(config)
    for m in config["models"]:
        if "checkpoint" in m:
            m.setdefault("architecture", archs[0] if len(archs) == 1 else None)
            m.setdefault("name", Path(m["checkpoint"]).stem)
        elif "activations" in m:
            recorded = [a["name"] for a in config["architectures"]
                        if isinstance(a, dict) and not any(k in a for k in BUILDER_KEYS)]
            m.setdefault("architecture", recorded[0] if len(recorded) == 1 else None)
            m.setdefault("name", Path(m["activations"]).stem)
        elif "init_seed" in m:
            m.setdefault("data_seed", m["init_seed"])
    analysis = config["analysis"]
    analysis.setdefault(
        "sparse_layers", [layer for layer in LI_SPARSE_LAYERS if layer in config["layers"]]
    )
    analysis.setdefault("sparse_folds", min(LI_SPARSE_FOLDS, analysis["blocks"]))


def check_study(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key if the config cannot describe a study."""
    register_architectures(config)  # the models of a recorded architecture are files only
    check_models(config)
    dataset = config["dataset"]
    if dataset["name"] == "imagefolder" and not dataset.get("path"):
        raise ConfigError(
            "dataset.path: required for dataset 'imagefolder' (a folder with train/ and val/)"
        )
    if dataset.get("path"):
        message = dataset_path_error(dataset["name"], dataset["path"])
        if message:
            raise ConfigError(message)
    message = data_error(dataset)
    if message:
        raise ConfigError(message)
    check_architectures(config)
    _check_analysis(config)
    _check_claims(config)
    check_random_labels(config)
    _check_validation(config)
    example_pair(config)


def _check_validation(config: dict[str, Any]) -> None:
    """The measure validation reads the similarity tables."""
    if config.get("validation", {}).get("enabled") and not config["similarity"]["enabled"]:
        raise ConfigError("validation.enabled: needs the similarity measures; set "
                          "similarity.enabled: true")


def _check_claims(config: dict[str, Any]) -> None:
    """The claims need the similarity measures; the variation contrast names conditions."""
    claims = config["claims"]
    if claims["enabled"] and not config["similarity"]["enabled"]:
        raise ConfigError(
            "claims.enabled: the claims are tested on the similarity measures; set "
            "similarity.enabled: true (or claims.enabled: false)"
        )
    known = [BASE_CONDITION, *config["conditions"]]
    for side, name in (claims["variation"] or {}).items():
        if name not in known:
            raise ConfigError(
                f"claims.variation.{side}: {name!r} is not a condition ({', '.join(known)}); "
                "define it in conditions or fix the name"
            )


def _check_analysis(config: dict[str, Any]) -> None:
    """Options of the analyses that must agree with ``layers`` and ``analysis.blocks``."""
    analysis, layers = config.get("analysis", {}), config["layers"]
    bad = [layer for layer in analysis.get("sparse_layers", []) if layer not in layers]
    if bad:
        raise ConfigError(
            f"analysis.sparse_layers: {', '.join(bad)} not in layers ({', '.join(layers)}); "
            "add it to layers or remove it from analysis.sparse_layers"
        )
    folds, blocks = analysis.get("sparse_folds"), analysis.get("blocks")
    if folds is not None and blocks is not None and folds > blocks:
        raise ConfigError(
            f"analysis.sparse_folds: {folds} is more than analysis.blocks = {blocks} (a fold "
            f"needs a block); set analysis.sparse_folds to at most {blocks} or raise "
            "analysis.blocks"
        )
