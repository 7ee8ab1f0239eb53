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


# ------------------------------------------------------------------ the steps, streamed vs dumped
STEP_LAYERS = ["conv1", "conv3", "fc7"]
PROBE = {"split": "test", "size": 30, "seed": 0, "batch_size": 8, "dtype": "float32",
         "compression": "none"}
ANALYSIS = {"blocks": 3, "chunk_images": 7, "dead_unit_std": 1e-6, "mi_bins": 6,
            "mi_zero": 1e-6, "mi_quantile_samples": 1000, "mi_correction": "miller_madow",
            "mi_top_k": 4}
IDS = ["alexnet_small/i0-d0", "alexnet_small/i1-d1"]


def _run(step, spec, **args):
    import argparse

    step(argparse.Namespace(spec=spec, **args))


def _arrays(path) -> dict:
    """Every dataset and attribute of an HDF5 file, by path."""
    import h5py

    out = {}
    with h5py.File(path) as f:
        def visit(name, obj):
            out.update({f"{name}@{k}": v for k, v in obj.attrs.items()})
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def _assert_same(got_path, want_path):
    got, want = _arrays(got_path), _arrays(want_path)
    assert got.keys() == want.keys()
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


@pytest.fixture(scope="module")
def step_run(tmp_path_factory):
    """Two untrained nets on 30 Fashion-MNIST probe images: the dump-based steps (dump,
    moments, compare, mutual-information, top-units) and the streamed ones, both on the CPU
    (the dump step runs there; a GPU's convolutions would round differently)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("convergent.moments.forward.device", lambda: torch.device("cpu"))
        yield _step_run(tmp_path_factory.mktemp("steps"))


def _step_run(root):
    from convergent.steps import activations as act
    from convergent.steps import compare, li_analyses, stream
    from convergent.training import save_untrained

    dataset = {"name": "fashion_mnist"}
    ckpt, dumps, moments = ([root / f"{kind}{k}.{ext}" for k in range(2)]
                            for kind, ext in (("model", "ckpt"), ("dump", "h5"), ("moments", "h5")))
    for k, model in enumerate(IDS):
        save_untrained({"arch": "alexnet_small", "dataset": dataset, "init_seed": k}, ckpt[k])
        base = {"arch": "alexnet_small", "model": model, "dataset": dataset, "layers": STEP_LAYERS}
        _run(act.dump, {**base, "replicate": 0, "probe": PROBE}, checkpoint=str(ckpt[k]),
             out=str(dumps[k]))
        _run(act.moments, {**base, "analysis": ANALYSIS}, activations=str(dumps[k]),
             out=str(moments[k]))
        _run(li_analyses.top_units, {**base, "chunk_images": 7, "patches": 3},
             activations=str(dumps[k]), out=str(root / f"units{k}.h5"))
        _run(stream.stream_top_units, {**base, "probe": PROBE, "patches": 3},
             checkpoint=str(ckpt[k]), out=str(root / f"units{k}-streamed.h5"))
    models = {"a": IDS[:1], "b": IDS[1]}
    pairs = [str(root / "pairs" / f"{layer}.h5") for layer in STEP_LAYERS]
    (root / "pairs").mkdir()
    for layer, pair in zip(STEP_LAYERS, pairs, strict=True):
        block = {"a": [str(dumps[0])], "b": str(dumps[1]), "layer": layer}
        _run(compare.compare, {"models": models, "analysis": ANALYSIS}, **block,
             moments_a=[str(moments[0])], moments_b=str(moments[1]), out=pair)
        _run(li_analyses.mutual_information, {"models": models, "analysis": ANALYSIS}, **block,
             pair=pair, out=str(root / f"mi-{layer}.h5"))
    spec = {"arch": "alexnet_small", "models": models, "dataset": dataset, "probe": PROBE,
            "layers": STEP_LAYERS, "analysis": ANALYSIS}
    _run(stream.stream_mutual_information, spec, checkpoint_a=[str(ckpt[0])],
         checkpoint_b=str(ckpt[1]), pairs=pairs, out_dir=str(root / "mi-streamed"))
    return root


def test_streamed_top_units_equal_the_dump_based_ones(step_run):
    from convergent.io.layouts import TopUnitsFile

    for k in range(2):
        _assert_same(step_run / f"units{k}-streamed.h5", step_run / f"units{k}.h5")
        top = TopUnitsFile(step_run / f"units{k}.h5").layer("conv1")
        # 3 distinct images per unit, best first, at positions inside conv1's map
        assert top.image.shape[1] == 3 and np.all(np.diff(top.value, axis=1) <= 0)
        assert all(len(set(row)) == 3 for row in top.image)


def test_streamed_mutual_information_equals_the_dump_based_one(step_run):
    """The same histograms from float32 dumps read in chunks of 7 images within blocks of 10
    as from the float32 forward pass in batches of 8 cut into pieces of 7 and 1: the quantile
    subsample (1000 of the 30 x 784 conv1 rows), edges, counts and MI are equal, not close."""
    from convergent.io.layouts import MutualInformationFile

    for layer in STEP_LAYERS:
        streamed = step_run / "mi-streamed" / f"{layer}.h5"
        _assert_same(streamed, step_run / f"mi-{layer}.h5")
        f = MutualInformationFile(streamed, "i0-d0", models=tuple(IDS))
        assert f.attrs["layer"] == layer and f.attrs["bins"] == 6
        info = f.information()
        assert np.all(np.isfinite(info.value)) and info.value.max() > 0


def test_pair_files_out_of_layer_order_are_refused_and_nothing_is_written(
    step_run, tmp_path, monkeypatch
):
    from convergent.io import InputError
    from convergent.steps import stream

    spec = {"arch": "alexnet_small", "models": {"a": IDS[:1], "b": IDS[1]},
            "dataset": {"name": "fashion_mnist"}, "probe": PROBE, "layers": STEP_LAYERS,
            "analysis": ANALYSIS}
    pairs = [str(step_run / "pairs" / f"{layer}.h5") for layer in reversed(STEP_LAYERS)]
    monkeypatch.setattr("convergent.moments.forward.device", lambda: torch.device("cpu"))
    with pytest.raises(InputError, match="fc7.h5: a pair file of layer 'fc7', given as 'conv1'"):
        _run(stream.stream_mutual_information, spec, checkpoint_a=[str(step_run / "model0.ckpt")],
             checkpoint_b=str(step_run / "model1.ckpt"), pairs=pairs, out_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []
