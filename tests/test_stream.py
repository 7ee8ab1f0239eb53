"""probe.stream: moments streamed from the forward pass equal those computed from dumps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convergent import models
from convergent.io import activations
from convergent.io.activations import ActivationFile
from convergent.moments import block_bounds, cross_moments, layer_moments
from convergent.moments.forward import block_pieces, network_cross_moments, network_moments

N_IMAGES, BLOCKS = 45, 4  # blocks of 11/11/12/11 images: batches of 8 straddle every boundary
LAYERS = ("conv1", "conv3", "fc7")


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return models.build("alexnet_small", 10, 1, 28).eval()


def _batches(images: torch.Tensor, size: int = 8):
    return (images[i : i + size] for i in range(0, len(images), size))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    images = torch.randn(N_IMAGES, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    readouts = {layer: models.READOUTS["alexnet_small"][layer] for layer in LAYERS}
    nets = [_net(0), _net(1)]
    files = []
    for k, net in enumerate(nets):
        path = tmp_path_factory.mktemp("dump") / f"m{k}.h5"
        attrs = {
            "model": f"alexnet_small/m{k}",
            "architecture": "alexnet_small",
            "init_seed": k,
            "data_seed": k,
            "replicate": 0,
            "checkpoint_sha256": "0" * 64,
            "dataset": "planted",
            "probe_set": "planted",
            "probe_hash": "p",
        }
        index, label = np.arange(N_IMAGES), np.zeros(N_IMAGES, dtype=int)
        # same batches as the streamed pass (as in the workflow: probe.batch_size): float32
        # network outputs depend on the batch size through the GEMM blocking
        activations.dump(net, readouts, _batches(images), N_IMAGES, path, attrs, index, label)
        files.append(path)
    return images, readouts, nets, files


def test_block_pieces_split_a_batch_at_block_boundaries():
    bounds = block_bounds(45, 4)  # (0,11) (11,22) (22,34) (34,45)
    assert list(block_pieces(8, 16, bounds)) == [(0, 0, 3), (1, 3, 8)]
    assert list(block_pieces(0, 45, bounds)) == [(0, 0, 11), (1, 11, 22), (2, 22, 34), (3, 34, 45)]


def test_streamed_moments_equal_the_dump_based_moments(setup):
    images, readouts, nets, files = setup
    streamed = network_moments(nets[0], readouts, _batches(images), N_IMAGES, BLOCKS)
    with ActivationFile(files[0]) as f:
        for layer in LAYERS:
            ref = layer_moments(f, layer, BLOCKS, chunk_images=5)
            got = streamed[layer]
            np.testing.assert_array_equal(got.count, ref.count)
            # conv: images x positions samples; fc: one sample per image
            assert (ref.count.sum() == N_IMAGES) == layer.startswith("fc")
            np.testing.assert_allclose(got.sum_x, ref.sum_x, rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(got.sum_xy, ref.sum_xy, rtol=1e-10, atol=1e-9)


def test_streamed_cross_moments_equal_the_dump_based_ones(setup):
    images, readouts, nets, files = setup
    streamed = network_cross_moments(nets[0], nets[1], readouts, _batches(images), N_IMAGES, BLOCKS)
    with ActivationFile(files[0]) as fa, ActivationFile(files[1]) as fb:
        for layer in LAYERS:
            ref = cross_moments(fa, fb, layer, BLOCKS, chunk_images=7)
            got = streamed[layer]
            np.testing.assert_array_equal(got.count, ref.count)
            np.testing.assert_allclose(got.sum_x, ref.sum_x, rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(got.sum_y, ref.sum_y, rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(got.sum_xy, ref.sum_xy, rtol=1e-10, atol=1e-9)
            # the two nets differ: the cross moments are not one net's moments
            assert not np.allclose(got.sum_x, got.sum_y)


def test_a_probe_that_ends_early_is_an_error(setup):
    images, readouts, nets, _ = setup
    with pytest.raises(RuntimeError, match="expected 45"):
        network_moments(nets[0], readouts, _batches(images[:40]), N_IMAGES, BLOCKS)
