"""The study config: validation (schema and semantic checks), and the model and pair lists.

The workflow calls :func:`validate` before any job starts: it checks the config against
``config/schema.yaml`` (filling defaults), then :func:`check_study` says what a schema cannot
(layer names, duplicate seeds, data paths, architectures that do not import or build, checkpoint
files that do not exist); every failure is one line naming the key.  Everything
downstream takes the model and pair lists from here so that the Snakefile and the tests agree on
names.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml

from convergent import models as registry

T = TypeVar("T")
U = TypeVar("U")

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


#: Model names, which are file names (results/models/<arch>/<name>/) and wildcard values: the
#: seed models the train rule trains, and the checkpoints a user gives (``ckpt-<label>``); the
#: two patterns cannot match one name, and a label cannot hold the pair separator ``__``.
#: A seed model trained under a named condition (``conditions``) carries it last: ``-<condition>``.
CONDITION_NAME = r"[a-z][a-z0-9]*"
#: the condition name that stands for ``training`` as it is (claims.variation)
BASE_CONDITION = "base"
SEED_MODEL = rf"i\d+-d\d+(?:-r\d+)?(?:-p\d+)?(?:-{CONDITION_NAME})?"
_SEED_PARTS = re.compile(rf"i(\d+)-d(\d+)(?:-r(\d+))?(?:-p(\d+))?(?:-({CONDITION_NAME}))?")
#: names a condition cannot take (they would read as a replicate's or a perturbation's suffix)
_RESERVED_CONDITION = re.compile(r"[rp]\d+")
CHECKPOINT_PREFIX = "ckpt-"
CHECKPOINT_LABEL = r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*"
CHECKPOINT_MODEL = CHECKPOINT_PREFIX + CHECKPOINT_LABEL
#: a model whose activations were recorded elsewhere (an ``activations`` entry): no network
RECORDED_PREFIX = "act-"
RECORDED_MODEL = RECORDED_PREFIX + CHECKPOINT_LABEL
#: the keys of an architecture mapping that name its builder (none: recorded elsewhere)
BUILDER_KEYS = ("builder", "torchvision", "timm")
#: names of architectures a config defines (folder names and wildcard values)
ARCH_NAME = r"[A-Za-z][A-Za-z0-9_]*"
#: names of layers (file names: results/pairs/<arch>/<model>/<layer>.h5)
LAYER_NAME = r"[A-Za-z0-9][A-Za-z0-9_]*"


@dataclass(frozen=True)
class Model:
    """One network of the study, named by what makes it unique: its seeds (trained by the
    workflow), the checkpoint file a user trained it into (``checkpoint``, ``label``), or the
    file of its activations recorded elsewhere (``activations``, ``label``)."""

    arch: str
    init_seed: int | None
    data_seed: int | None
    replicate: int = 0
    checkpoint: str | None = None
    label: str | None = None
    condition: str | None = None
    perturb: int = 0
    activations: str | None = None

    @property
    def trained_here(self) -> bool:
        """Whether the train rule trains it (else its weights come from ``checkpoint``, or it
        has none)."""
        return self.checkpoint is None and self.activations is None

    @property
    def network(self) -> bool:
        """Whether it is a network (else only its activations, recorded elsewhere: no
        checkpoint, accuracy, untrained null or streamed analyses)."""
        return self.activations is None

    @property
    def name(self) -> str:
        """``i<init>-d<data>`` (``-r<k>`` added for repeated runs, ``-p<k>`` for a one-bit
        perturbation of the initial weights, ``-<condition>`` for a named training condition),
        ``ckpt-<label>`` or ``act-<label>``, unique within ``arch``."""
        if self.checkpoint is not None:
            return f"{CHECKPOINT_PREFIX}{self.label}"
        if self.activations is not None:
            return f"{RECORDED_PREFIX}{self.label}"
        suffix = f"-r{self.replicate}" if self.replicate else ""
        suffix += f"-p{self.perturb}" if self.perturb else ""
        suffix += f"-{self.condition}" if self.condition else ""
        return f"i{self.init_seed}-d{self.data_seed}{suffix}"

    @property
    def id(self) -> str:
        return f"{self.arch}/{self.name}"


class SeedParts(NamedTuple):
    """What a seed model's name says: its seeds, replicate, perturbation and condition."""

    init_seed: int
    data_seed: int
    replicate: int
    perturb: int
    condition: str | None


