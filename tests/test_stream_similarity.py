"""probe.stream: the similarity job streamed from the networks' forward pass gives the rows the
dump-based job gives on the same probe (one job of a later model: a within-architecture pair
and a cross-architecture pair whose conv3 grids differ)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from workflow_runs import ROOT

from convergent import study
from convergent.cli import main

# B = alexnet_small m1 is the later model of both pairs; vgg_small's conv2 and conv3 are on
# grids of their own (28x28, 14x14 where alexnet_small's are 14x14, 7x7: the positions
# convention falls back to mean there), conv1 on the same 28x28 grid.  At most 48 units a
# layer: even a bootstrap resample of one block (75 images) keeps every measure well posed
# (wider layers, such as fc7's 256 units, make the CCA family ill-conditioned there, and its
# CIs then differ in the 4th digit between any two orders of summation)
NETS = {"alexnet_small/m0": 0, "alexnet_small/m1": 1, "vgg_small/v0": 2}
PAIRS = [["alexnet_small/m0", "alexnet_small/m1"], ["vgg_small/v0", "alexnet_small/m1"]]
LAYERS = ["conv1", "conv2", "conv3"]
KEYS = ["analysis", "kind", "arch_a", "model_a", "arch_b", "model_b", "layer_a", "layer_b",
        "measure", "convention"]


def _config() -> dict:
    config = {
        "dataset": {"name": "fashion_mnist"},
        "architectures": ["alexnet_small", "vgg_small"],
        "models": [{"init_seed": 0}, {"init_seed": 1}],
        # 300 images in batches of 32 over 4 blocks of 75: batches straddle the boundaries
        "probe": {"size": 300, "batch_size": 32},
        "layers": LAYERS,
        "analysis": {"blocks": 4, "chunk_images": 5},
        "similarity": {"subsample": 16, "bootstrap": 10, "kendall": False},
    }
    study.validate(config, ROOT / "config" / "schema.yaml")
    return config


def _run(step: str, spec: dict, *args) -> None:
    main([step, "--spec", json.dumps(spec), *map(str, args)])


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """(config, {model: (checkpoint, dump, moments of the dump, streamed moments)}, folder)."""
    root = tmp_path_factory.mktemp("stream_similarity")
    config = _config()
    probe = {k: config["probe"][k] for k in ("split", "size", "seed", "batch_size")}
    analysis = {"blocks": 4, "chunk_images": 5}
    files = {}
    for model, seed in NETS.items():
        arch, name = model.split("/")
        ckpt, dump = root / f"{name}.ckpt", root / f"{name}.h5"
        moments, streamed = root / f"{name}.moments.h5", root / f"{name}.streamed.h5"
        _run("untrained", {"arch": arch, "init_seed": seed, "dataset": config["dataset"]},
             "--out", ckpt)
        _run("dump", {"arch": arch, "model": model, "replicate": 0, "dataset": config["dataset"],
                      "probe": {**probe, "dtype": "float32", "compression": "none"},
                      "layers": LAYERS}, "--checkpoint", ckpt, "--out", dump)
        _run("moments", {"model": model, "layers": LAYERS, "analysis": analysis},
             "--activations", dump, "--out", moments)
        _run("stream-moments", {"arch": arch, "model": model, "dataset": config["dataset"],
                                "probe": probe, "layers": LAYERS, "analysis": {"blocks": 4}},
             "--checkpoint", ckpt, "--out", streamed)
        files[model] = ckpt, dump, moments, streamed
    return config, files, root


def _spec(config: dict) -> dict:
    sim = {k: v for k, v in config["similarity"].items()
           if k not in ("enabled", "cross_architecture")}
    sim["nulls"] = {"shuffled": True}
    return {"models": PAIRS, "layers": LAYERS, "similarity": sim,
            "analysis": {"blocks": 4, "chunk_images": 5, "dead_unit_std": 1e-6},
            "dataset": config["dataset"],
            "probe": {k: config["probe"][k] for k in ("split", "size", "seed", "batch_size")}}


def _side(files, k, side):
    return [files[pair[side]][k] for pair in PAIRS]


@pytest.mark.parametrize("convention", ["positions", "mean"])
def test_streamed_similarity_equals_the_dump_based_job(job, convention):
    config, files, root = job
    spec = _spec(config)
    spec["similarity"]["conv_convention"] = convention
    dumped, streamed = root / f"dumped-{convention}.csv", root / f"streamed-{convention}.csv"
    _run("similarity", spec, "--a", *_side(files, 1, 0), "--b", *_side(files, 1, 1),
         "--moments-a", *_side(files, 2, 0), "--moments-b", *_side(files, 2, 1), "--out", dumped)
    # positions: the within sums from the streamed moments files; mean: from the pass
    moments = (["--moments-a", *_side(files, 3, 0), "--moments-b", *_side(files, 3, 1)]
               if convention == "positions" else [])
    _run("stream-similarity", spec, "--checkpoint-a", *_side(files, 0, 0), "--checkpoint-b",
         *_side(files, 0, 1), *moments, "--out", streamed)
    ref, got = pd.read_csv(dumped), pd.read_csv(streamed)
    assert len(got) == len(ref) > 0
    assert (got[KEYS].astype(str).to_numpy() == ref[KEYS].astype(str).to_numpy()).all()
    # the same float32 activations (pass 2 runs B on batches of other images), float64 sums
    # in another order
    for col in ("value", "ci_low", "ci_high", "samples"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-12, equal_nan=True,
                                   err_msg=col)
    per = got[got.analysis == "per_layer"]
    conv = {(r.model_a, r.layer_a): r.convention for r in per.itertuples()
            if r.measure == "linear_cka"}
    if convention == "positions":  # a grid of its own falls back to mean
        assert conv["v0", "conv1"] == "positions"
        assert conv["v0", "conv2"] == conv["v0", "conv3"] == "mean"
        assert conv["m0", "conv2"] == conv["m0", "conv3"] == "positions"
    else:
        assert set(conv.values()) == {"mean"}
    assert set(per.kind) == {"pair", "shuffled"}
    # the shuffled null is measured and lies below the pair (two nets of one architecture)
    cka = per[(per.measure == "linear_cka") & (per.model_a == "m0")].set_index(["layer_a", "kind"])
    assert (cka.value.xs("shuffled", level="kind") < cka.value.xs("pair", level="kind")).all()
    null = (got.kind == "shuffled").to_numpy()
    diff = np.abs(got["value"].to_numpy() - ref["value"].to_numpy())
    print(f"{convention}: max |streamed - dumped| = {np.nanmax(diff[~null]):.3g} over "
          f"{(~null).sum()} rows, {np.nanmax(diff[null]):.3g} over the {null.sum()} null rows")


def test_a_streamed_job_does_each_models_work_once(job, monkeypatch):
    """B (in both pairs) has its subsample features prepared and its within sums (mean)
    accumulated in its first pair's pass only, as the dump-based job reads each model once."""
    from convergent.steps.similarity import rows, streamed

    config, files, root = job
    spec = _spec(config)
    spec["similarity"].update({"conv_convention": "mean", "layer_by_layer": False})
    built, summed = {}, {}
    subsample_layer, needs_within = streamed.SubsampleLayer, streamed.StreamModel.needs_within

    def counted_layer(x, metric):
        key = x.tobytes()
        built[key] = built.get(key, 0) + 1
        return subsample_layer(x, metric)

    def counted_within(self, layer, convention):
        need = needs_within(self, layer, convention)
        if need:
            summed[self.id, layer] = summed.get((self.id, layer), 0) + 1
        return need

    monkeypatch.setattr(streamed, "SubsampleLayer", counted_layer)
    monkeypatch.setattr(rows, "SubsampleLayer", counted_layer)  # B's shuffled copy (the null)
    monkeypatch.setattr(streamed.StreamModel, "needs_within", counted_within)
    _run("stream-similarity", spec, "--checkpoint-a", *_side(files, 0, 0), "--checkpoint-b",
         *_side(files, 0, 1), "--out", root / "counted.csv")
    # 3 models x 3 layers of features once each; B's shuffled copy (the Gram-route null) once
    # per pair, as in the dump-based job
    assert sorted(Counter(built.values()).items()) == [(1, 3 * 3), (2, 3)]
    assert set(summed.values()) == {1} and len(summed) == 3 * 3
