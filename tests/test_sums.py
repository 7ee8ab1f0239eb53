"""Where a job's float64 sums are accumulated (analysis.sums_device): torch's path (run here on
the CPU, the code a GPU runs) gives numpy's sums and every similarity number to 1e-12, and
``auto`` picks the GPU only where there is one and the products are large."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_similarity_pair import OPTS, write_dump

from convergent.io import InputError
from convergent.io.activations import ActivationFile
from convergent.moments import (
    cross_moments,
    layer_moments,
    pair_moments,
    paired_cross_moments,
    sums,
)
from convergent.steps.similarity.dumps import pair_rows

TORCH = "torch:cpu"  # torch's accumulation, on the CPU


@pytest.fixture
def dumps(tmp_path):
    layers = {"conv1": (3, 4, 4), "fc7": (5,)}
    write_dump(tmp_path / "a.h5", "i0-d0", layers, 0)
    write_dump(tmp_path / "b.h5", "i1-d1", layers, 1)
    return ActivationFile(tmp_path / "a.h5"), ActivationFile(tmp_path / "b.h5")


def assert_same(a, b):
    for name in ("count", "sum_x", "sum_y", "sum_xy"):
        x, y = getattr(a, name), getattr(b, name)
        assert isinstance(x, np.ndarray) and x.dtype == np.float64
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=0)


def test_torch_sums_equal_numpy_sums_for_every_dump_route(dumps):
    fa, fb = dumps
    perm = np.random.default_rng(0).permutation(20)
    for layer in ("conv1", "fc7"):
        for conv in ("positions", "mean"):
            assert_same(layer_moments(fa, layer, 3, 4, convention=conv),
                        layer_moments(fa, layer, 3, 4, convention=conv, sums_device=TORCH))
            for numpy_m, torch_m in zip(
                    pair_moments(fa, layer, fb, layer, conv, 3, 4),
                    pair_moments(fa, layer, fb, layer, conv, 3, 4, sums_device=TORCH),
                    strict=True):
                assert_same(numpy_m, torch_m)
            assert_same(paired_cross_moments(fa, layer, fb, layer, conv, 3, 4, perm),
                        paired_cross_moments(fa, layer, fb, layer, conv, 3, 4, perm,
                                             sums_device=TORCH))
        assert_same(cross_moments(fa, fb, layer, 3, 4),
                    cross_moments(fa, fb, layer, 3, 4, sums_device=TORCH))


def test_similarity_rows_are_the_same_numbers_with_torch_sums(dumps):
    fa, fb = dumps
    rows = {}
    for device in ("cpu", TORCH):
        rows[device] = pd.DataFrame(
            pair_rows(fa, fb, ["conv1", "fc7"], replace(OPTS, sums_device=device), 3, 4))
    numpy_rows, torch_rows = rows["cpu"], rows[TORCH]
    assert len(numpy_rows) > 10 and list(numpy_rows.columns) == list(torch_rows.columns)
    for column in numpy_rows.columns:
        if pd.api.types.is_float_dtype(numpy_rows[column]):
            np.testing.assert_allclose(torch_rows[column], numpy_rows[column], rtol=1e-12,
                                       atol=1e-14, err_msg=column)
        else:
            assert torch_rows[column].tolist() == numpy_rows[column].tolist(), column


def test_auto_uses_a_gpu_only_where_there_is_one_and_the_products_are_large(monkeypatch):
    large, small = 10 * sums.AUTO_MIN_FLOP, sums.AUTO_MIN_FLOP / 10
    monkeypatch.setattr(sums, "_cuda", lambda: False)
    assert sums.backend("auto", large) is None and sums.backend("cpu", large) is None
    with pytest.raises(InputError, match=r"^analysis.sums_device: cuda, but") as caught:
        sums.backend("cuda", large)
    assert "\n" not in str(caught.value)
    monkeypatch.setattr(sums, "_cuda", lambda: True)
    assert sums.backend("auto", large) == "cuda" and sums.backend("auto", small) is None
    assert sums.backend("cuda", small) == "cuda" and sums.backend("cpu", large) is None
    assert sums.spec_sums_device({}) == "auto"  # the step's spec leaves the default out


@pytest.mark.parametrize("device", ["auto", "cuda"])
def test_the_workflow_passes_sums_device_to_the_summing_jobs_off_its_default(tmp_path, device):
    """The moments, compare and similarity jobs get analysis.sums_device in their spec, and
    only when it is not the default (auto: the specs of existing studies stay as they were)."""
    import subprocess

    import workflow_runs

    config = {**workflow_runs.TINY_STUDY, "similarity": {"enabled": True, "bootstrap": 10},
              "analysis": {**workflow_runs.TINY_STUDY["analysis"], "sums_device": device}}
    configfile = workflow_runs.write_config(tmp_path, config)
    proc = subprocess.run(
        workflow_runs.snakemake_args(configfile, tmp_path, "--dry-run", "--printshellcmds",
                                     "--cores", "1"),
        cwd=workflow_runs.ROOT, env=workflow_runs.env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    steps = {}
    for line in proc.stdout.splitlines():
        if line.startswith("Shell command: convergent "):
            steps.setdefault(line.split()[3], []).append('"sums_device"' in line)
    summing = {"moments", "compare", "similarity"}
    assert summing <= set(steps) and {"train", "dump"} <= set(steps)
    for step, has in steps.items():
        assert set(has) == {device != "auto" and step in summing}, step
