"""Datasets: Fashion-MNIST from the Debian package, a tiny ImageFolder, the probe set, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from convergent.data import datasets, layout, modules
from convergent.data import probe as probes
from convergent.io import InputError


def make_image_folder(root, classes=("cat", "dog"), per_class=6, size=40, corrupt=False):
    """A tiny ImageNet-style tree: root/{train,val}/<class>/*.png with class-coloured noise."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for k, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 80, size=(size, size, 3), dtype=np.uint8)
                pixels[..., k % 3] += 150
                Image.fromarray(pixels).save(folder / f"{i}.png")
    if corrupt:
        (root / "val" / classes[0] / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return root


def test_fashion_mnist_loads_from_the_debian_package():
    test = datasets.load_fashion_mnist(None, "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert sorted(test.labels.unique().tolist()) == list(range(10))


def test_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    def offline():
        raise OSError("no network")

    monkeypatch.setattr(layout, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    monkeypatch.setattr(layout, "DOWNLOAD_ROOT", tmp_path / "nowhere")
    monkeypatch.setattr(datasets, "download_fashion_mnist", offline)
    with pytest.raises(InputError, match=r"nowhere: no Fashion-MNIST.*download failed.*apt-get"):
        datasets.load_fashion_mnist(None, "train")


def test_a_named_fashion_mnist_path_is_used_or_refused_never_replaced(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert layout.DEBIAN_FASHION_MNIST.is_dir()  # the copy the old code fell back to
    with pytest.raises(InputError) as caught:
        datasets.load_fashion_mnist(str(tmp_path), "train")
    assert str(caught.value) == (
        f"dataset.path: '{tmp_path}' lacks train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz; point dataset.path at a folder with the four Fashion-MNIST "
        "*-ubyte.gz files, or set it to null (Debian package or download)"
    )


def test_corrupt_idx_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    for split in datasets.FASHION_MNIST_FILES.values():
        for name in split:
            (tmp_path / name).write_bytes(b"not gzip")
    with pytest.raises(InputError, match=r"train-images-idx3-ubyte.gz: not a valid gzipped IDX"):
        datasets.load_fashion_mnist(str(tmp_path), "train")


def test_probe_indices_are_seeded_sorted_and_bounded():
    a, b = probes.probe_indices(100, 10, seed=3), probes.probe_indices(100, 10, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.diff(a) > 0) and len(set(a)) == 10
    assert not np.array_equal(a, probes.probe_indices(100, 10, seed=4))
    with pytest.raises(InputError, match="probe.size = 101"):
        probes.probe_indices(100, 101, seed=0)


def test_device_batches_order_depends_only_on_seed_and_epoch():
    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1)
    d = datasets.ImageTensors(images, torch.arange(40))

    def batches(seed, epoch):
        return [
            y.tolist()
            for _, y in modules.DeviceBatches(d, 8, seed, flip=False, epoch_of=lambda: epoch)
        ]

    assert batches(0, 0) == batches(0, 0)
    assert batches(0, 0) != batches(0, 1) and batches(0, 0) != batches(1, 0)
    assert sorted(sum(batches(0, 2), [])) == list(range(40))
    evaluation = [y.tolist() for _, y in modules.DeviceBatches(d, 16, None, flip=False)]
    assert sum(evaluation, []) == list(range(40))


def test_image_folder_probe_and_training_data(tmp_path):
    root = make_image_folder(tmp_path / "imgs")
    spec = datasets.DataSpec("imagefolder", str(root))
    assert spec.shape("alexnet_small") == (2, 3, 64)
    probe, batches = probes.probe_batches(
        spec, {"split": "test", "size": 5, "seed": 0, "batch_size": 4}, "alexnet_small"
    )
    shapes = [tuple(x.shape) for x in batches]
    assert shapes == [(4, 3, 64, 64), (1, 3, 64, 64)]
    assert set(probe.label.tolist()) <= {0, 1}


def test_probe_batches_in_a_given_order_are_the_probe_images_reordered(tmp_path):
    """The shuffled-pairing null's pass: probe images ``order`` (positions in the probe set),
    batched in that order, for an ImageFolder and an in-memory dataset alike."""
    root = make_image_folder(tmp_path / "imgs")
    cfg = {"split": "test", "size": 7, "seed": 0, "batch_size": 3}
    order = np.array([3, 0, 6, 1, 5, 2, 4])
    for spec in (datasets.DataSpec("imagefolder", str(root)),
                 datasets.DataSpec("fashion_mnist")):
        probe, batches = probes.probe_batches(spec, cfg, "alexnet_small")
        shuffled_probe, shuffled = probes.probe_batches(spec, cfg, "alexnet_small", order)
        images, reordered = torch.cat(list(batches)), list(shuffled)
        assert shuffled_probe.hash == probe.hash  # the same probe set
        assert [len(x) for x in reordered] == [3, 3, 1]
        assert torch.equal(torch.cat(reordered), images[torch.from_numpy(order)])
        assert not torch.equal(torch.cat(reordered), images)


def test_corrupt_image_and_empty_folder_are_reported(tmp_path):
    root = make_image_folder(tmp_path / "imgs", corrupt=True)
    spec = datasets.DataSpec("imagefolder", str(root))
    probe, batches = probes.probe_batches(
        spec, {"split": "test", "size": 12, "seed": 0, "batch_size": 12}, "alexnet_small"
    )
    with pytest.raises(InputError, match=r"val/cat/0.png: corrupt or truncated image"):
        list(batches)
    (tmp_path / "empty" / "train" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "val").mkdir(parents=True)
    with pytest.raises(InputError, match=r"val: no images found"):
        datasets.image_folder(str(tmp_path / "empty"), "test", train=False, size=32)


def test_image_folder_without_train_is_one_error_naming_the_path(tmp_path):
    (tmp_path / "val" / "cat").mkdir(parents=True)
    spec = datasets.DataSpec("imagefolder", str(tmp_path))
    with pytest.raises(InputError, match=rf"^dataset.path: '{tmp_path}' lacks train/; point"):
        spec.shape("alexnet_small")
    with pytest.raises(InputError, match=r"lacks train/"):
        datasets.image_folder(str(tmp_path), "test", train=False, size=32)


def test_random_crop_translates_each_image_within_the_padding():
    """Each image is its own shifted copy (by at most ``pad`` pixels, black where it moved in)."""
    images = torch.arange(4 * 1 * 6 * 6, dtype=torch.uint8).reshape(4, 1, 6, 6) + 1
    gen = torch.Generator().manual_seed(0)
    out = modules.random_crop(images, 2, gen)
    assert out.shape == images.shape and out.dtype == images.dtype
    shifts = set()
    for k in range(4):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(out[k], _shifted(images[k], dy, dx))]
        assert found, f"image {k} is no translation of its input"
        shifts.add(found[0])
    assert len(shifts) > 1  # each image draws its own offset


def _shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    h, w = x.shape[-2:]
    return padded[..., 2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w]


def test_the_config_check_runs_without_the_torch_stack():
    """Snakemake checks the config at every start, dry runs included: importing torch and
    Lightning there cost 5 s per start (the data checks read the files only)."""
    import subprocess
    import sys

    from workflow_runs import ROOT

    code = (
        "import sys, yaml; from convergent import study; "
        f"c = yaml.safe_load(open({str(ROOT / 'config' / 'config.yaml')!r})); "
        f"study.validate(c, {str(ROOT / 'config' / 'schema.yaml')!r}); "
        "print(sorted(m for m in ('torch', 'pytorch_lightning', 'torchvision')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
