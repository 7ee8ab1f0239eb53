"""Bring your own networks: architectures from the config (builder import path, torchvision,
entry points) and checkpoints trained elsewhere; each error one line naming the key or file.

``builders.tiny_cnn`` is the builder the config tests name (``builders:tiny_cnn``): the
workflow's jobs import it from tests/ (on their PYTHONPATH).
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from builders import tiny_cnn
from conftest import ROOT

from convergent import cli, io, models, study
from convergent.models.checkpoints import load_network, load_weights, read_state
from convergent.models.receptive_field import receptive_field
from convergent.training import import_checkpoint

SCHEMA = str(ROOT / "config" / "schema.yaml")
TINY_LAYERS = {"conv1": "relu1", "conv2": "relu2", "fc1": "relu3"}
TINY = {"name": "tiny", "builder": "builders:tiny_cnn", "layers": TINY_LAYERS}
FASHION = {"name": "fashion_mnist", "path": None, "train_subset": None, "test_subset": None}


def config(**over) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if "layers" in over:  # the default's sparse_layers are conv1-conv5
        del cfg["analysis"]["sparse_layers"]
    cfg.update(over)
    return cfg


def error(cfg: dict) -> str:
    with pytest.raises(study.ConfigError) as caught:
        study.validate(cfg, SCHEMA)
    message = str(caught.value)
    assert "\n" not in message
    return message


def tiny_study(**over) -> dict:
    return config(architectures=[copy.deepcopy(TINY)], layers=["conv1", "fc1"], **over)


# ---------------------------------------------------------------- architectures from the config
def test_config_architecture_builds_reads_and_has_depths():
    cfg = tiny_study()
    study.validate(cfg, SCHEMA)
    assert study.architecture_names(cfg) == ["tiny"]
    assert [m.id for m in study.models(cfg)][:2] == ["tiny/i0-d0", "tiny/i1-d1"]
    assert models.READOUTS["tiny"] == TINY_LAYERS  # registered by validate
    assert [models.relative_depth("tiny", layer) for layer in TINY_LAYERS] == [0.0, 0.5, 1.0]
    net = models.build("tiny", 10, 1, 28)
    rf = receptive_field(net, TINY_LAYERS["conv2"])
    # conv 3x3 pad 1 (size 3, first -1), pool 2 (size 4, jump 2), conv 3x3 pad 1 (+2·2, -1·2)
    assert (rf.size, rf.stride, rf.first) == (8, 2, -3)


def test_configs_of_today_still_validate_unchanged():
    for name in ("config.yaml", "sources.yaml"):
        cfg = yaml.safe_load((ROOT / "config" / name).read_text())
        study.validate(cfg, SCHEMA)
        assert all(m.trained_here for m in study.models(cfg))


def test_layers_must_exist_in_every_architecture():
    cfg = config(architectures=["alexnet_small", copy.deepcopy(TINY)], layers=["conv1", "fc7"])
    assert error(cfg) == (
        "layers: fc7 not in architecture 'tiny'; valid layers: conv1, conv2, fc1"
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda a: a.update(builder="no_such_module:build"),
            "architectures[0].builder: cannot import 'no_such_module:build' "
            "(ModuleNotFoundError: No module named 'no_such_module')",
        ),
        (
            lambda a: a.update(builder="builders:no_such_function"),
            "architectures[0].builder: cannot import 'builders:no_such_function' "
            "(AttributeError: module 'builders' has no attribute 'no_such_function')",
        ),
        (
            lambda a: a.update(builder="features.0"),
            "architectures[0].builder: 'features.0' is not an import path; write "
            "package.module:function (called with num_classes, in_channels, image_size)",
        ),
        (
            lambda a: a["layers"].update(conv1="relu9"),
            "architectures[0].layers.conv1: no module 'relu9' in the network; "
            "see net.named_modules()",
        ),
        (
            lambda a: a["layers"].update(conv1="conv1.weight"),
            "architectures[0].layers.conv1: no module 'conv1.weight' in the network; "
            "modules there: conv1",
        ),
        (
            lambda a: a.update(layers={"fc1": "relu3", "conv1": "relu1"}),
            "architectures[0].layers: listed fc1, conv1 but they run as conv1, fc1; list the "
            "layers input to output (relative depth follows the order)",
        ),
        (
            lambda a: a.update(torchvision="resnet18"),
            "architectures[0]: give one of builder (module:function), torchvision or timm "
            "(a model name), not builder and torchvision",
        ),
        (
            lambda a: a.update(name="alexnet_small"),
            "architectures[0].name: 'alexnet_small' is the name of a built-in or installed "
            "architecture; choose another name (or list it as a plain string to use that one)",
        ),
        (
            lambda a: a.update(colour="red"),
            "architectures[0].colour: unknown key; valid keys: name, builder, torchvision, "
            "timm, options, channels_last, layers, image_size",
        ),
        (
            lambda a: a.update(layers=["conv1"]),
            "architectures[0].layers: ['conv1'] is not a mapping of keys",
        ),
    ],
)
def test_architecture_errors_are_one_line_naming_the_key(edit, message):
    cfg = tiny_study()
    edit(cfg["architectures"][0])
    assert error(cfg) == message


def test_unknown_architecture_name_lists_the_known_ones():
    message = error(config(architectures=["resnet999"]))
    assert message.startswith("architectures[0]: unknown architecture 'resnet999'; choose one of")
    assert "alexnet_small" in message and "docs/own_networks.md" in message


def test_torchvision_model_by_name_on_grey_images():
    cfg = config(
        architectures=[{"name": "rn18", "torchvision": "resnet18",
                        "layers": {"block1": "layer1", "block4": "layer4"}}],
        layers=["block1", "block4"],
    )
    study.validate(cfg, SCHEMA)
    net = models.build("rn18", 10, 1, 28).eval()
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)  # grey repeated to RGB
    assert "fc.weight" in net.state_dict()  # torchvision's own names: its weight files load
    assert receptive_field(net, "layer1") is None  # residual: no chain, patches show the image
    bad = copy.deepcopy(cfg)
    bad["architectures"][0]["torchvision"] = "resnet9000"
    assert error(bad) == (
        "architectures[0].builder: cannot import 'torchvision:resnet9000' "
        "(ValueError: 'resnet9000' is not a torchvision classification model)"
    )


def test_architectures_from_an_entry_point(monkeypatch):
    ep = importlib.metadata.EntryPoint(
        "plugged", "test_own_networks:PLUGGED", models.ENTRY_POINT_GROUP
    )

    def entry_points(group=None, name=None):
        found = [ep] if group == models.ENTRY_POINT_GROUP else []
        return [e for e in found if name in (None, e.name)]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    cfg = config(architectures=["plugged", "alexnet_small"], layers=["conv1"])
    study.validate(cfg, SCHEMA)
    assert models.architecture("plugged").source == "entry point test_own_networks:PLUGGED"
    assert models.layer_names("plugged") == ("conv1", "conv2", "fc1")
    broken = {**PLUGGED, "layers": {"conv1": "nowhere"}}
    monkeypatch.setattr("test_own_networks.PLUGGED", broken)
    assert error(cfg) == (
        "architectures[0] (entry point test_own_networks:PLUGGED).layers.conv1: no module "
        "'nowhere' in the network; see net.named_modules()"
    )


#: what a package would point its ``convergent.architectures`` entry point at
PLUGGED = {"builder": "builders:tiny_cnn", "layers": TINY_LAYERS}


def test_spec_architectures_are_registered_by_the_cli(tmp_path):
    """A job knows a config architecture from its spec alone (a fresh process has no config)."""
    with pytest.raises(KeyError):  # nothing up the sleeve: the name comes from the spec below
        models.architecture("tiny2")
    definition = {"builder": "builders:tiny_cnn", "layers": TINY_LAYERS}
    spec = {"arch": "tiny2", "init_seed": 3, "dataset": FASHION,
            "architectures": {"tiny2": definition}}
    out = tmp_path / "untrained.ckpt"
    cli.main(["untrained", "--spec", json.dumps(spec), "--out", str(out)])
    net, hp = load_network(out, "tiny2")
    assert hp["arch"] == "tiny2" and set(net.state_dict()) == set(tiny_cnn(10, 1, 28).state_dict())


def test_a_figure_spec_registers_its_architectures_too():
    """``convergent figure NAME --spec ...`` parses its arguments late: the CLI reads them."""
    import argparse

    definition = {"builder": "builders:tiny_cnn", "layers": {"c": "relu1"}}
    spec = json.dumps({"arch": "tiny3", "architectures": {"tiny3": definition}})
    cli._register_architectures(argparse.Namespace(arguments=["--pair", "p.h5", "--spec", spec]))
    assert models.READOUTS["tiny3"] == {"c": "relu1"}


# ---------------------------------------------------------------- checkpoint models
def write_checkpoints(folder: Path, *names: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, name in enumerate(names):
        torch.manual_seed(k)
        torch.save(tiny_cnn(10, 1, 28).state_dict(), folder / name)
        paths.append(str(folder / name))
    return paths


def test_checkpoint_entries_pair_with_every_model_of_their_architecture(tmp_path):
    a, b = write_checkpoints(tmp_path, "seed_a.pt", "b.v2.pt")
    cfg = config(
        architectures=["alexnet_small", copy.deepcopy(TINY)],
        layers=["conv1"],
        models=[
            {"init_seed": 0},
            {"init_seed": 1},
            {"checkpoint": a, "architecture": "tiny"},
            {"checkpoint": b, "architecture": "tiny", "name": "b"},
        ],
        figures={"example_pair": [2, 3]},
    )
    study.validate(cfg, SCHEMA)
    assert cfg["models"][2]["name"] == "seed_a"  # default: the file name without its suffix
    ids = [m.id for m in study.models(cfg)]
    assert ids == ["alexnet_small/i0-d0", "alexnet_small/i1-d1", "tiny/i0-d0", "tiny/i1-d1",
                   "tiny/ckpt-seed_a", "tiny/ckpt-b"]
    tiny_pairs = [p.name for p in study.pairs(cfg) if p.arch == "tiny"]
    # ordered by the later model: an added model appends its pairs
    assert tiny_pairs == ["i0-d0__i1-d1", "i0-d0__ckpt-seed_a", "i1-d1__ckpt-seed_a",
                          "i0-d0__ckpt-b", "i1-d1__ckpt-b", "ckpt-seed_a__ckpt-b"]
    assert study.example_pair(cfg).id == "tiny/ckpt-seed_a__ckpt-b"
    # the two name patterns cannot both match a name, and a pair splits one way only
    pair = re.compile(rf"({study.SEED_MODEL}|{study.CHECKPOINT_MODEL})__"
                      rf"({study.SEED_MODEL}|{study.CHECKPOINT_MODEL})")
    for m in study.models(cfg):
        assert bool(re.fullmatch(study.SEED_MODEL, m.name)) == m.trained_here
        assert bool(re.fullmatch(study.CHECKPOINT_MODEL, m.name)) != m.trained_here
    assert pair.fullmatch("ckpt-seed_a__ckpt-b").groups() == ("ckpt-seed_a", "ckpt-b")


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"checkpoint": "missing.pt"}, "models[1].checkpoint: 'missing.pt' (relative to {cwd}) "
         "does not exist; give the path of a state_dict file or a Lightning checkpoint"),
        ({"checkpoint": "{a}", "init_seed": 4}, "models[1]: gives both checkpoint and seeds; a "
         "checkpoint is trained already (remove init_seed/data_seed/replicate) or remove "
         "checkpoint to train it here"),
        ({"checkpoint": "{a}", "architecture": "vgg_small"}, "models[1].architecture: "
         "'vgg_small' is not one of architectures (tiny); add it there or fix the name"),
        ({"checkpoint": "{a}", "name": "a__b"}, "models[1].name: 'a__b' is not a valid model "
         "name (letters and digits, single '.', '_' or '-' between them); set name (default: "
         "the file name without suffix)"),
        ({"checkpoint": "{a}", "name": "x"}, "models[2].name: 'x' is also models[1]'s in "
         "architecture 'tiny'; give each checkpoint its own name"),
        ({"data_seed": 3}, "models[1]: give init_seed (a model to train), checkpoint (a "
         "network trained already) or activations (a file of activations recorded "
         "elsewhere)"),
    ],
)
def test_checkpoint_entry_errors_are_one_line(tmp_path, monkeypatch, entry, message):
    monkeypatch.chdir(tmp_path)
    (a,) = write_checkpoints(tmp_path, "a.pt")
    entry = {k: v.format(a=a) if isinstance(v, str) else v for k, v in entry.items()}
    cfg = tiny_study(models=[{"init_seed": 0}, entry, {**entry, "name": "x"}])
    assert error(cfg) == message.format(cwd=tmp_path)


def test_checkpoint_needs_its_architecture_among_several(tmp_path):
    (a,) = write_checkpoints(tmp_path, "a.pt")
    cfg = config(architectures=["alexnet_small", copy.deepcopy(TINY)], layers=["conv1"],
                 models=[{"init_seed": 0}, {"init_seed": 1}, {"checkpoint": a}])
    assert error(cfg) == (
        "models[2].architecture: missing; the study has several architectures, name the one "
        "the checkpoint holds (alexnet_small, tiny)"
    )
    cfg["models"] = [{"init_seed": 0}, {"checkpoint": a, "architecture": "tiny"}]
    assert error(cfg) == (
        "architectures[0]: 'alexnet_small' has 1 model(s); a comparison needs two (add seed "
        "entries, checkpoints or activation files of it to models)"
    )


def test_plain_and_lightning_state_dicts_load_and_the_file_is_left_alone(tmp_path):
    from pytorch_lightning.utilities.parsing import AttributeDict

    models.register({"tiny": TINY})
    torch.manual_seed(5)
    trained = tiny_cnn(10, 1, 28)
    plain = tmp_path / "user" / "plain.pt"
    plain.parent.mkdir()
    torch.save(trained.state_dict(), plain)
    module_state = {f"model.{k}": v for k, v in trained.state_dict().items()}
    module_state["accuracy.total"] = torch.tensor(3.0)  # a metric of the user's LightningModule
    # hyper-parameters as Lightning 2.x saves them (a dict) or as a Namespace
    # (save_hyperparameters(args)): both read
    sources = [plain]
    for name, hparams in (("dict", {"lr": 0.1}), ("namespace", argparse.Namespace(lr=0.1))):
        sources.append(tmp_path / "user" / f"{name}.ckpt")
        torch.save({"state_dict": module_state, "epoch": 4, "hyper_parameters": hparams},
                   sources[-1])
    # an old release's AttributeDict cannot be read without unpickling code: refused, one line
    attribute_dict = tmp_path / "user" / "attribute_dict.ckpt"
    torch.save({"state_dict": module_state, "hyper_parameters": AttributeDict(lr=0.1)},
               attribute_dict)
    before = {p.name: p.read_bytes() for p in plain.parent.iterdir()}
    for source in sources:
        out = tmp_path / "results" / source.stem / "model.ckpt"
        out.parent.mkdir(parents=True)
        import_checkpoint({"arch": "tiny", "checkpoint": str(source), "dataset": FASHION}, out)
        net, hp = load_network(out, "tiny")
        assert all(torch.equal(v, trained.state_dict()[k]) for k, v in net.state_dict().items())
        assert hp["source_sha256"] == io.sha256(source) and hp["init_seed"] is None
    with pytest.raises(io.InputError) as caught:
        import_checkpoint({"arch": "tiny", "checkpoint": str(attribute_dict),
                           "dataset": FASHION}, tmp_path / "results" / "ad" / "model.ckpt")
    assert str(caught.value).startswith(
        f"{attribute_dict}: refused: it pickles pytorch_lightning.utilities.parsing.AttributeDict")
    assert {p.name: p.read_bytes() for p in plain.parent.iterdir()} == before


def test_mismatched_keys_or_shapes_name_the_file(tmp_path):
    net = tiny_cnn(10, 1, 28)
    state = net.state_dict()
    cases = {
        "renamed.pt": ({("x" + k if k.startswith("out") else k): v for k, v in state.items()},
                       "renamed.pt: keys do not match architecture 'tiny': 2 missing (first: "
                       "out.weight, out.bias); 2 unexpected (first: xout.weight, xout.bias)"),
        "wide.pt": ({**state, "out.weight": torch.zeros(7, 24), "out.bias": torch.zeros(7)},
                    "wide.pt: out.weight has shape (7, 24) in the file but (10, 24) in "
                    "architecture 'tiny' on this dataset"),
        "model.pt": (net, "model.pt: refused: it pickles torch.nn.modules.container.Sequential"),
        "text.pt": (None, "text.pt: not a readable torch file"),
    }
    for name, (obj, message) in cases.items():
        path = tmp_path / name
        if obj is None:
            path.write_text("not a checkpoint")
        else:
            torch.save(obj, path)
        with pytest.raises(io.InputError) as caught:
            load_weights(path, tiny_cnn(10, 1, 28), "tiny")
        text = str(caught.value)
        assert text.startswith(str(path) + ": ") and message in text and "\n" not in text


class RunsCode:
    """What a hostile file pickles: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_that_would_run_code_is_refused_unread(tmp_path):
    """Neither the import job nor a job reading a results checkpoint unpickles anything but
    tensors and plain data: the hostile file is refused in one line and its code never runs."""
    marker = tmp_path / "ran"
    state = tiny_cnn(10, 1, 28).state_dict()
    zipped, plain = tmp_path / "lightning.ckpt", tmp_path / "plain.pt"
    torch.save({"state_dict": state, "hyper_parameters": RunsCode(marker)}, zipped)
    with open(plain, "wb") as f:  # a pickle of the old format, as torch.load also reads it
        pickle.dump(RunsCode(marker), f, protocol=2)
    for source in (zipped, plain):
        for read in (read_state, load_network):  # a user's checkpoint, a results checkpoint
            with pytest.raises(io.InputError) as caught:
                read(source)
            assert str(caught.value).startswith(f"{source}: refused: it pickles posix.system")
    assert not marker.exists()
    # the import job's line
    spec = {"arch": "alexnet_small", "checkpoint": str(zipped), "dataset": FASHION}
    proc = subprocess.run([sys.executable, "-m", "convergent", "import-checkpoint", "--spec",
                           json.dumps(spec), "--out", str(tmp_path / "out.ckpt")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and not marker.exists()
    assert proc.stderr.count("\n") == 1 and "lightning.ckpt: refused: it pickles" in proc.stderr
    assert not (tmp_path / "out.ckpt").exists()


def test_the_accuracy_table_writes_seeds_and_epochs_as_integers_empty_for_checkpoints(tmp_path):
    from convergent.tables import write_csv
    from convergent.tables.accuracy import accuracy

    trained = {"model": "tiny/i3-d4", "arch": "tiny", "init_seed": 3, "data_seed": 4,
               "replicate": 0, "perturb": 0, "epochs": 8, "test_acc": 0.9, "test_loss": 0.3,
               "device": "cpu"}
    imported = {**trained, "model": "tiny/ckpt-a", "init_seed": None, "data_seed": None,
                "perturb": None, "epochs": None, "test_acc": 0.8}
    for name, rows in (("a.json", trained), ("b.json", imported)):
        (tmp_path / name).write_text(json.dumps(rows))
    write_csv(accuracy([tmp_path / "a.json", tmp_path / "b.json"]), tmp_path / "acc.csv")
    lines = (tmp_path / "acc.csv").read_text().splitlines()
    assert lines[1].startswith("tiny/i3-d4,tiny,3,4,0,0,8,0.9,")
    assert lines[2].startswith("tiny/ckpt-a,tiny,,,0,,,0.8,")


def test_a_users_file_where_an_imported_checkpoint_goes_is_not_called_ours(tmp_path):
    """Not "delete it and rerun": the file may be the user's only copy of their network."""
    out = tmp_path / "results" / "models" / "tiny" / "ckpt-a" / "model.ckpt"
    out.parent.mkdir(parents=True)
    torch.save(tiny_cnn(10, 1, 28).state_dict(), out)
    with pytest.raises(io.InputError) as caught:
        load_network(out, "tiny")
    text = str(caught.value)
    assert text.startswith(f"{out}: not a checkpoint of this workflow (")
    assert "move it out of results/" in text and "delete" not in text


def test_a_read_out_edit_changes_the_dump_jobs_not_the_training(tmp_path):
    """Read-outs are not training: the train job's spec holds the architecture without its
    layers, the dump's holds them (the dry runs print each job's command and spec)."""
    import workflow_runs

    env = workflow_runs.env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), str(ROOT / "src"),
                                         env.get("PYTHONPATH", "")])

    def commands(definition: dict) -> dict[str, list[str]]:
        config = {**workflow_runs.TINY_STUDY, "architectures": [definition],
                  "layers": ["conv1", "fc1"]}
        args = workflow_runs.snakemake_args(workflow_runs.write_config(tmp_path, config),
                                            tmp_path, "-n", "-p", "--cores", "1",
                                            "results/activations/tiny/i0-d0.h5")
        out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True).stdout
        shell = [line.removeprefix("Shell command: ") for line in out.splitlines()]
        return {step: sorted(c for c in shell if c.startswith(f"convergent {step} "))
                for step in ("train", "dump")}

    before = commands(copy.deepcopy(TINY))
    edited = copy.deepcopy(TINY)
    edited["layers"]["fc1"] = "fc1"  # read fc1 before its ReLU
    after = commands(edited)
    assert before["train"] and after["train"] == before["train"]
    assert after["dump"] and after["dump"] != before["dump"]
