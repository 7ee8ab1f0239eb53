"""torchvision's AlexNet (single-tower, no grouping) for ImageFolder / ImageNet-sized input.

Read-out points are the ReLUs of ``features`` and ``classifier`` (see ``READOUTS``).
"""

from __future__ import annotations

from torch import nn
from torchvision.models import alexnet


def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    if in_channels != 3:
        raise ValueError("alexnet_torchvision expects RGB input (3 channels)")
    return alexnet(weights=None, num_classes=num_classes)
