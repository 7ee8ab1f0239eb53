"""Architecture registry.

Each architecture is one module in this package with a ``build(num_classes, in_channels,
image_size)`` function.  Its named read-out points live here, as plain strings, so that the
workflow can validate a config's layer names without importing torch.

Read-out point (Li et al. 2016): the output of each layer's ReLU, *before* pooling and local
response normalisation.  One channel of a conv layer is one unit; its samples are images ×
spatial positions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

_CONV_FC = {
    "conv1": "features.relu1",
    "conv2": "features.relu2",
    "conv3": "features.relu3",
    "conv4": "features.relu4",
    "conv5": "features.relu5",
    "fc6": "classifier.relu6",
    "fc7": "classifier.relu7",
}

#: architecture name -> {layer name: dotted path of the module whose output is read}
READOUTS: dict[str, dict[str, str]] = {
    "alexnet_small": _CONV_FC,
    "vgg_small": _CONV_FC,  # same module names: features.relu1..5, classifier.relu6/7
    "alexnet_torchvision": {
        "conv1": "features.1",
        "conv2": "features.4",
        "conv3": "features.7",
        "conv4": "features.9",
        "conv5": "features.11",
        "fc6": "classifier.2",
        "fc7": "classifier.5",
    },
    # Li et al. 2016's CaffeNet: same named ReLUs (before pool and LRN) as alexnet_small
    "caffenet": _CONV_FC,
}

ARCHITECTURES = tuple(READOUTS)


def layer_names(arch: str) -> tuple[str, ...]:
    """The read-out layers of ``arch``, input to output."""
    return tuple(READOUTS[arch])


def relative_depth(arch: str, layer: str) -> float:
    """Index of ``layer`` among ``arch``'s read-out layers, scaled to [0, 1]."""
    names = layer_names(arch)
    return names.index(layer) / max(len(names) - 1, 1)


def build(arch: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """Construct an untrained network; the caller seeds the RNG."""
    if arch not in READOUTS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    module = importlib.import_module(f"{__name__}.{arch}")
    return module.build(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
