"""Receptive fields from the architecture, checked against input gradients and hand values."""

import numpy as np
import pytest
import torch

from convergent import models
from convergent.models.receptive_field import ReceptiveField, crop, receptive_field


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return models.build("alexnet_small", 10, 1, 28).eval()


def test_alexnet_small_fields_by_hand(net):
    # conv1 5x5 pad 2; pool 3/2 pad 1; conv2 3x3 pad 1; pool 3/2 pad 1; conv3-5 3x3 pad 1
    expected = {
        "conv1": (5, 1, -2),
        "conv2": (11, 2, -5),
        "conv3": (23, 4, -11),
        "conv4": (31, 4, -15),
        "conv5": (39, 4, -19),
    }
    for layer, (size, stride, first) in expected.items():
        rf = receptive_field(net, models.READOUTS["alexnet_small"][layer])
        assert (rf.size, rf.stride, rf.first) == (size, stride, first)
    assert receptive_field(net, models.READOUTS["alexnet_small"]["fc6"]) is None


def input_support(net, readout, i, j):
    """Input pixels whose change moves some unit at position (i, j): non-zero input gradient of
    the sum over channels, united over random inputs (max-pool routes it to one input)."""
    seen = np.zeros((28, 28), dtype=bool)
    out = {}
    hook = net.get_submodule(readout).register_forward_hook(lambda m, a, o: out.update(y=o))
    for seed in range(3):
        x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
        x.requires_grad_(True)
        net.features(x)
        out["y"][0, :, i, j].sum().backward()
        seen |= x.grad[0, 0].abs().numpy() > 0
    hook.remove()
    return seen


def test_crop_window_contains_every_influencing_pixel(net):
    for layer, (i, j) in {"conv1": (10, 12), "conv2": (5, 6), "conv3": (3, 3)}.items():
        readout = models.READOUTS["alexnet_small"][layer]
        rf = receptive_field(net, readout)
        support = input_support(net, readout, i, j)
        assert support.any()
        top, left = rf.window(i, j)
        rows, cols = np.nonzero(support)
        assert rows.min() >= top and rows.max() < top + rf.size
        assert cols.min() >= left and cols.max() < left + rf.size
        if layer == "conv1":  # no pooling: every pixel of the 5x5 window matters
            assert (rows.min(), rows.max(), cols.min(), cols.max()) == (8, 12, 10, 14)


def test_crop_has_field_size_and_fills_padding():
    image = np.arange(2 * 28 * 28, dtype=float).reshape(2, 28, 28)
    rf = ReceptiveField(11, 2, -5)
    inside = crop(image, rf, 5, 5)
    assert inside.shape == (2, 11, 11)
    np.testing.assert_array_equal(inside, image[:, 5:16, 5:16])
    corner = crop(image, rf, 0, 0, fill=-1)
    assert corner.shape == (2, 11, 11)
    assert np.all(corner[:, :5, :] == -1) and np.all(corner[:, :, :5] == -1)
    np.testing.assert_array_equal(corner[:, 5:, 5:], image[:, :6, :6])
    assert crop(image, None, 0, 0) is image
