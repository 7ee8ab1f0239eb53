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

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from convergent.models.architecture import DEFAULT_IMAGE_SIZE, TIMM, TORCHVISION, Architecture

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "ARCHITECTURES", "BUILT_IN", "DEFAULT_IMAGE_SIZE", "ENTRY_POINT_GROUP", "READOUTS", "TIMM",
    "TORCHVISION", "Architecture", "architecture", "build", "from_definition", "image_size",
    "is_recorded", "known_names", "layer_names", "plugin_names", "register", "relative_depth",
]

#: the entry point group through which packages register architectures
ENTRY_POINT_GROUP = "convergent.architectures"

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
