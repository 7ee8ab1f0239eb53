"""The config against ``config/schema.yaml``: a validator that fills defaults and whose integers
are true ints, its errors as one line naming the key, and YAML that does not parse."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config that cannot describe a study; the message is one line naming the key."""


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



def validator(schema: dict[str, Any]) -> Any:
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



def schema_message(error: Any, prefix: Sequence[str | int] = ()) -> str:
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
