"""The study config: semantic checks beyond the JSON schema, and the model and pair lists.

The workflow validates ``config/config.yaml`` against ``config/schema.yaml`` (which also fills
defaults) and then calls :func:`check_study`; everything downstream takes the model and pair lists
from here so that the Snakefile and the tests agree on names.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from convergent.models import READOUTS


class ConfigError(ValueError):
    """A config that passes the schema but cannot describe a study."""


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
        Model(arch, m["init_seed"], m.get("data_seed", m["init_seed"]), m.get("replicate", 0))
        for arch in config["architectures"]
        for m in config["models"]
    ]


def pairs(config: dict[str, Any]) -> list[Pair]:
    """Every unordered pair of models within an architecture; adding a seed only adds pairs."""
    by_arch = itertools.groupby(models(config), key=lambda m: m.arch)
    return [Pair(a, b) for _, group in by_arch for a, b in itertools.combinations(list(group), 2)]


def example_pair(config: dict[str, Any]) -> Pair:
    """The pair drawn in single-pair figures (``figures.example_pair``, first architecture)."""
    i, j = config.get("figures", {}).get("example_pair", [0, 1])
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
        key = (m["init_seed"], m.get("data_seed", m["init_seed"]), m.get("replicate", 0))
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
    example_pair(config)
