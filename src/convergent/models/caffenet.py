"""CaffeNet (the BVLC reference AlexNet) without the two-GPU grouping: Li et al. 2016's networks.

Layers (227×227 RGB input; spatial size after each block in brackets):

    conv1  96 @ 11×11 stride 4  -> ReLU -> max-pool 3/2 -> LRN   [55 -> 27]
    conv2 256 @  5×5  pad 2     -> ReLU -> max-pool 3/2 -> LRN   [27 -> 13]
    conv3 384 @  3×3  pad 1     -> ReLU                          [13]
    conv4 384 @  3×3  pad 1     -> ReLU                          [13]
    conv5 256 @  3×3  pad 1     -> ReLU -> max-pool 3/2          [13 -> 6]
    fc6 4096 -> ReLU -> dropout 0.5;  fc7 4096 -> ReLU -> dropout 0.5;  fc8 = logits

Caffe conventions kept: pooling rounds up (``ceil_mode``), LRN(local_size 5, alpha 1e-4,
beta 0.75, k 1) divides alpha by the window size as ``nn.LocalResponseNorm`` does, and the
initialisation of the reference model (Gaussian weights, std 0.01, fc6/fc7 0.005; biases 0 for
conv1, conv3, fc8 and 1 elsewhere, so the ReLUs start active).  Read-out points are the named
ReLUs, i.e. after the ReLU and before pooling and LRN (``convergent.models.READOUTS``).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from convergent.models.head import fc_head

#: (out channels, kernel, stride, padding) of conv1..conv5
CONVS = ((96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1), (384, 3, 1, 1), (256, 3, 1, 1))
FC_WIDTH = 4096
#: Caffe reference init: weight std and bias value per layer
INIT = {
    "conv1": (0.01, 0.0),
    "conv2": (0.01, 1.0),
    "conv3": (0.01, 0.0),
    "conv4": (0.01, 1.0),
    "conv5": (0.01, 1.0),
    "fc6": (0.005, 1.0),
    "fc7": (0.005, 1.0),
    "fc8": (0.01, 0.0),
}


def _pooled(size: int) -> int:
    """Spatial size after Caffe's max-pool 3/2 (rounding up)."""
    return -(-(size - 3) // 2) + 1


def feature_side(image_size: int) -> int:
    """Spatial size of pool5 for a square input of ``image_size`` pixels (6 for 227)."""
    k, s, p = CONVS[0][1:]
    side = (image_size + 2 * p - k) // s + 1
    return _pooled(_pooled(_pooled(side)))


def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    (c1, k1, s1, p1), (c2, k2, _, p2), (c3, *_), (c4, *_), (c5, *_) = CONVS
    lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)  # noqa: E731
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    features = nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(in_channels, c1, k1, stride=s1, padding=p1)),
                ("relu1", nn.ReLU(inplace=False)),
                ("pool1", pool()),
                ("norm1", lrn()),
                ("conv2", nn.Conv2d(c1, c2, k2, padding=p2)),
                ("relu2", nn.ReLU()),
                ("pool2", pool()),
                ("norm2", lrn()),
                ("conv3", nn.Conv2d(c2, c3, 3, padding=1)),
                ("relu3", nn.ReLU()),
                ("conv4", nn.Conv2d(c3, c4, 3, padding=1)),
                ("relu4", nn.ReLU()),
                ("conv5", nn.Conv2d(c4, c5, 3, padding=1)),
                ("relu5", nn.ReLU()),
                ("pool5", pool()),
            ]
        )
    )
    side = feature_side(image_size)
    if side < 1:
        raise ValueError(f"caffenet needs images of at least 67 pixels, got {image_size}")
    classifier = fc_head(c5 * side * side, FC_WIDTH, num_classes)
    net = nn.Sequential(OrderedDict([("features", features), ("classifier", classifier)]))
    for name, module in [*features.named_children(), *classifier.named_children()]:
        if name in INIT:
            std, bias = INIT[name]
            nn.init.normal_(module.weight, 0.0, std)
            nn.init.constant_(module.bias, bias)
    return net