def seed_model_parts(name: str) -> SeedParts | None:
    """The parts of a seed model's name (None for other models)."""
    m = _SEED_PARTS.fullmatch(name)
    return None if m is None else SeedParts(int(m[1]), int(m[2]), int(m[3] or 0),
                                            int(m[4] or 0), m[5])


def condition_of(model: str) -> str | None:
    """The training condition of a model, by name or id (arch/name); None: training as it
    is (and for checkpoints)."""
    parts = seed_model_parts(model.split("/")[-1])
    return parts.condition if parts else None


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


def architecture_names(config: dict[str, Any]) -> list[str]:
    """The study's architectures by name: a string entry is a name, a mapping has ``name``."""
    return [a if isinstance(a, str) else a["name"] for a in config["architectures"]]


def defined_architectures(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The architectures the config defines (mapping entries): {name: definition}."""
    return {
        a["name"]: registry.from_definition(a["name"], a, "config").definition()
        for a in config["architectures"]
        if not isinstance(a, str)
    }


def register_architectures(config: dict[str, Any]) -> None:
    """Make the config's own architectures known to this process (the workflow's, the tests')."""
    registry.register(defined_architectures(config))


def _model(arch: str, entry: dict[str, Any]) -> Model | None:
    """The model a ``models`` entry gives ``arch``: a seed entry gives every architecture with
    a network one, a checkpoint or activations entry only its own (None for the others)."""
    if entry.get("architecture", arch) != arch:
        return None
    if "activations" in entry:
        return Model(arch, None, None, 0, label=entry["name"], activations=entry["activations"])
    if "checkpoint" not in entry:
        if registry.is_recorded(arch):  # nothing to train
            return None
        return Model(arch, entry["init_seed"], entry["data_seed"], entry["replicate"],
                     condition=entry.get("condition"), perturb=entry.get("perturb", 0))
    return Model(arch, None, None, 0, entry["checkpoint"], entry["name"])


def models(config: dict[str, Any]) -> list[Model]:
    """Every model of the study: each seed entry for each architecture, and each checkpoint for
    its own architecture (in config order within an architecture)."""
    return [
        m
        for arch in architecture_names(config)
        for entry in config["models"]
        if (m := _model(arch, entry)) is not None
    ]


#: training options added after studies were run, with the value that reproduces those
#: studies: the train spec leaves them out at that value (so a study trained before an option
#: existed keeps its models), and training reads them back through :func:`with_later_options`
LATER_TRAINING_OPTIONS = {"augment_crop": 0, "deterministic": False, "random_labels": 0.0}


def training_of(config: dict[str, Any], model: Model) -> dict[str, Any]:
    """The training section a model is trained with: ``training``, with its condition's
    overrides on top (a model without a condition: ``training`` itself)."""
    overrides = config["conditions"].get(model.condition, {}) if model.condition else {}
    return {**config["training"], **overrides}


def training_spec(config: dict[str, Any], model: Model) -> dict[str, Any]:
    """:func:`training_of` as the train rule's spec holds it: without the later options at
    their reproducing value."""
    return {k: v for k, v in training_of(config, model).items()
            if k not in LATER_TRAINING_OPTIONS or LATER_TRAINING_OPTIONS[k] != v}


def with_later_options(training: dict[str, Any]) -> dict[str, Any]:
    """A spec's training section with the options :func:`training_spec` left out restored."""
    return {**LATER_TRAINING_OPTIONS, **training}


def _entry_pairs(config: dict[str, Any]) -> list[tuple[int, int]]:
    """The pairs of ``models`` entries compared (``pairing``): every two, or 1-2, 3-4, ...;
    ordered by their later entry, so that an added entry appends its pairs and leaves the
    earlier pairs' order (and so every pair block, :func:`blocks`) as it was."""
    n = len(config["models"])
    if config["pairing"] == "consecutive":
        return [(k, k + 1) for k in range(0, n - 1, 2)]
    return [(i, j) for j in range(n) for i in range(j)]


def pairs(config: dict[str, Any]) -> list[Pair]:
    """The compared pairs of models within an architecture, by architecture (``pairing``:
    every pair, or consecutive entries); adding a model only adds pairs."""
    out = []
    for arch in architecture_names(config):
        for i, j in _entry_pairs(config):
            a, b = _model(arch, config["models"][i]), _model(arch, config["models"][j])
            if a is not None and b is not None:
                out.append(Pair(a, b))
    return out


def blocks(pairs: Iterable[tuple[T, U]]) -> dict[U, list[T]]:
    """Pairs batched by their second (later) member: ``{b: [a, ...]}`` in pair order.

    Per-pair work runs one job per block (and layer), so job counts grow with models, not
    pairs; a model added to a study adds its own block and leaves the others' inputs as they
    were, so only its pairs are computed."""
    out: dict[U, list[T]] = {}
    for a, b in pairs:
        out.setdefault(b, []).append(a)
    return out


def cross_pairs(config: dict[str, Any]) -> list[tuple[Model, Model]]:
    """Models of two architectures compared (``similarity.cross_architecture``), the first
    architecture's model first: for each compared pair of entries (i, j), i's model of one
    architecture and j's of the other, both ways round (so no network is in two cross pairs
    under consecutive pairing)."""
    names, entries = architecture_names(config), config["models"]
    both_ways = config["pairing"] == "consecutive"
    out = []
    for x, arch_a in enumerate(names):
        for arch_b in names[x + 1:]:
            for i, j in _entry_pairs(config):
                for p, q in ((i, j), (j, i)) if both_ways else ((i, j),):
                    a, b = _model(arch_a, entries[p]), _model(arch_b, entries[q])
                    if a is not None and b is not None:
                        out.append((a, b))
    return out


def example_pair(config: dict[str, Any]) -> Pair:
    """The pair drawn in single-pair figures: ``figures.example_pair`` indexes ``models`` (the
    earlier entry is model A, as in every pair); the pair is drawn in the first architecture
    both entries give a model.  It must be a compared pair (``pairing``)."""
    i, j = config["figures"]["example_pair"]
    entries = config["models"]
    if max(i, j) >= len(entries) or i == j:
        raise ConfigError(
            f"figures.example_pair = [{i}, {j}]: needs two different indices into models "
            f"(0..{len(entries) - 1})"
        )
    if (min(i, j), max(i, j)) not in _entry_pairs(config):
        raise ConfigError(
            f"figures.example_pair = [{i}, {j}]: not a compared pair under pairing: "
            f"{config['pairing']} (it compares entries 0-1, 2-3, ...); pick one of those"
        )
    i, j = min(i, j), max(i, j)
    for arch in architecture_names(config):
        a, b = _model(arch, entries[i]), _model(arch, entries[j])
        if a is not None and b is not None:
            return Pair(a, b)
    raise ConfigError(
        f"figures.example_pair = [{i}, {j}]: models[{i}] and models[{j}] are checkpoints of "
        "different architectures; pick two models of one architecture"
    )


def check_study(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key if the config cannot describe a study."""
    register_architectures(config)  # the models of a recorded architecture are files only
    _check_models(config)
    dataset = config["dataset"]
    if dataset["name"] == "imagefolder" and not dataset.get("path"):
        raise ConfigError(
            "dataset.path: required for dataset 'imagefolder' (a folder with train/ and val/)"
        )
    if dataset.get("path"):
        message = dataset_path_error(dataset["name"], dataset["path"])
        if message:
            raise ConfigError(message)
    from convergent.data.datasets import data_error  # (data reads the layouts above)

    message = data_error(dataset)
    if message:
        raise ConfigError(message)
    _check_architectures(config)
    _check_analysis(config)
    _check_claims(config)
    _check_random_labels(config)
    _check_validation(config)
    example_pair(config)


def _check_validation(config: dict[str, Any]) -> None:
    """The measure validation reads the similarity tables."""
    if config.get("validation", {}).get("enabled") and not config["similarity"]["enabled"]:
        raise ConfigError("validation.enabled: needs the similarity measures; set "
                          "similarity.enabled: true")


def _check_random_labels(config: dict[str, Any]) -> None:
    """Random labels relabel an in-memory training set: not an image folder."""
    if config["dataset"]["name"] != "imagefolder":
        return
    sections = {"training": config.get("training", {}),
                **{f"conditions.{k}": v for k, v in config.get("conditions", {}).items()}}
    for key, section in sections.items():
        if section.get("random_labels", 0):
            raise ConfigError(
                f"{key}.random_labels: needs a dataset held in memory (fashion_mnist, cifar10), "
                "not imagefolder; set it to 0"
            )


def _check_models(config: dict[str, Any]) -> None:
    """Seed entries differ in their seeds; checkpoint entries name an existing file, an
    architecture of the study and a label of their own; every architecture has two models."""
    names = architecture_names(config)
    seen: set[tuple[int, int, int]] = set()
    labels: dict[tuple[str, str], int] = {}
    for k, m in enumerate(config["models"]):
        if "checkpoint" in m or "activations" in m:
            if "activations" in m:
                _check_activations_entry(k, m, names, config["layers"])
            else:
                _check_checkpoint_entry(k, m, names)
            earlier = labels.setdefault(("activations" in m, m["architecture"], m["name"]), k)
            if earlier != k:
                raise ConfigError(
                    f"models[{k}].name: {m['name']!r} is also models[{earlier}]'s in "
                    f"architecture {m['architecture']!r}; give each "
                    f"{'activations file' if 'activations' in m else 'checkpoint'} its own name"
                )
            continue
        if "init_seed" not in m:
            raise ConfigError(
                f"models[{k}]: give init_seed (a model to train), checkpoint (a network "
                "trained already) or activations (a file of activations recorded elsewhere)"
            )
        _check_seed_entry(k, m, names, config["conditions"])
        key = (m["init_seed"], m["data_seed"], m["replicate"], m.get("condition"),
               m.get("architecture"), m.get("perturb", 0))
        if key in seen:
            raise ConfigError(
                f"models[{k}]: duplicate of an earlier model (init_seed={key[0]}, "
                f"data_seed={key[1]}, replicate={key[2]}, condition={key[3]}, "
                f"perturb={key[5]}); change a seed or set replicate"
            )
        seen.add(key)
    _check_pairing(config, names)
    for k, arch in enumerate(names):
        count = sum(_model(arch, m) is not None for m in config["models"])
        if count < 2:
            raise ConfigError(
                f"architectures[{k}]: {arch!r} has {count} model(s); a comparison needs two "
                "(add seed entries, checkpoints or activation files of it to models)"
            )


def _check_seed_entry(k: int, m: dict[str, Any], archs: list[str],
                      conditions: dict[str, Any]) -> None:
    """A seed entry's architecture (if it names one) and condition exist."""
    if m.get("architecture") is not None and m["architecture"] not in archs:
        raise ConfigError(
            f"models[{k}].architecture: {m['architecture']!r} is not one of architectures "
            f"({', '.join(archs)}); add it there, fix the name, or remove the key (train every "
            "architecture)"
        )
    if m.get("architecture") is not None and registry.is_recorded(m["architecture"]):
        raise ConfigError(
            f"models[{k}].architecture: {m['architecture']!r} has no builder (recorded "
            "elsewhere), so there is no network to train; remove the key or name another"
        )
    condition = m.get("condition")
    if condition is not None and condition not in conditions:
        known = ", ".join(conditions) or "none defined"
        raise ConfigError(
            f"models[{k}].condition: {condition!r} is not defined in conditions ({known}); "
            "define it there or fix the name"
        )


def _check_pairing(config: dict[str, Any], archs: list[str]) -> None:
    """Consecutive pairing: an even number of entries, each two giving the same architectures."""
    if config["pairing"] != "consecutive":
        return
    entries = config["models"]
    if len(entries) % 2:
        raise ConfigError(
            f"models: {len(entries)} entries, but pairing: consecutive compares entries 1-2, "
            "3-4, ...; add or remove one entry (or set pairing: all)"
        )
    for i in range(0, len(entries), 2):
        of = [{a for a in archs if _model(a, entries[k]) is not None} for k in (i, i + 1)]
        if of[0] != of[1]:
            raise ConfigError(
                f"models[{i}] and models[{i + 1}]: a consecutive pair whose entries give "
                f"different architectures ({', '.join(sorted(of[0]))} vs "
                f"{', '.join(sorted(of[1]))}); give both the same architecture"
            )


def _check_conditions(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """Condition names fit in model names; each condition's overrides, over ``training``, are a
    valid training section."""
    training_schema = schema["properties"]["training"]
    for name, overrides in config["conditions"].items():
        key = f"conditions.{name}"
        if (not re.fullmatch(CONDITION_NAME, name) or _RESERVED_CONDITION.fullmatch(name)
                or name == BASE_CONDITION):
            raise ConfigError(
                f"{key}: {name!r} is not a valid condition name (a lower-case letter, then "
                f"lower-case letters or digits, not r<digits>, p<digits> or "
                f"{BASE_CONDITION!r}); rename it"
            )
        error = next(_validator(training_schema).iter_errors(
            {**config["training"], **overrides}), None)
        if error is not None:
            raise ConfigError(_schema_message(error, ["conditions", name]))


def _check_checkpoint_entry(k: int, m: dict[str, Any], archs: list[str]) -> None:
    key = f"models[{k}]"
    if "init_seed" in m or "data_seed" in m or m["replicate"]:
        raise ConfigError(
            f"{key}: gives both checkpoint and seeds; a checkpoint is trained already (remove "
            "init_seed/data_seed/replicate) or remove checkpoint to train it here"
        )
    if m["architecture"] is None:
        raise ConfigError(
            f"{key}.architecture: missing; the study has several architectures, name the one "
            f"the checkpoint holds ({', '.join(archs)})"
        )
    if m["architecture"] not in archs:
        raise ConfigError(
            f"{key}.architecture: {m['architecture']!r} is not one of architectures "
            f"({', '.join(archs)}); add it there or fix the name"
        )
    if registry.is_recorded(m["architecture"]):
        raise ConfigError(
            f"{key}.architecture: {m['architecture']!r} has no builder (recorded elsewhere), "
            "so there is no network to load the weights into; give it a builder"
        )
    if not re.fullmatch(CHECKPOINT_LABEL, m["name"]):
        raise ConfigError(
            f"{key}.name: {m['name']!r} is not a valid model name (letters and digits, single "
            "'.', '_' or '-' between them); set name (default: the file name without suffix)"
        )
    path = Path(m["checkpoint"])
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise ConfigError(
            f"{key}.checkpoint: {m['checkpoint']!r}{where} {problem}; give the path of a "
            "state_dict file or a Lightning checkpoint"
        )


def _check_activations_entry(k: int, m: dict[str, Any], archs: list[str], layers: list[str]
                             ) -> None:
    """An activations entry: no seeds, a recorded architecture of the study, a valid name, a
    readable file with the study's layers (the probe's identity is checked by its import)."""
    from convergent.io import InputError
    from convergent.io.recorded import RecordedFile

    key = f"models[{k}]"
    other = [k for k in ("init_seed", "data_seed", "checkpoint", "condition") if k in m]
    if other or m["replicate"]:
        raise ConfigError(
            f"{key}: gives activations and {', '.join(other) or 'replicate'}; an activations "
            "entry is a file of recorded activations only (docs/own_networks.md)"
        )
    recorded = [a for a in archs if registry.is_recorded(a)]
    if m["architecture"] not in recorded:
        given = "missing" if m["architecture"] is None else repr(m["architecture"])
        raise ConfigError(
            f"{key}.architecture: {given}; an activations entry belongs to an architecture "
            "without builder whose layers name the file's arrays (the study's: "
            f"{', '.join(recorded) or 'none'}; docs/own_networks.md)"
        )
    if not re.fullmatch(CHECKPOINT_LABEL, m["name"]):
        raise ConfigError(
            f"{key}.name: {m['name']!r} is not a valid model name (letters and digits, single "
            "'.', '_' or '-' between them); set name (default: the file name without suffix)"
        )
    arrays = registry.architecture(m["architecture"]).readouts
    try:
        with RecordedFile(m["activations"]) as f:
            f.check_layers({layer: arrays[layer] for layer in layers if layer in arrays})
    except InputError as err:
        raise ConfigError(f"{key}.activations: {err}") from None


def _check_architectures(config: dict[str, Any]) -> None:
    """Names are known or defined once; every configured layer exists in every architecture;
    an architecture not built in imports, builds and fires its read-outs on one image."""
    known = registry.known_names()
    names = architecture_names(config)
    for k, entry in enumerate(config["architectures"]):
        key = f"architectures[{k}]"
        if isinstance(entry, str):
            if entry not in known:
                raise ConfigError(
                    f"{key}: unknown architecture {entry!r}; choose one of {', '.join(known)}, "
                    "or define it as a mapping {name, builder or torchvision, layers} "
                    "(docs/own_networks.md)"
                )
            continue
        _check_definition(key, entry, known)
        if names.index(entry["name"]) != k:
            raise ConfigError(f"{key}.name: {entry['name']!r} is listed twice; name each once")
    register_architectures(config)
    for k, arch in enumerate(names):
        valid = list(registry.layer_names(arch))
        bad = [layer for layer in config["layers"] if layer not in valid]
        if bad:
            raise ConfigError(
                f"layers: {', '.join(bad)} not in architecture {arch!r}; valid layers: "
                f"{', '.join(valid)}"
            )
        found = registry.architecture(arch)
        if found.source != "built-in":
            from convergent.data import DataSpec

            message = found.check(*DataSpec.from_config(config["dataset"]).shape(arch))
            if message:
                where = f"architectures[{k}]" if found.source == "config" else (
                    f"architectures[{k}] ({found.source})"
                )
                raise ConfigError(f"{where}.{message}")


def _check_definition(key: str, entry: dict[str, Any], known: list[str]) -> None:
    """A mapping entry: a free name, one builder, layer names that can be file names."""
    name = entry["name"]
    if not re.fullmatch(ARCH_NAME, name):
        raise ConfigError(
            f"{key}.name: {name!r} is not a valid architecture name (a letter, then letters, "
            "digits or _)"
        )
    if name in known:
        raise ConfigError(
            f"{key}.name: {name!r} is the name of a built-in or installed architecture; choose "
            "another name (or list it as a plain string to use that one)"
        )
    given = [k for k in BUILDER_KEYS if k in entry]
    if len(given) > 1:
        raise ConfigError(
            f"{key}: give one of builder (module:function), torchvision or timm (a model "
            f"name), not {' and '.join(given)}"
        )
    bad = [layer for layer in entry.get("channels_last", []) if layer not in entry["layers"]]
    if bad:
        raise ConfigError(f"{key}.channels_last: {', '.join(bad)} not in its layers; list "
                          "layers of this architecture")
    if "builder" in entry and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", entry["builder"]):
        raise ConfigError(
            f"{key}.builder: {entry['builder']!r} is not an import path; write "
            "package.module:function (called with num_classes, in_channels, image_size)"
        )
    bad = [layer for layer in entry["layers"] if not re.fullmatch(LAYER_NAME, layer)]
    if bad:
        raise ConfigError(
            f"{key}.layers: {', '.join(map(repr, bad))} is not a valid layer name (letters, "
            "digits and _); rename it"
        )


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
    _check_conditions(config, schema)
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


def _schema_message(error: Any, prefix: Sequence[str | int] = ()) -> str:
    """One line for a jsonschema ``ValidationError``: the key path first (under ``prefix``),
    then what is wrong."""
    kind, arg, value = error.validator, error.validator_value, error.instance
    path = [*prefix, *error.absolute_path]
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
