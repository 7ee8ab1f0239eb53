"""Trainer choices from the config (training.logger, precision, devices): the schema's values
and defaults, TensorBoard events equal to metrics.csv and as resume-safe, precision reaching
Lightning."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT
from test_train import DIE_AFTER_FIRST_CHECKPOINT, TRAINING, train_cmd
from test_train import spec as train_spec

from convergent import study
from convergent.study.conditions import check_random_labels
from convergent.training import TENSORBOARD_DIR, TENSORBOARD_EVENTS

SCHEMA = str(ROOT / "config" / "schema.yaml")
SMALL = {"name": "fashion_mnist", "path": None, "train_subset": 256, "test_subset": 128}


def spec(**training) -> dict:
    return train_spec(dataset=SMALL, training={**TRAINING, "epochs": 2, **training})


def config(**training) -> dict:
    return {"dataset": {"name": "fashion_mnist"}, "architectures": ["alexnet_small"],
            "models": [{"init_seed": 0}, {"init_seed": 1}], "layers": ["conv1"],
            "training": training}


def test_defaults_are_the_former_behaviour():
    cfg = config()
    study.validate(cfg, SCHEMA)
    assert {k: cfg["training"][k] for k in ("logger", "precision", "devices")} == {
        "logger": "csv", "precision": "auto", "devices": 1
    }


@pytest.mark.parametrize(
    "key, value", [("logger", "wandb"), ("precision", "8-bit"), ("precision", 16),
                   ("devices", 2), ("devices", "auto")]
)
def test_unknown_values_are_refused_by_the_schema(key, value):
    with pytest.raises(study.ConfigError, match=f"training.{key}") as caught:
        study.validate(config(**{key: value}), SCHEMA)
    assert "\n" not in str(caught.value)


def scalars(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def rows(outdir) -> list[dict[str, float]]:
    lines = (outdir / "metrics.csv").read_text().split()
    keys = lines[0].split(",")
    return [dict(zip(keys, map(float, line.split(",")), strict=True)) for line in lines[1:]]


@pytest.mark.trains
def test_tensorboard_events_hold_metrics_csv_and_survive_a_kill(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    s = spec(logger="tensorboard")
    subprocess.run(train_cmd(s, whole), check=True, capture_output=True)
    events = scalars(whole / TENSORBOARD_DIR)
    assert sorted(events) == ["test_acc", "test_loss", "train_acc", "train_loss"]
    for tag, values in events.items():
        assert [step for step, _ in values] == [0, 1]
        csv = [row[tag] for row in rows(whole)]
        assert [v for _, v in values] == pytest.approx(csv, rel=1e-6)  # float32 in the events
    # a run killed right after its first epoch checkpoint, then resumed: the same bytes
    proc = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_FIRST_CHECKPOINT, json.dumps(s), str(killed)],
        capture_output=True,
    )
    assert proc.returncode == 9 and not (killed / TENSORBOARD_DIR).exists()
    subprocess.run(train_cmd(s, killed), check=True, capture_output=True)
    file = f"{TENSORBOARD_DIR}/{TENSORBOARD_EVENTS}"
    assert (killed / file).read_bytes() == (whole / file).read_bytes()
    # the csv logger's outputs are the three files: an earlier spec's events go
    subprocess.run(train_cmd(spec(), whole), check=True, capture_output=True)
    assert sorted(p.name for p in whole.iterdir()) == ["metrics.csv", "model.ckpt", "summary.json"]


@pytest.mark.trains
def test_precision_reaches_the_trainer(tmp_path):
    subprocess.run(train_cmd(spec(precision="64-true", epochs=1), tmp_path), check=True,
                   capture_output=True)
    state = torch.load(tmp_path / "model.ckpt", map_location="cpu", weights_only=False)
    dtypes = {v.dtype for k, v in state["state_dict"].items() if k.endswith("weight")}
    assert dtypes == {torch.float64}


@pytest.mark.trains
def test_float16_on_the_cpu_is_one_clear_error(tmp_path):
    proc = subprocess.run(train_cmd(spec(precision="16-mixed"), tmp_path), capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "convergent train: error: training.precision: 16-mixed needs a GPU and this job runs on "
        "the CPU; use auto, 32-true or bf16-mixed"
    )


def test_deterministic_is_a_boolean_left_out_of_the_spec_at_its_default():
    """training.deterministic (GPU kernels): false by default and then absent from the train
    spec, so that studies trained before the option keep their models; true enters it."""
    cfg = config()
    study.validate(cfg, SCHEMA)
    assert cfg["training"]["deterministic"] is False
    model = study.models(cfg)[0]
    assert "deterministic" not in study.training_spec(cfg, model)
    assert study.with_later_options(study.training_spec(cfg, model))["deterministic"] is False
    on = config(deterministic=True)
    study.validate(on, SCHEMA)
    assert study.training_spec(on, study.models(on)[0])["deterministic"] is True
    with pytest.raises(study.ConfigError, match="training.deterministic"):
        study.validate(config(deterministic="yes"), SCHEMA)


def test_random_labels_relabel_one_fixed_fraction_for_every_network():
    """training.random_labels: the same images get the same random labels whatever the
    model's seeds (the condition is a training set); 0 leaves the labels and the spec alone."""
    from convergent.data import DataSpec, make_datamodule

    data = DataSpec.from_config(SMALL)
    clean = data.training_tensors("train").labels

    def labels(fraction, data_seed):
        training = study.with_later_options({**TRAINING, "random_labels": fraction})
        module = make_datamodule(data, "alexnet_small", training, data_seed)
        module.setup("fit")
        return module.train_data.labels

    noisy = labels(0.5, 0)
    assert torch.equal(noisy, labels(0.5, 7))
    assert 0.35 < (noisy != clean).float().mean() < 0.55  # half relabelled, 1/10 by chance same
    assert torch.equal(labels(0.0, 0), clean)
    cfg = config()
    study.validate(cfg, SCHEMA)
    model = study.models(cfg)[0]
    assert "random_labels" not in study.training_spec(cfg, model)
    bad = {**config(), "dataset": {"name": "imagefolder"}, "conditions": {
        "noisy": {"random_labels": 0.5}}}
    with pytest.raises(study.ConfigError, match="conditions.noisy.random_labels: needs a data"):
        check_random_labels(bad)
