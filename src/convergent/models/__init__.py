"""Architecture registry: the built-in networks, those packages register, those a config defines.

An :class:`Architecture` names a builder (``module:function`` taking ``num_classes,
in_channels, image_size`` and the architecture's ``options`` as keywords, ``torchvision:<model>``
or ``timm:<model or folder>``) and its read-out points, ``{layer name: dotted module path}``
listed input to output (the module's output is read).  An architecture without a builder is
*recorded*: its models are activation files made elsewhere (:mod:`convergent.io.recorded`), and
its read-out points name their arrays.  Where one comes from:

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
#: the builder prefix of timm models (``timm:resnet18``, or ``timm:<folder>`` holding a
#: config.json; the optional extra ``convergent[timm]``)
TIMM = "timm:"
#: the imagefolder input side of an architecture that states none
DEFAULT_IMAGE_SIZE = 64


@dataclass(frozen=True)
class Architecture:
    """A network the study can build and read: its builder and its read-out points."""

    name: str
    #: ``module:function`` (called with num_classes, in_channels, image_size and ``options``),
    #: ``torchvision:<model name>`` or ``timm:<model name or folder>`` (random init; weights are
    #: never downloaded); None: recorded elsewhere (models are activation files)
    builder: str | Callable[..., Any] | None
    #: layer name -> dotted path of the module whose output is read (recorded: the name of the
    #: layer's array in the activation files), input to output
    readouts: Mapping[str, str]
    #: input side for imagefolder datasets (in-memory datasets keep their own size); None: 64
    image_size: int | None = None
    #: where it was defined: "built-in", "entry point <value>" or "config"
    source: str = field(default="built-in", compare=False)
    #: keywords the builder is called with besides the data's (patch size, width, depth, ...)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: layers whose module output is channels-last (N, H, W, C), read as conv (N, C, H, W)
    channels_last: tuple[str, ...] = ()

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.readouts)

    @property
    def recorded(self) -> bool:
        """Whether its models are activation files made elsewhere (no network to build)."""
        return self.builder is None

    def relative_depth(self, layer: str) -> float:
        """Index of ``layer`` among the read-out layers, scaled to [0, 1]."""
        names = self.layers
        return names.index(layer) / max(len(names) - 1, 1)

    def builder_function(self) -> Callable[..., Any]:
        """The builder, imported (ImportError/AttributeError if it cannot be)."""
        if self.builder is None:
            raise ValueError(
                f"architecture {self.name!r} is recorded elsewhere (its models are activation "
                "files): there is no network to build"
            )
        if callable(self.builder):
            return self.builder
        if self.builder.startswith((TORCHVISION, TIMM)):
            from convergent.models import ecosystem

            prefix, _, name = self.builder.partition(":")
            return ecosystem.BUILDERS[prefix](name)
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)

    def build(self, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        """An untrained network; the caller seeds the RNG."""
        net = self.builder_function()(
            num_classes=num_classes, in_channels=in_channels, image_size=image_size,
            **self.options,
        )
        from torch import nn

        if not isinstance(net, nn.Module):
            raise TypeError(f"builder {self.builder!r} returned {type(net).__name__}, not a Module")
        self._mark_channels_last(net)
        return net

    def _mark_channels_last(self, net: nn.Module) -> frozenset[str]:
        """Tell the read-out hooks which modules' outputs are channels-last (those of
        ``channels_last``, with those the builder marked); returns their paths."""
        from convergent.models.readout import CHANNELS_LAST

        marked = getattr(net, CHANNELS_LAST, frozenset())
        if self.channels_last:
            marked = marked | {self.readouts[k] for k in self.channels_last}
            setattr(net, CHANNELS_LAST, marked)
        return marked

    def definition(self) -> dict[str, Any]:
        """The JSON a job's spec carries for a config-defined architecture (:func:`register`);
        options and channels_last only where given.  The layers are [name, path] pairs: a
        spec's JSON sorts the keys of a mapping, and their order is the layers' depth."""
        return {
            "builder": self.builder,
            "layers": [[layer, path] for layer, path in self.readouts.items()],
            "image_size": self.image_size,
            **({"options": dict(self.options)} if self.options else {}),
            **({"channels_last": list(self.channels_last)} if self.channels_last else {}),
        }

    def check(self, num_classes: int, in_channels: int, image_size: int) -> str | None:
        """None if the network builds, runs on one image of this shape and fires every read-out
        in the listed order; else what is wrong, as ``<key>: <problem>; <fix>`` where key is
        ``builder`` or ``layers.<name>`` (the caller prefixes the config key).  A recorded
        architecture has no network: its files are checked with its models."""
        if self.recorded:
            return None
        try:
            fn = self.builder_function()
        except (ImportError, AttributeError, ValueError) as err:
            return f"builder: cannot import {self.builder!r} ({type(err).__name__}: {err})"
        import torch

        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                net = fn(num_classes=num_classes, in_channels=in_channels, image_size=image_size,
                         **self.options)
        except Exception as err:  # a user's builder may raise anything
            return f"builder: {self.builder!r} failed ({type(err).__name__}: {_short(err)})"
        if not isinstance(net, torch.nn.Module):
            return f"builder: {self.builder!r} returned {type(net).__name__}, not a torch Module"
        channels_last = self._mark_channels_last(net)
        names = dict(net.named_modules())
        for layer, path in self.readouts.items():
            if path not in names or not path:
                near = [n for n in names if n and n.split(".")[0] == path.split(".")[0]][:6]
                hint = f"modules there: {', '.join(near)}" if near else "see net.named_modules()"
                return f"layers.{layer}: no module {path!r} in the network; {hint}"
        fired: list[str] = []
        outputs: dict[str, object] = {}

        def keep(layer: str) -> Callable[..., None]:
            def hook(_module: object, _input: object, out: object) -> None:
                fired.append(layer)
                outputs.setdefault(layer, out)

            return hook

        hooks = [net.get_submodule(path).register_forward_hook(keep(layer))
                 for layer, path in self.readouts.items()]
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
        return self._check_outputs(outputs, channels_last)

    def _check_outputs(self, outputs: Mapping[str, object], channels_last: frozenset[str]
                       ) -> str | None:
        """Each read-out is a tensor of one of the layer kinds (channels-last ones permuted)."""
        from convergent.models.readout import read_out
        from convergent.moments.conventions import kind_of

        for layer, out in outputs.items():
            try:
                kind_of(tuple(read_out(out, self.readouts[layer] in channels_last).shape[1:]))
            except (TypeError, ValueError) as err:
                fix = "; read out another module" + (
                    " or list the layer in channels_last" if "none of" in str(err) else "")
                return f"layers.{layer}: module {self.readouts[layer]!r}: {err}{fix}"
        return None


def _short(err: Exception, width: int = 160) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= width else text[: width - 3] + "..."


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
        # blocks (tokens) and the class token before the classifier (fc), at its depth of 6
        _built_in("vit_small", {**{f"block{k}": f"blocks.{k - 1}" for k in range(1, 7)},
                                "head": "pool"}),
    )
}
ARCHITECTURES = tuple(BUILT_IN)

#: architectures the study config defines, registered in this process (see :func:`register`)
_CONFIGURED: dict[str, Architecture] = {}


def from_definition(name: str, definition: Mapping[str, Any], source: str) -> Architecture:
    """An architecture from a config entry or plugin mapping: ``builder`` (or ``torchvision``:
    a model name, or ``timm``: a model name or folder; none of them: recorded elsewhere),
    ``layers`` and optionally ``image_size``, ``options`` and ``channels_last``.  Without
    ``layers`` (the spec of a job that only builds the network, e.g. training) it has no
    read-out points."""
    if isinstance(definition, Architecture):
        return definition
    builder = definition.get("builder")
    for key, prefix in (("torchvision", TORCHVISION), ("timm", TIMM)):
        if definition.get(key):
            builder = prefix + str(definition[key])
    return Architecture(
        name, builder, dict(definition.get("layers", {})), definition.get("image_size"), source,
        dict(definition.get("options") or {}), tuple(definition.get("channels_last") or ()),
    )


def register(definitions: Mapping[str, Mapping[str, Any]]) -> None:
    """Make config-defined architectures ({name: definition}) known to this process."""
    for name, definition in definitions.items():
        _CONFIGURED[name] = from_definition(name, definition, "config")


def is_recorded(name: str) -> bool:
    """Whether ``name`` is a config-defined architecture without a builder (registered)."""
    found = _CONFIGURED.get(name)
    return found is not None and found.recorded


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
