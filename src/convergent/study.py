"""The study config: validation (schema and semantic checks), and the model and pair lists.

The workflow calls :func:`validate` before any job starts: it checks the config against
``config/schema.yaml`` (filling defaults), then :func:`check_study` says what a schema cannot
(layer names, duplicate seeds, data paths); every failure is one line naming the key.  Everything
downstream takes the model and pair lists from here so that the Snakefile and the tests agree on
names.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from convergent.models import READOUTS

FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: What a ``dataset.path`` the user names must hold (a trailing / marks a folder) and the fix if
#: it does not: checked before any job starts and again by the data loaders (no fallback).
DATASET_LAYOUT = {
    "fashion_mnist": (
        [name for pair in FASHION_MNIST_FILES.values() for name in pair],
        "point dataset.path at a folder with the four Fashion-MNIST *-ubyte.gz files, or set it "
        "to null (Debian package or download)",
    ),
    "cifar10": (
        ["cifar-10-batches-py/"],
        "point dataset.path at a torchvision CIFAR-10 root, or set it to null (download)",
    ),
    "imagefolder": (
        ["train/", "val/"],
        "point dataset.path at a folder with train/<class>/ and val/<class>/ image folders",
    ),
}
#: Li et al.'s Table 1 layers and k-fold count: the defaults of analysis.sparse_layers and
#: analysis.sparse_folds, cut down to the study's layers and blocks (values a user sets are
#: checked against them instead).
LI_SPARSE_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
LI_SPARSE_FOLDS = 5

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys",
    "null": "null",
}
_BOUNDS = {
    "minimum": "below the minimum {}",
    "exclusiveMinimum": "below the minimum (exclusive {})",
    "maximum": "above the maximum {}",
    "exclusiveMaximum": "above the maximum (exclusive {})",
}


class ConfigError(ValueError):
    """A config that cannot describe a study; the message is one line naming the key."""


@dataclass(frozen=True, order=True)
class Model:
    """One trained network, named by what makes it unique."""

    arch: str
    init_seed: int
    data_seed: int
    replicate: int = 0

    @property
    def name(self) -> str:
        """``i<init>-d<data>`` (``-r<k>`` added for repeated runs), unique within ``arch``."""
        suffix = f"-r{self.replicate}" if self.replicate else ""
        return f"i{self.init_seed}-d{self.data_seed}{suffix}"

    @property
    def id(self) -> str:
        return f"{self.arch}/{self.name}"


@dataclass(frozen=True)
class Pair:
    """An unordered pair of models of the same architecture, in config order."""

    a: Model
    b: Model

    @property
    def arch(self) -> str:
        return self.a.arch

    @property
    def name(self) -> str:
        return f"{self.a.name}__{self.b.name}"

    @property
    def id(self) -> str:
        return f"{self.arch}/{self.name}"


def models(config: dict[str, Any]) -> list[Model]:
    """Every model of the study: each seed entry for each architecture."""
    return [
        Model(arch, m["init_seed"], m["data_seed"], m["replicate"])
        for arch in config["architectures"]
        for m in config["models"]
    ]


def pairs(config: dict[str, Any]) -> list[Pair]:
    """Every unordered pair of models within an architecture; adding a seed only adds pairs."""
    by_arch = itertools.groupby(models(config), key=lambda m: m.arch)
    return [Pair(a, b) for _, group in by_arch for a, b in itertools.combinations(list(group), 2)]


def example_pair(config: dict[str, Any]) -> Pair:
    """The pair drawn in single-pair figures (``figures.example_pair``, first architecture)."""
    i, j = config["figures"]["example_pair"]
    ms = models(config)[: len(config["models"])]
    if max(i, j) >= len(ms) or i == j:
        raise ConfigError(
            f"figures.example_pair = [{i}, {j}]: needs two different indices into models "
            f"(0..{len(ms) - 1})"
        )
    return Pair(ms[i], ms[j])


def check_study(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key if the config cannot describe a study."""
    seen: set[tuple[int, int, int]] = set()
    for k, m in enumerate(config["models"]):
        key = (m["init_seed"], m["data_seed"], m["replicate"])
        if key in seen:
            raise ConfigError(
                f"models[{k}]: duplicate of an earlier model (init_seed={key[0]}, "
                f"data_seed={key[1]}, replicate={key[2]}); change a seed or set replicate"
            )
        seen.add(key)
    for arch in config["architectures"]:
        valid = list(READOUTS[arch])
        bad = [layer for layer in config["layers"] if layer not in valid]
        if bad:
            raise ConfigError(
                f"layers: {', '.join(bad)} not in architecture {arch!r}; valid layers: "
                f"{', '.join(valid)}"
            )
    dataset = config["dataset"]
    if dataset["name"] == "imagefolder" and not dataset.get("path"):
        raise ConfigError(
            "dataset.path: required for dataset 'imagefolder' (a folder with train/ and val/)"
        )
    if dataset.get("path"):
        message = dataset_path_error(dataset["name"], dataset["path"])
        if message:
            raise ConfigError(message)
    _check_analysis(config)
    example_pair(config)


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


