"""Config validation: the schema and the semantic checks, each one line naming the key."""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from conftest import ROOT, write_fashion_mnist

from convergent import study

SCHEMA = str(ROOT / "config" / "schema.yaml")


def default() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def checked(cfg: dict) -> dict:
    study.validate(cfg, SCHEMA)
    return cfg


def error(cfg: dict) -> str:
    """The one-line message of validating ``cfg``."""
    with pytest.raises(study.ConfigError) as caught:
        study.validate(cfg, SCHEMA)
    message = str(caught.value)
    assert "\n" not in message
    return message


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
    cfg = default()
    before = {p.id for p in study.pairs(checked(cfg))}
    cfg["models"].append({"init_seed": 9})
    after = {p.id for p in study.pairs(checked(cfg))}
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
    with pytest.raises(study.ConfigError, match=pattern):
        study.validate(cfg, SCHEMA)


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


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c.update(colour="red"),
            "colour: unknown key; valid top-level keys: dataset, architectures, models, "
            "training, conditions, pairing, probe, layers, analysis, similarity, validation, "
            "figures, findings, claims, neural, resources",
        ),
        (
            lambda c: c["models"][0].update(seed=1),
            "models[0].seed: unknown key; valid keys: init_seed, data_seed, replicate, "
            "perturb, checkpoint, activations, architecture, condition, name",
        ),
        (
            lambda c: c["training"].update(epochs="many"),
            "training.epochs: 'many' is not an integer",
        ),
        (
            lambda c: c["training"].update(lr=-1),
            "training.lr: -1 is below the minimum (exclusive 0)",
        ),
        (
            lambda c: c["models"].append({"init_seed": -2}),
            "models[4].init_seed: -2 is below the minimum 0",
        ),
        (
            lambda c: c["dataset"].update(name="mnist"),
            "dataset.name: 'mnist' is not one of fashion_mnist, cifar10, imagefolder",
        ),
        (lambda c: c.update(models=[]), "models: [] has 0 items; list at least 2"),
        (lambda c: c.pop("layers"), "layers: missing; this key is required"),
        (lambda c: c.update(training=5), "training: 5 is not a mapping of keys"),
        (
            lambda c: c["dataset"].update(name="x" * 500),
            f"dataset.name: '{'x' * 36}... is not one of fashion_mnist, cifar10, imagefolder",
        ),
    ],
)
def test_schema_errors_are_one_line_key_path_first(edit, message):
    cfg = default()
    edit(cfg)
    assert error(cfg) == message


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c["models"][0].update(init_seed=2.0),
            "models[0].init_seed: 2.0 is not an integer; write 2",
        ),
        (
            lambda c: c["models"][1].update(data_seed=1.0),
            "models[1].data_seed: 1.0 is not an integer; write 1",
        ),
        (
            lambda c: c["models"][0].update(replicate=True),
            "models[0].replicate: true is not an integer",
        ),
        (
            lambda c: c["training"].update(epochs=2.0),
            "training.epochs: 2.0 is not an integer; write 2",
        ),
        (
            lambda c: c["figures"].update(example_pair=[0, 1.0]),
            "figures.example_pair[1]: 1.0 is not an integer; write 1",
        ),
    ],
)
def test_seeds_and_integer_keys_must_be_true_integers(edit, message):
    cfg = default()
    edit(cfg)
    assert error(cfg) == message


def test_a_number_key_still_takes_an_integer():
    cfg = default()
    cfg["training"]["lr"] = 1
    assert checked(cfg)["training"]["lr"] == 1


def test_sparse_layers_must_be_among_the_layers():
    cfg = default()
    cfg["analysis"]["sparse_layers"] = ["conv1", "conv9"]
    assert error(cfg) == (
        "analysis.sparse_layers: conv9 not in layers (conv1, conv2, conv3, conv4, conv5, fc6, "
        "fc7); add it to layers or remove it from analysis.sparse_layers"
    )


