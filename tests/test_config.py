"""Config validation: the schema (via snakemake) and the semantic checks, each naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from convergent import config as study

SCHEMA = str(ROOT / "config" / "schema.yaml")


def default() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def checked(cfg: dict) -> dict:
    validate(cfg, SCHEMA)
    study.check_study(cfg)
    return cfg


def test_default_config_is_valid_and_gets_defaults():
    cfg = checked(default())
    assert cfg["training"]["epochs"] >= 1 and cfg["probe"]["size"] >= 2
    assert {"train", "dump", "analysis"} <= set(cfg["resources"])
    ms = study.models(cfg)
    assert [m.id for m in ms] == [f"alexnet_small/i{k}-d{k}" for k in range(4)]
    assert [p.name for p in study.pairs(cfg)][:2] == ["i0-d0__i1-d1", "i0-d0__i2-d2"]
    assert len(study.pairs(cfg)) == 6


def test_seeds_are_separate_and_replicates_get_their_own_name():
    cfg = default()
    cfg["models"] = [
        {"init_seed": 0, "data_seed": 5},
        {"init_seed": 0, "data_seed": 5, "replicate": 1},
    ]
    names = [m.name for m in study.models(checked(cfg))]
    assert names == ["i0-d5", "i0-d5-r1"]


def test_adding_a_seed_only_adds_pairs():
    cfg = checked(default())
    before = {p.id for p in study.pairs(cfg)}
    cfg["models"].append({"init_seed": 9})
    after = {p.id for p in study.pairs(cfg)}
    assert before < after and len(after - before) == 4


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (lambda c: c.update(colour="red"), "colour"),
        (lambda c: c["training"].update(epochs="many"), "many"),
        (lambda c: c["training"].update(lr=-1), "-1"),
        (lambda c: c["models"].append({"init_seed": -2}), "-2"),
        (lambda c: c.update(models=[]), r"\[\]"),
        (lambda c: c["dataset"].update(name="mnist"), "mnist"),
        (lambda c: c.update(architectures=["resnet999"]), "resnet999"),
        (lambda c: c["models"][0].update(seed=1), "seed"),
    ],
)
def test_schema_errors_name_the_offending_key_or_value(edit, pattern):
    cfg = default()
    edit(cfg)
    with pytest.raises(WorkflowError, match=pattern):
        validate(cfg, SCHEMA)


def test_duplicate_seeds_are_refused():
    cfg = default()
    cfg["models"].append({"init_seed": 2, "data_seed": 2})
    with pytest.raises(study.ConfigError, match=r"models\[4\]: duplicate.*init_seed=2"):
        checked(cfg)


def test_unknown_layer_lists_the_valid_ones():
    cfg = default()
    cfg["layers"] = ["conv1", "pool9"]
    with pytest.raises(study.ConfigError, match=r"layers: pool9 .*valid layers: conv1, conv2"):
        checked(cfg)


def test_example_pair_must_index_models():
    cfg = copy.deepcopy(default())
    cfg["figures"] = {"example_pair": [0, 7]}
    with pytest.raises(study.ConfigError, match=r"figures\.example_pair"):
        checked(cfg)