def dataset_path_error(name: str, path: str | os.PathLike) -> str | None:
    """One line saying what ``dataset.path`` lacks to hold dataset ``name`` and the fix, or None
    if it holds it.  A relative path is relative to the working directory (where jobs run)."""
    folder = Path(path)
    needed, fix = DATASET_LAYOUT[name]
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
    else:
        missing = [entry for entry in needed if not _holds(folder, entry)]
        if not missing:
            return None
        problem = f"lacks {', '.join(missing)}"
    where = "" if folder.is_absolute() else f" (relative to {Path.cwd()})"
    return f"dataset.path: {str(path)!r}{where} {problem}; {fix}"


def _holds(folder: Path, entry: str) -> bool:
    """Whether ``folder`` holds ``entry``: a folder if the name ends in /, else a file."""
    target = folder / entry
    return target.is_dir() if entry.endswith("/") else target.is_file()


def validate(config: dict[str, Any], schema_path: str | os.PathLike) -> None:
    """Check ``config`` against the JSON schema at ``schema_path``, filling its defaults in place
    (as ``snakemake.utils.validate`` does), then :func:`check_study`.

    Raises :class:`ConfigError` with one line, ``<key.path>: <what is wrong>[; <the fix>]``.
    Unlike plain JSON Schema, an "integer" is never a float (2.0) or a boolean.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    error = next(_validator(schema).iter_errors(config), None)
    if error is not None:
        raise ConfigError(_schema_message(error))
    _fill_derived_defaults(config)
    check_study(config)


def _validator(schema: dict[str, Any]) -> Any:
    """A Draft 2020-12 validator that fills defaults and whose integers are true ints."""
    from jsonschema import Draft202012Validator, validators

    validate_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_defaults(validator, properties, instance, schema):
        # snakemake.utils.validate(set_default=True): a missing key gets its default (a copy, so
        # that filling the default's own defaults leaves the schema alone), then is validated
        if validator.is_type(instance, "object"):
            for key, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(key, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    def is_integer(checker, instance) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer)
    cls = validators.extend(
        Draft202012Validator, {"properties": fill_defaults}, type_checker=checker
    )
    return cls(schema)


def _fill_derived_defaults(config: dict[str, Any]) -> None:
    """Defaults that depend on other keys (the schema can only state fixed ones)."""
    for m in config["models"]:
        m.setdefault("data_seed", m["init_seed"])
    analysis = config["analysis"]
    analysis.setdefault(
        "sparse_layers", [layer for layer in LI_SPARSE_LAYERS if layer in config["layers"]]
    )
    analysis.setdefault("sparse_folds", min(LI_SPARSE_FOLDS, analysis["blocks"]))


def _schema_message(error: Any) -> str:
    """One line for a jsonschema ``ValidationError``: the key path first, then what is wrong."""
    kind, arg, value = error.validator, error.validator_value, error.instance
    path = list(error.absolute_path)
    if kind == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        key = next(k for k in value if k not in known)
        valid = "keys" if path else "top-level keys"
        return f"{_key_path([*path, key])}: unknown key; valid {valid}: {', '.join(known)}"
    if kind == "required":
        key = next(k for k in arg if k not in value)
        return f"{_key_path([*path, key])}: missing; this key is required"
    shown = _short(value)
    if kind == "type":
        types = [arg] if isinstance(arg, str) else arg
        what = f"{shown} is not {' or '.join(_TYPE_NAMES[t] for t in types)}"
        if "integer" in types and isinstance(value, float) and value.is_integer():
            what += f"; write {int(value)}"
    elif kind in _BOUNDS:
        what = f"{shown} is {_BOUNDS[kind].format(arg)}"
    elif kind == "enum":
        what = f"{shown} is not one of {', '.join(map(str, arg))}"
    elif kind in ("minItems", "maxItems"):
        bound = "at least" if kind == "minItems" else "at most"
        what = f"{shown} has {len(value)} items; list {bound} {arg}"
    elif kind == "uniqueItems":
        what = f"{shown} lists an item twice; list each once"
    else:  # a keyword the schema does not use today: jsonschema's own words, cut short
        what = _short(" ".join(error.message.split()), 120)
    return f"{_key_path(path)}: {what}"


def _key_path(parts: Sequence[str | int]) -> str:
    """``models[0].seed`` from ``["models", 0, "seed"]``; ``config`` for the top level."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return text.removeprefix(".") or "config"


def _short(value: Any, width: int = 40) -> str:
    """A config value as messages show it: true/false/null as in YAML, long reprs cut."""
    text = json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_yaml(path: str | os.PathLike) -> None:
    """Exit with one line, ``<path>: line L, column C: <problem>``, if the YAML file at ``path``
    does not parse (Snakemake's own message gives no position); an absent file is left to
    Snakemake."""
    path = Path(path)
    if not path.is_file():
        return
    try:
        yaml.safe_load(path.read_bytes())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context
        sys.exit(f"{path}: line {mark.line + 1}, column {mark.column + 1}: {problem}")
    except yaml.YAMLError as err:  # e.g. bytes that are no text: no line and column to give
        sys.exit(f"{path}: {' '.join(str(err).split())}")
