"""Weights a researcher trained elsewhere: a Lightning checkpoint or a plain ``state_dict`` file,
read into a network of the study (the file is only read, never written or moved).

Key names: a plain ``state_dict`` of the network matches as it is; a Lightning checkpoint holds
its module's ``state_dict``, in which the network is an attribute (``net.``, ``model.``...): the
keys under the one first component that gives exactly the network's keys are taken, other
entries of the module (metrics, loss buffers) left out.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from convergent.io import InputError
from convergent.models import build


def load_file(path: str | os.PathLike, mmap: bool = False) -> Any:
    """``torch.load`` of a file that may come from anywhere (a user's checkpoint, a results
    file): tensors, numbers, strings, containers and an ``argparse.Namespace`` of
    hyper-parameters only, never other pickled objects, whose unpickling can run any code.  A
    file that needs one is refused in one line naming it; other failures are torch's own
    exceptions.

    Lightning 2.x saves its hyper-parameters as a plain dict; an older release's AttributeDict
    cannot be read under ``weights_only`` (torch refuses to fill a dict subclass), so it is
    refused like any other class and its ``state_dict`` must be saved on its own."""
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        needed = re.search(r"GLOBAL ([\w.]+)", str(err))
        if needed is None:
            raise
        raise InputError(
            f"{path}: refused: it pickles {needed[1]}, and loading it would run that code (only "
            "tensors, numbers, strings, containers and a Namespace of hyper-parameters are "
            "read); save net.state_dict() with torch.save and give that file"
        ) from None


def read_state(path: str | os.PathLike) -> Mapping[str, torch.Tensor]:
    """The tensors of a ``state_dict`` file or of a Lightning checkpoint's ``state_dict``."""
    try:
        obj = load_file(path)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint not found; fix its path in models") from None
    except Exception as err:  # torch raises many types for a file it cannot read
        raise InputError(
            f"{path}: not a readable torch file ({type(err).__name__}: {_short(err)}); "
            "give a state_dict saved with torch.save or a Lightning checkpoint"
        ) from None
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj or not all(
        isinstance(v, torch.Tensor) for v in obj.values()
    ):
        raise InputError(
            f"{path}: holds neither a state_dict nor a Lightning checkpoint; save "
            "net.state_dict() with torch.save"
        )
    return obj


def match_state(
    path: str | os.PathLike, state: Mapping[str, torch.Tensor], net: nn.Module, arch: str
) -> dict[str, torch.Tensor]:
    """``state`` renamed to ``net``'s keys (see the module doc), shapes checked; InputError in
    one line naming ``path`` if the keys or shapes are not the network's."""
    expected = net.state_dict()
    candidates = [dict(state)]
    for prefix in dict.fromkeys(k.split(".", 1)[0] + "." for k in state if "." in k):
        candidates.append(
            {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        )
    best = max(candidates, key=lambda c: len(set(c) & set(expected)) - len(set(c) - set(expected)))
    missing = [k for k in expected if k not in best]
    unexpected = [k for k in best if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {', '.join(unexpected[:3])})")
        raise InputError(
            f"{path}: keys do not match architecture {arch!r}: {'; '.join(parts)}; save the "
            f"state_dict of a network built as {arch!r} or fix its architecture in models"
        )
    for key, tensor in expected.items():
        if tuple(best[key].shape) != tuple(tensor.shape):
            raise InputError(
                f"{path}: {key} has shape {tuple(best[key].shape)} in the file but "
                f"{tuple(tensor.shape)} in architecture {arch!r} on this dataset; check the "
                "architecture and the dataset's classes and channels"
            )
    return {k: best[k] for k in expected}


def load_weights(path: str | os.PathLike, net: nn.Module, arch: str) -> nn.Module:
    """``net`` with the weights of the file at ``path`` (see :func:`match_state`)."""
    net.load_state_dict(match_state(path, read_state(path), net, arch))
    return net


def load_network(checkpoint: str | os.PathLike, arch: str | None = None) -> tuple[nn.Module, dict]:
    """The network of a convergent checkpoint (trained, untrained or imported: eval mode, CPU)
    and its hyper-parameters."""
    try:
        ckpt = load_file(checkpoint)
    except FileNotFoundError:
        raise InputError(f"{checkpoint}: checkpoint not found; rerun the train rule") from None
    except InputError:
        raise
    except Exception as err:  # torch raises many types for a damaged file
        raise InputError(
            f"{checkpoint}: not a readable convergent checkpoint ({type(err).__name__}: {err}); "
            "delete it and rerun snakemake to retrain"
        ) from None
    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("hyper_parameters"), dict)
            and "arch" in ckpt["hyper_parameters"] and isinstance(ckpt.get("state_dict"), dict)):
        # a readable torch file the workflow did not write: a user's, put where ours go
        raise InputError(
            f"{checkpoint}: not a checkpoint of this workflow (no convergent hyper-parameters: "
            "a state_dict or another program's checkpoint?), and results/ holds only the "
            "workflow's files; move it out of results/ (a network trained elsewhere is a "
            "checkpoint entry of models), then rerun snakemake"
        )
    hp, state = dict(ckpt["hyper_parameters"]), ckpt["state_dict"]
    if arch is not None and hp["arch"] != arch:
        raise InputError(
            f"{checkpoint}: holds architecture {hp['arch']!r}, expected {arch!r}; "
            "delete it and rerun snakemake"
        )
    try:
        net = build(hp["arch"], hp["num_classes"], hp["in_channels"], hp["image_size"])
        net.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
    except (ValueError, RuntimeError, ImportError, AttributeError) as err:  # unknown or redefined
        raise InputError(
            f"{checkpoint}: does not load as architecture {hp['arch']!r} "
            f"({' '.join(str(err).split())[:200]}); delete it and rerun snakemake"
        ) from None
    return net.eval(), hp


def _short(err: Any, width: int = 160) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= width else text[: width - 3] + "..."