def test_sparse_folds_may_not_exceed_the_blocks():
    cfg = default()
    cfg["analysis"].update(blocks=3, sparse_folds=5)
    assert error(cfg) == (
        "analysis.sparse_folds: 5 is more than analysis.blocks = 3 (a fold needs a block); "
        "set analysis.sparse_folds to at most 3 or raise analysis.blocks"
    )


def test_truncated_or_mismatched_fashion_mnist_files_stop_the_run_before_any_job(tmp_path):
    folder = write_fashion_mnist(tmp_path / "fm", images=40)
    cfg = default()
    cfg["dataset"]["path"] = str(folder)
    checked(cfg)
    images = folder / "train-images-idx3-ubyte.gz"
    whole = images.read_bytes()
    images.write_bytes(whole[: len(whole) // 2])  # a download cut off halfway
    assert error(copy.deepcopy(cfg)) == (
        f"dataset.path: {images}: truncated or damaged (its header promises "
        f"{16 + 40 * 28 * 28} bytes); get Fashion-MNIST with `apt-get install "
        "dataset-fashion-mnist` (Debian/Ubuntu), or set dataset.path to a folder with the four "
        "*-ubyte.gz files, or run once with internet access so that torchvision downloads it")
    write_fashion_mnist(folder, images=40)
    write_fashion_mnist(tmp_path / "other", images=39)
    (tmp_path / "other" / "t10k-labels-idx1-ubyte.gz").replace(
        folder / "t10k-labels-idx1-ubyte.gz")
    assert error(copy.deepcopy(cfg)).startswith(
        f"dataset.path: {folder}: the test split has 40 images but 39 labels;")


def test_image_folder_classes_are_checked_before_any_job(tmp_path):
    from test_data import make_image_folder

    root = make_image_folder(tmp_path / "imgs", classes=("cat", "dog"), per_class=1, size=8)
    cfg = default()
    cfg.update(dataset={"name": "imagefolder", "path": str(root)},
               architectures=["alexnet_torchvision"])
    checked(copy.deepcopy(cfg))
    (root / "train" / "eel").mkdir()  # a class folder whose images never arrived
    assert error(copy.deepcopy(cfg)) == (
        f"dataset.path: {root}/train/eel: a class folder without images; add its images or "
        "remove it")
    (root / "val" / "eel" / "more").mkdir(parents=True)
    make_image_folder(tmp_path / "eel", classes=("eel",), per_class=1, size=8)
    (tmp_path / "eel" / "train" / "eel" / "0.png").replace(root / "train" / "eel" / "0.png")
    (tmp_path / "eel" / "val" / "eel" / "0.png").replace(root / "val" / "eel" / "more" / "0.png")
    checked(copy.deepcopy(cfg))  # images in a subfolder of a class count, as in ImageFolder
    shutil.rmtree(root / "val" / "eel")
    assert error(copy.deepcopy(cfg)) == (
        f"dataset.path: {root}: train/ and val/ have other classes (eel in one only); give both "
        "the same class folders")


def test_sparse_defaults_follow_the_layers_and_blocks():
    cfg = default()
    cfg["layers"] = ["conv1", "conv3", "fc7"]
    cfg["analysis"] = {"blocks": 3}
    analysis = checked(cfg)["analysis"]
    assert analysis["sparse_layers"] == ["conv1", "conv3"] and analysis["sparse_folds"] == 3
    assert checked(default())["analysis"]["sparse_folds"] == 5


def test_dataset_path_must_hold_the_dataset(tmp_path, monkeypatch):
    cfg = default()
    cfg["dataset"]["path"] = str(write_fashion_mnist(tmp_path / "fm"))
    checked(cfg)
    cfg = default()
    cfg["dataset"]["path"] = str(
        write_fashion_mnist(tmp_path / "part", drop=["t10k-images-idx3-ubyte.gz"])
    )
    assert error(cfg) == (
        f"dataset.path: '{tmp_path}/part' lacks t10k-images-idx3-ubyte.gz; point dataset.path "
        "at a folder with the four Fashion-MNIST *-ubyte.gz files, or set it to null (Debian "
        "package or download)"
    )
    monkeypatch.chdir(tmp_path)
    cfg = default()
    cfg["dataset"]["path"] = "fm"  # relative to the working directory
    checked(cfg)
    cfg["dataset"]["path"] = "data/fm"
    assert error(cfg).startswith(
        f"dataset.path: 'data/fm' (relative to {tmp_path}) does not exist;"
    )


def test_image_folder_path_needs_train_and_val(tmp_path):
    cfg = default()
    cfg["dataset"] = {"name": "imagefolder", "path": str(tmp_path)}
    (tmp_path / "val").mkdir()
    assert error(cfg) == (
        f"dataset.path: '{tmp_path}' lacks train/; point dataset.path at a folder with "
        "train/<class>/ and val/<class>/ image folders"
    )


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("dataset: {name: fashion_mnist}\nlayers: [conv1, fc7\nmodels: []\n")
    with pytest.raises(SystemExit) as caught:
        study.check_yaml(path)
    assert caught.value.code == f"{path}: line 3, column 7: expected ',' or ']', but got ':'"
    path.write_text("layers: [conv1]\n")
    study.check_yaml(path)
    study.check_yaml(tmp_path / "absent.yaml")


# ------------------------------------------------------------------ conditions and pairing
def claims_like() -> dict:
    cfg = default()
    cfg["architectures"] = ["alexnet_small", "vgg_small"]
    cfg["conditions"] = {"noaug": {"augment_flip": False}}
    cfg["pairing"] = "consecutive"
    cfg["models"] = [
        {"init_seed": 0, "data_seed": 0, "architecture": "alexnet_small"},
        {"init_seed": 1, "data_seed": 0, "architecture": "alexnet_small"},
        {"init_seed": 2},
        {"init_seed": 3},
        {"init_seed": 4, "condition": "noaug", "architecture": "alexnet_small"},
        {"init_seed": 5, "condition": "noaug", "architecture": "alexnet_small"},
    ]
    return cfg


def test_conditions_name_models_and_override_training():
    cfg = checked(claims_like())
    ms = {m.id: m for m in study.models(cfg)}
    assert list(ms) == ["alexnet_small/i0-d0", "alexnet_small/i1-d0", "alexnet_small/i2-d2",
                        "alexnet_small/i3-d3", "alexnet_small/i4-d4-noaug",
                        "alexnet_small/i5-d5-noaug", "vgg_small/i2-d2", "vgg_small/i3-d3"]
    noaug = study.training_of(cfg, ms["alexnet_small/i4-d4-noaug"])
    assert noaug["augment_flip"] is False and noaug["epochs"] == cfg["training"]["epochs"]
    assert study.training_of(cfg, ms["alexnet_small/i0-d0"]) == cfg["training"]
    assert study.seed_model_parts("i4-d4-r2-noaug") == (4, 4, 2, 0, "noaug")
    assert study.seed_model_parts("i4-d4-p3") == (4, 4, 0, 3, None)
    assert study.seed_model_parts("ckpt-x") is None


def test_pairs_are_batched_by_their_later_model_and_an_added_seed_adds_one_block():
    """Per-pair jobs run per block (a model and its earlier partners): appending a seed appends
    its pairs and its block and leaves every earlier block as it was."""
    cfg = checked(default())
    blocks = study.blocks((p.a, p.b) for p in study.pairs(cfg))
    assert {b.name: [a.name for a in partners] for b, partners in blocks.items()} == {
        "i1-d1": ["i0-d0"], "i2-d2": ["i0-d0", "i1-d1"], "i3-d3": ["i0-d0", "i1-d1", "i2-d2"]}
    more = default()
    more["models"] = [*more["models"], {"init_seed": 9, "data_seed": 9}]
    more = checked(more)
    grown = study.blocks((p.a, p.b) for p in study.pairs(more))
    assert [p.id for p in study.pairs(more)][:6] == [p.id for p in study.pairs(cfg)]
    assert {b: v for b, v in grown.items() if b.name != "i9-d9"} == blocks
    assert len(grown[study.Model("alexnet_small", 9, 9)]) == 4


def test_the_example_pair_must_be_a_compared_pair():
    cfg = claims_like()
    cfg["figures"] = {"example_pair": [1, 2]}  # entries 1 and 2 are not a consecutive pair
    with pytest.raises(study.ConfigError, match=r"figures\.example_pair = \[1, 2\]: not a "
                       r"compared pair under pairing: consecutive"):
        checked(cfg)
    cfg["figures"] = {"example_pair": [3, 2]}  # drawn as 2-3: the earlier entry is model A
    assert study.example_pair(checked(cfg)).name == "i2-d2__i3-d3"


def test_consecutive_pairing_gives_independent_pairs():
    cfg = checked(claims_like())
    pairs = [p.id for p in study.pairs(cfg)]
    assert pairs == ["alexnet_small/i0-d0__i1-d0", "alexnet_small/i2-d2__i3-d3",
                     "alexnet_small/i4-d4-noaug__i5-d5-noaug", "vgg_small/i2-d2__i3-d3"]
    cross = [(a.id, b.id) for a, b in study.cross_pairs(cfg)]
    assert cross == [("alexnet_small/i2-d2", "vgg_small/i3-d3"),
                     ("alexnet_small/i3-d3", "vgg_small/i2-d2")]
    everyone = [m for p in study.pairs(cfg) for m in (p.a.id, p.b.id)]
    assert len(everyone) == len(set(everyone))  # no network in two pairs
    cfg = default()
    cfg["architectures"] = ["alexnet_small", "vgg_small"]
    checked(cfg)
    # all pairs: model i of one architecture against model j > i of the other
    assert len(study.cross_pairs(cfg)) == 6 and len(study.pairs(cfg)) == 12


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["conditions"].update(noaug={"augment_flp": False}),
     "conditions.noaug.augment_flp: unknown key"),
    (lambda c: c["conditions"].update(noaug={"epochs": 0}),
     "conditions.noaug.epochs: 0 is below the minimum 1"),
    (lambda c: c["conditions"].update(r2={}), "conditions.r2: 'r2' is not a valid condition"),
    (lambda c: c["conditions"].update(base={}), "conditions.base: 'base' is not a valid"),
    (lambda c: c["models"][4].update(condition="crops"),
     "models[4].condition: 'crops' is not defined in conditions (noaug)"),
    (lambda c: c["models"][0].update(architecture="resnet"),
     "models[0].architecture: 'resnet' is not one of architectures"),
    (lambda c: c["models"].pop(), "models: 5 entries, but pairing: consecutive"),
    (lambda c: c["models"][1].pop("architecture"),
     "models[0] and models[1]: a consecutive pair whose entries give different architectures"),
    (lambda c: c.update(claims={"variation": {"more": "base", "less": "crops"}}),
     "claims.variation.less: 'crops' is not a condition (base, noaug)"),
    (lambda c: c.update(claims={"enabled": True}, similarity={"enabled": False}),
     "claims.enabled: the claims are tested on the similarity measures"),
])
def test_condition_and_pairing_errors_name_the_key(edit, message):
    cfg = claims_like()
    edit(cfg)
    assert error(cfg).startswith(message)


def test_the_claims_config_is_valid():
    cfg = yaml.safe_load((ROOT / "config" / "claims.yaml").read_text())
    checked(cfg)
    ms = study.models(cfg)
    assert len({m.condition for m in ms}) == 2 and len(study.cross_pairs(cfg)) == 6
    # three independent pairs per cell of the design
    from convergent.tables.similarity import source_of

    sources = [source_of(p.a.name, p.b.name) for p in study.pairs(cfg)]
    assert len(sources) == 21
    assert {s: sources.count(s) for s in set(sources)} == {
        "init": 3, "data": 3, "init+data": 9, "perturb": 3, "replicate": 3}
