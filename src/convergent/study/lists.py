"""The study's models and pairs, named by what makes them unique: the model names (file names and
wildcard values), the architectures a config lists, the models each ``models`` entry gives, the
compared pairs (within and across architectures), their blocks and the example pair.  Everything
downstream takes them from here so that the Snakefile and the tests agree on names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from convergent import models as registry
from convergent.study.schema import ConfigError

T = TypeVar("T")
U = TypeVar("U")

#: Model names, which are file names (results/models/<arch>/<name>/) and wildcard values: the
#: seed models the train rule trains, and the checkpoints a user gives (``ckpt-<label>``); the
#: two patterns cannot match one name, and a label cannot hold the pair separator ``__``.
#: A seed model trained under a named condition (``conditions``) carries it last: ``-<condition>``.
CONDITION_NAME = r"[a-z][a-z0-9]*"
#: the condition name that stands for ``training`` as it is (claims.variation)
BASE_CONDITION = "base"
SEED_MODEL = rf"i\d+-d\d+(?:-r\d+)?(?:-p\d+)?(?:-{CONDITION_NAME})?"
_SEED_PARTS = re.compile(rf"i(\d+)-d(\d+)(?:-r(\d+))?(?:-p(\d+))?(?:-({CONDITION_NAME}))?")
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


def model_of(arch: str, entry: dict[str, Any]) -> Model | None:
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
        if (m := model_of(arch, entry)) is not None
    ]


def entry_pairs(config: dict[str, Any]) -> list[tuple[int, int]]:
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
        for i, j in entry_pairs(config):
            a, b = model_of(arch, config["models"][i]), model_of(arch, config["models"][j])
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
            for i, j in entry_pairs(config):
                for p, q in ((i, j), (j, i)) if both_ways else ((i, j),):
                    a, b = model_of(arch_a, entries[p]), model_of(arch_b, entries[q])
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
    if (min(i, j), max(i, j)) not in entry_pairs(config):
        raise ConfigError(
            f"figures.example_pair = [{i}, {j}]: not a compared pair under pairing: "
            f"{config['pairing']} (it compares entries 0-1, 2-3, ...); pick one of those"
        )
    i, j = min(i, j), max(i, j)
    for arch in architecture_names(config):
        a, b = model_of(arch, entries[i]), model_of(arch, entries[j])
        if a is not None and b is not None:
            return Pair(a, b)
    raise ConfigError(
        f"figures.example_pair = [{i}, {j}]: models[{i}] and models[{j}] are checkpoints of "
        "different architectures; pick two models of one architecture"
    )
