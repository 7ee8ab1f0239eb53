"""The fc6 → fc7 → fc8 classifier head shared by the AlexNet-style architectures."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


def fc_head(in_features: int, width: int, num_classes: int, dropout: float = 0.5) -> nn.Sequential:
    """flatten, fc6-ReLU-dropout, fc7-ReLU-dropout, fc8 (logits); ReLUs are the read-outs."""
    return nn.Sequential(
        OrderedDict(
            [
                ("flatten", nn.Flatten()),
                ("fc6", nn.Linear(in_features, width)),
                ("relu6", nn.ReLU()),
                ("drop6", nn.Dropout(dropout)),
                ("fc7", nn.Linear(width, width)),
                ("relu7", nn.ReLU()),
                ("drop7", nn.Dropout(dropout)),
                ("fc8", nn.Linear(width, num_classes)),
            ]
        )
    )
