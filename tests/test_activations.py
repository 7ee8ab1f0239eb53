"""HDF5 activation files: round trip, provenance checks, clear errors, atomic writes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import write_planted

from convergent import io
from convergent.io.activations import ActivationFile, check_same_probe

rng = np.random.default_rng(1)


def test_round_trip_keeps_shapes_values_and_attributes(tmp_path):
    conv = rng.uniform(size=(23, 4, 6, 6)).astype(np.float32)
    fc = rng.uniform(size=(23, 9)).astype(np.float32)
    path = write_planted(tmp_path / "a.h5", {"conv1": conv, "fc6": fc}, model="alexnet_small/i3-d4")
    with ActivationFile(path, model="alexnet_small/i3-d4") as f:
        assert f.n_images == 23 and f.units("conv1") == 4 and f.units("fc6") == 9
        np.testing.assert_array_equal(f.layer("conv1")[()], conv)
        np.testing.assert_array_equal(f.layer("fc6")[()], fc)
        assert f.attrs["model"] == "alexnet_small/i3-d4"
        assert f.attrs["readout"].startswith("post-ReLU")
        assert f.layer("conv1").attrs["kind"] == "conv" and f.layer("fc6").attrs["kind"] == "fc"
        assert f.layer("conv1").compression == "gzip" and f.layer("conv1").chunks[1:] == (4, 6, 6)
        samples = f.samples("conv1", 2, 5)
        assert samples.shape == (3 * 36, 4) and samples.dtype == np.float64
        np.testing.assert_array_equal(samples[:36], conv[2].reshape(4, 36).T)
        np.testing.assert_array_equal(f.file["probe/index"][()], np.arange(23))


def test_missing_layer_names_the_file_and_the_layers_it_has(tmp_path):
    path = write_planted(tmp_path / "a.h5", {"conv1": np.ones((3, 2, 2, 2))})
    with (
        ActivationFile(path) as f,
        pytest.raises(io.InputError, match=r"a\.h5.*no layer 'fc7'.*conv1"),
    ):
        f.layer("fc7")


def test_a_file_holding_another_model_is_refused(tmp_path):
    # what a results/activations/<arch>/<model>.h5 moved or swapped by hand looks like
    path = write_planted(tmp_path / "i1-d1.h5", {"fc6": np.ones((3, 2))},
                         model="alexnet_small/i0-d0")
    expected = r"i1-d1\.h5: holds model 'alexnet_small/i0-d0', expected 'alexnet_small/i1-d1'"
    with pytest.raises(io.InputError, match=expected):
        ActivationFile(path, model="alexnet_small/i1-d1")
    for expected in ("vgg_small/i0-d0", "alexnet_small/i0-d0-r1"):
        with pytest.raises(io.InputError, match="holds model"):
            ActivationFile(path, model=expected)


def test_different_probe_sets_cannot_be_compared(tmp_path):
    a = write_planted(tmp_path / "a.h5", {"fc6": np.ones((3, 2))}, probe_hash="p0")
    b = write_planted(tmp_path / "b.h5", {"fc6": np.ones((3, 2))}, probe_hash="p1")
    with ActivationFile(a) as fa, ActivationFile(b) as fb:
        with pytest.raises(io.InputError, match=r"a\.h5 and .*b\.h5 differ in probe_hash"):
            check_same_probe(fa, fb)


def test_truncated_and_foreign_files_give_one_clear_error(tmp_path):
    good = write_planted(tmp_path / "a.h5", {"fc6": np.ones((300, 50))})
    truncated = tmp_path / "t.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(io.InputError, match=r"t\.h5: not a readable HDF5.*truncated or corrupt"):
        ActivationFile(truncated)
    foreign = tmp_path / "f.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    with pytest.raises(io.InputError, match=r"f\.h5: expected a activations file"):
        ActivationFile(foreign)
    with pytest.raises(io.InputError, match="not found"):
        ActivationFile(tmp_path / "missing.h5")


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("precious")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with io.atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_atomic_outputs_honour_the_umask_and_clear_a_killed_writers_temp_files(tmp_path):
    import os

    stale = tmp_path / ".out.h5.k1ll3d.tmp"  # what a job killed mid-write leaves behind
    stale.write_bytes(b"partial")
    old = os.umask(0o022)
    try:
        write_planted(tmp_path / "out.h5", {"fc6": rng.uniform(size=(5, 3))})
        os.umask(0o027)
        with io.atomic_path(tmp_path / "group.csv") as tmp:
            tmp.write_text("x\n")
    finally:
        os.umask(old)
    assert (tmp_path / "out.h5").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "group.csv").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["group.csv", "out.h5"]
