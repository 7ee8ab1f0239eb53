"""An architecture of the registry (:mod:`convergent.models`): its builder, its read-out points,
and what building and checking it takes.  Nothing here imports torch at import time."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

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
