"""A small VGG-style CNN for 28×28 (Fashion-MNIST) or 32×32 (CIFAR-10) images: a second
architecture for cross-architecture similarity.

Stacks of 3×3 convolutions with batch normalisation (conv1–conv2 at full resolution, 2×2 max
pool, conv3–conv4, pool, conv5, pool), then global average pooling and fc6, fc7 (256, dropout),
fc8 = logits.  The read-out layers carry the same names as the AlexNet-style net (conv1 … fc7,
post-ReLU, pre-pool), so one ``layers`` list serves both and layers correspond by relative depth.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from convergent.models.head import fc_head

WIDTHS = (16, 16, 32, 32, 64)
FC_WIDTH = 256


def _conv(i: int, c_in: int, c_out: int) -> list[tuple[str, nn.Module]]:
    return [
        (f"conv{i}", nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)),
        (f"bn{i}", nn.BatchNorm2d(c_out)),
        (f"relu{i}", nn.ReLU()),
    ]


def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    c1, c2, c3, c4, c5 = WIDTHS
    features = nn.Sequential(
        OrderedDict(
            _conv(1, in_channels, c1)
            + _conv(2, c1, c2)
            + [("pool2", nn.MaxPool2d(2))]
            + _conv(3, c2, c3)
            + _conv(4, c3, c4)
            + [("pool4", nn.MaxPool2d(2))]
            + _conv(5, c4, c5)
            + [("pool5", nn.AdaptiveAvgPool2d(1))]
        )
    )
    classifier = fc_head(c5, FC_WIDTH, num_classes, dropout=0.3)
    return nn.Sequential(OrderedDict([("features", features), ("classifier", classifier)]))
