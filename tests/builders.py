"""Networks the tests bring as a researcher would: a builder module that imports torch and
nothing else.  Study configs name ``builders:tiny_cnn``; every job of such a study and the
config check import this module (tests/ is on their PYTHONPATH), so it stays as light as a
user's would be: a test module here would bring pytest and Lightning into each of them."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


def tiny_cnn(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """A small CNN a researcher might bring: conv-relu-pool twice, one hidden fc layer."""
    side = image_size // 4
    return nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(in_channels, 6, 3, padding=1),
            relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(6, 8, 3, padding=1),
            relu2=nn.ReLU(),
            pool2=nn.MaxPool2d(2),
            flatten=nn.Flatten(),
            fc1=nn.Linear(8 * side * side, 24),
            relu3=nn.ReLU(),
            out=nn.Linear(24, num_classes),
        )
    )
