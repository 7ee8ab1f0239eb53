"""Architecture registry: the built-in networks, those packages register, those a config defines.

An :class:`Architecture` names a builder (``module:function`` taking ``num_classes,
in_channels, image_size``, or ``torchvision:<model>``) and its read-out points, ``{layer name:
dotted module path}`` listed input to output (the module's output is read).  Where one comes from:

* built in: the modules of this package (:data:`BUILT_IN`);
* a package: an entry point of group ``convergent.architectures`` whose name is the architecture
  name and whose object is a mapping ``{"builder": ..., "layers": {...}, "image_size": ...}``
  (or an :class:`Architecture`);
* the study config: an ``architectures:`` entry given as a mapping, which the workflow passes to
  every job that needs it in its ``--spec`` (``architectures``) and the CLI :func:`register`\\ s.

Names resolve in that order of precedence; a config may not reuse a built-in or plugin name.
Nothing here imports torch at import time: the workflow validates layer names without it.

Read-out point (Li et al. 2016): the output of each layer's ReLU, *before* pooling and local
response normalisation.  One channel of a conv layer is one unit; its samples are images ×
spatial positions.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

#: the entry point group through which packages register architectures
ENTRY_POINT_GROUP = "convergent.architectures"
#: the builder prefix of torchvision classification models (``torchvision:resnet18``)
TORCHVISION = "torchvision:"
#: the imagefolder input side of an architecture that states none
DEFAULT_IMAGE_SIZE = 64


@dataclass(frozen=True)
class Architecture:
    """A network the study can build and read: its builder and its read-out points."""

    name: str
    #: ``module:function`` (called with num_classes, in_channels, image_size) or
    #: ``torchvision:<model name>`` (random init; torchvision weights are never downloaded)
    builder: str | Callable[..., Any]
    #: layer name -> dotted path of the module whose output is read, input to output
    readouts: Mapping[str, str]
    #: input side for imagefolder datasets (in-memory datasets keep their own size); None: 64
    image_size: int | None = None
    #: where it was defined: "built-in", "entry point <value>" or "config"
    source: str = field(default="built-in", compare=False)

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.readouts)

    def relative_depth(self, layer: str) -> float:
        """Index of ``layer`` among the read-out layers, scaled to [0, 1]."""
        names = self.layers
        return names.index(layer) / max(len(names) - 1, 1)

    def builder_function(self) -> Callable[..., Any]:
        """The builder, imported (ImportError/AttributeError if it cannot be)."""
        if callable(self.builder):
            return self.builder
        if self.builder.startswith(TORCHVISION):
            return _torchvision_builder(self.builder.removeprefix(TORCHVISION))
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)

    def build(self, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        """An untrained network; the caller seeds the RNG."""
        net = self.builder_function()(
            num_classes=num_classes, in_channels=in_channels, image_size=image_size
        )
        from torch import nn

        if not isinstance(net, nn.Module):
            raise TypeError(f"builder {self.builder!r} returned {type(net).__name__}, not a Module")
        return net

    def definition(self) -> dict[str, Any]:
        """The JSON a job's spec carries for a config-defined architecture (:func:`register`)."""
        return {
            "builder": self.builder,
            "layers": dict(self.readouts),
            "image_size": self.image_size,
        }

    def check(self, num_classes: int, in_channels: int, image_size: int) -> str | None:
        """None if the network builds, runs on one image of this shape and fires every read-out
        in the listed order; else what is wrong, as ``<key>: <problem>; <fix>`` where key is
        ``builder`` or ``layers.<name>`` (the caller prefixes the config key)."""
        try:
            fn = self.builder_function()
        except (ImportError, AttributeError, ValueError) as err:
            return f"builder: cannot import {self.builder!r} ({type(err).__name__}: {err})"
        import torch

        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                net = fn(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        except Exception as err:  # a user's builder may raise anything
            return f"builder: {self.builder!r} failed ({type(err).__name__}: {_short(err)})"
        if not isinstance(net, torch.nn.Module):
            return f"builder: {self.builder!r} returned {type(net).__name__}, not a torch Module"
        names = dict(net.named_modules())
        for layer, path in self.readouts.items():
            if path not in names or not path:
                near = [n for n in names if n and n.split(".")[0] == path.split(".")[0]][:6]
                hint = f"modules there: {', '.join(near)}" if near else "see net.named_modules()"
                return f"layers.{layer}: no module {path!r} in the network; {hint}"
        fired: list[str] = []
        hooks = [
            net.get_submodule(path).register_forward_hook(
                lambda _m, _i, out, layer=layer: fired.append(layer) or None
            )
            for layer, path in self.readouts.items()
        ]
        side = image_size
        try:
            with torch.no_grad():
                net.eval()(torch.zeros(1, in_channels, side, side))
        except Exception as err:
            return (
                f"builder: the network fails on a {in_channels}x{side}x{side} image "
                f"({type(err).__name__}: {_short(err)})"
            )
        finally:
            for hook in hooks:
                hook.remove()
        for layer in self.readouts:
            if layer not in fired:
                return f"layers.{layer}: module {self.readouts[layer]!r} never runs in forward"
        order = list(dict.fromkeys(fired))
        if order != list(self.readouts):
            return (
                f"layers: listed {', '.join(self.readouts)} but they run as {', '.join(order)}; "
                "list the layers input to output (relative depth follows the order)"
            )
        return None


def _short(err: Exception, width: int = 160) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _torchvision_builder(name: str) -> Callable[..., Any]:
    """A builder of torchvision classification model ``name``: random init (``weights=None``,
    nothing downloaded); grey images are repeated to RGB by a forward pre-hook, so the module
    paths and weight names stay torchvision's own."""
    from torchvision import models as tv

    if name not in tv.list_models(module=tv):
        raise ValueError(f"{name!r} is not a torchvision classification model")

    def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        net = tv.get_model(name, weights=None, num_classes=num_classes)
        if in_channels == 1:
            net.register_forward_pre_hook(lambda _m, args: (args[0].expand(-1, 3, -1, -1),))
        elif in_channels != 3:
            raise ValueError(f"torchvision:{name} takes 1 or 3 input channels, not {in_channels}")
        return net

    return build


_CONV_FC = {
    "conv1": "features.relu1",
    "conv2": "features.relu2",
    "conv3": "features.relu3",
    "conv4": "features.relu4",
    "conv5": "features.relu5",
    "fc6": "classifier.relu6",
    "fc7": "classifier.relu7",
}


def _built_in(name: str, readouts: dict[str, str], image_size: int | None = None) -> Architecture:
    return Architecture(name, f"{__name__}.{name}:build", readouts, image_size)


#: the architectures of this package, by name
BUILT_IN: dict[str, Architecture] = {
    a.name: a
    for a in (
        _built_in("alexnet_small", _CONV_FC),
        _built_in("vgg_small", _CONV_FC),  # same module names: features.relu1..5, relu6/7
        _built_in(
            "alexnet_torchvision",
            {
                "conv1": "features.1",
                "conv2": "features.4",
                "conv3": "features.7",
                "conv4": "features.9",
                "conv5": "features.11",
                "fc6": "classifier.2",
                "fc7": "classifier.5",
            },
            image_size=224,
        ),
        # Li et al. 2016's CaffeNet: same named ReLUs (before pool and LRN) as alexnet_small
        _built_in("caffenet", _CONV_FC, image_size=227),
    )
}
ARCHITECTURES = tuple(BUILT_IN)

#: architectures the study config defines, registered in this process (see :func:`register`)
_CONFIGURED: dict[str, Architecture] = {}


def from_definition(name: str, definition: Mapping[str, Any], source: str) -> Architecture:
    """An architecture from a config entry or plugin mapping: ``builder`` (or ``torchvision``:
    a model name), ``layers`` and optionally ``image_size``.  Without ``layers`` (the spec of a
    job that only builds the network, e.g. training) it has no read-out points."""
    if isinstance(definition, Architecture):
        return definition
    builder = definition.get("builder") or TORCHVISION + str(definition.get("torchvision"))
    return Architecture(
        name, builder, dict(definition.get("layers", {})), definition.get("image_size"), source
    )


def register(definitions: Mapping[str, Mapping[str, Any]]) -> None:
    """Make config-defined architectures ({name: definition}) known to this process."""
    for name, definition in definitions.items():
        _CONFIGURED[name] = from_definition(name, definition, "config")


def plugin_names() -> list[str]:
    """Names of the architectures installed packages register (entry points, not loaded)."""
    from importlib.metadata import entry_points

    return [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]


def _plugin(name: str) -> Architecture | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return from_definition(name, ep.load(), f"entry point {ep.value}")
    return None


def known_names() -> list[str]:
    """Every architecture name a config may use as a plain string."""
    return [*BUILT_IN, *(n for n in plugin_names() if n not in BUILT_IN)]


def architecture(name: str) -> Architecture:
    """The architecture called ``name``: built in, registered by a package, or from the config."""
    found = BUILT_IN.get(name) or _CONFIGURED.get(name) or _plugin(name)
    if found is None:
        raise KeyError(
            f"unknown architecture {name!r}; choose one of {', '.join(known_names())} or define "
            "it in the config (docs/own_networks.md)"
        )
    return found


class _Readouts(Mapping[str, Mapping[str, str]]):
    """``READOUTS[arch]``: the read-out points of any architecture :func:`architecture` knows."""

    def __getitem__(self, name: str) -> Mapping[str, str]:
        return architecture(name).readouts

    def __iter__(self) -> Iterator[str]:
        return iter([*BUILT_IN, *_CONFIGURED])

    def __len__(self) -> int:
        return len(BUILT_IN) + len(_CONFIGURED)


#: architecture name -> {layer name: dotted path of the module whose output is read}
READOUTS: Mapping[str, Mapping[str, str]] = _Readouts()


def layer_names(arch: str) -> tuple[str, ...]:
    """The read-out layers of ``arch``, input to output."""
    return architecture(arch).layers


def relative_depth(arch: str, layer: str) -> float:
    """Index of ``layer`` among ``arch``'s read-out layers, scaled to [0, 1]."""
    return architecture(arch).relative_depth(layer)


def image_size(arch: str) -> int:
    """The input side of ``arch`` on imagefolder datasets."""
    return architecture(arch).image_size or DEFAULT_IMAGE_SIZE


def build(arch: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """Construct an untrained network; the caller seeds the RNG."""
    try:
        found = architecture(arch)
    except KeyError as err:
        raise ValueError(err.args[0]) from None
    return found.build(num_classes, in_channels, image_size)
