"""The checks of ``architectures``: names known or defined once, layers every architecture has,
and an architecture not built in imported (from where the jobs import it), built and run."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from convergent import models as registry
from convergent.study.lists import (
    ARCH_NAME,
    BUILDER_KEYS,
    LAYER_NAME,
    architecture_names,
    register_architectures,
)
from convergent.study.schema import ConfigError


def check_architectures(config: dict[str, Any]) -> None:
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

            with _working_directory_on_path():
                message = found.check(*DataSpec.from_config(config["dataset"]).shape(arch))
            message = message or _jobs_import_error(found)
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


def job_pythonpath() -> str:
    """The PYTHONPATH of every job (common.smk sets it): the working directory, where a study's
    own builder module may sit, then the caller's own entries."""
    cwd = os.getcwd()
    given = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e and e != cwd]
    return os.pathsep.join([cwd, *given])


@contextlib.contextmanager
def _working_directory_on_path() -> Iterator[None]:
    """This process imports from the working directory while it checks, as the jobs do (under
    ``snakemake --directory`` it is not on Snakemake's own path)."""
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            sys.path.remove(cwd)


def _jobs_import_error(found: registry.Architecture) -> str | None:
    """``builder: ...`` if a job cannot find the builder's module that this process imported:
    a job's Python has this one's installed packages and :func:`job_pythonpath` only (``-P``:
    not the folder ``-c`` would add), while this process's path may hold more (Snakemake adds
    the Snakefile's folder, pytest the tests')."""
    if not isinstance(found.builder, str) or found.builder.startswith(
            (registry.TORCHVISION, registry.TIMM)):
        return None
    top = found.builder.partition(":")[0].split(".")[0]
    probe = "import importlib.util, sys; print(importlib.util.find_spec(sys.argv[1]) is None)"
    lacks = subprocess.run(
        [sys.executable, "-P", "-c", probe, top], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": job_pythonpath()},
    ).stdout.strip() == "True"
    if not lacks:
        return None
    return (
        f"builder: {found.builder!r} imports here but not in the jobs (they import from the "
        f"working directory {os.getcwd()}, PYTHONPATH and installed packages); put the folder "
        f"holding {top!r} on PYTHONPATH or install it"
    )
