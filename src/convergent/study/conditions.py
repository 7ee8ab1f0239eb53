"""Training conditions: the training section a model is trained with (``training`` with its
condition's overrides), the train spec's view of it, and the checks of ``conditions``."""

from __future__ import annotations

import re
from typing import Any

from convergent.study.lists import BASE_CONDITION, CONDITION_NAME, Model
from convergent.study.schema import ConfigError, schema_message, validator

#: names a condition cannot take (they would read as a replicate's or a perturbation's suffix)
_RESERVED_CONDITION = re.compile(r"[rp]\d+")

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


def check_conditions(config: dict[str, Any], schema: dict[str, Any]) -> None:
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
        error = next(validator(training_schema).iter_errors(
            {**config["training"], **overrides}), None)
        if error is not None:
            raise ConfigError(schema_message(error, ["conditions", name]))


def check_random_labels(config: dict[str, Any]) -> None:
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
