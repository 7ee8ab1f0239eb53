"""The checks of the ``models`` entries a schema cannot express: seed entries differ, checkpoint
and activations entries name existing files, architectures of the study and labels of their own,
consecutive pairs agree, and every architecture has two models."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from convergent import models as registry
from convergent.study.lists import CHECKPOINT_LABEL, architecture_names, model_of
from convergent.study.schema import ConfigError


def check_models(config: dict[str, Any]) -> None:
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
        count = sum(model_of(arch, m) is not None for m in config["models"])
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
        of = [{a for a in archs if model_of(a, entries[k]) is not None} for k in (i, i + 1)]
        if of[0] != of[1]:
            raise ConfigError(
                f"models[{i}] and models[{i + 1}]: a consecutive pair whose entries give "
                f"different architectures ({', '.join(sorted(of[0]))} vs "
                f"{', '.join(sorted(of[1]))}); give both the same architecture"
            )


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
