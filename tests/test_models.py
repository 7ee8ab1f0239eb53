"""Architectures: read-out points exist, sit after the ReLU and before pooling."""

from __future__ import annotations

import pytest
import torch

from convergent import models


def readout_shapes(arch, x):
    net = models.build(arch, num_classes=10, in_channels=x.shape[1], image_size=x.shape[-1]).eval()
    out = {}
    for name, path in models.READOUTS[arch].items():
        net.get_submodule(path).register_forward_hook(
            lambda _m, _i, o, name=name: out.__setitem__(name, o.detach().clone())
        )
    with torch.no_grad():
        logits = net(x)
    return out, logits


@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32)])
def test_alexnet_small_readouts_are_post_relu_pre_pool(channels, size):
    out, logits = readout_shapes("alexnet_small", torch.randn(2, channels, size, size))
    assert list(out) == list(models.layer_names("alexnet_small"))
    assert logits.shape == (2, 10)
    # pre-pool: conv1 keeps the input resolution, conv2 the resolution after one pool
    assert out["conv1"].shape[-1] == size and out["conv2"].shape[-1] == (size + 1) // 2
    assert out["conv3"].shape[-1] == out["conv5"].shape[-1]
    assert out["fc6"].dim() == 2
    for value in out.values():
        assert value.min() >= 0  # after ReLU
    for name in ("conv1", "conv2", "conv5"):
        assert (out[name] == 0).any()  # the ReLU zeros are there, not pooled away


def test_torchvision_alexnet_readouts():
    out, logits = readout_shapes("alexnet_torchvision", torch.randn(1, 3, 224, 224))
    assert [v.shape[1] for v in out.values()] == [64, 192, 384, 256, 256, 4096, 4096]
    assert out["conv1"].shape[-1] == 55 and logits.shape == (1, 10)


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(ValueError, match="alexnet_small"):
        models.build("lenet", 10, 1, 28)
