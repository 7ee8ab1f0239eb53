"""Vision transformers and models from the ecosystem: the built-in vit_small (its options from
the config), torchvision's vit_b_16 and swin_t through the ``torchvision:`` builder, timm models
through ``timm:`` (skipped only where the extra is not installed); each builds, is checked before
any job starts and dumps a batch whose layers have the expected kinds."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from test_own_networks import SCHEMA, config, error

from convergent import models, study
from convergent.io.activations import ActivationFile, record


def batch_dump(tmp_path, net, layers, images):
    """Record ``layers`` ({name: module path}) of ``net`` on ``images`` and open the file."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=2)
    return ActivationFile(record(net, layers, loader, tmp_path / "batch.h5"))


def kinds(f: ActivationFile) -> dict[str, tuple[str, tuple]]:
    return {name: (ds.attrs["kind"], ds.shape) for name, ds in f.file["layers"].items()}


def test_vit_small_reads_out_tokens_at_its_blocks_and_fc_at_the_head(tmp_path):
    arch = models.architecture("vit_small")
    assert arch.layers == ("block1", "block2", "block3", "block4", "block5", "block6", "head")
    assert arch.check(10, 1, 28) is None
    torch.manual_seed(0)
    net = models.build("vit_small", 10, 1, 28).eval()
    f = batch_dump(tmp_path, net, dict(arch.readouts), torch.randn(4, 1, 28, 28))
    found = kinds(f)
    # 28-pixel images in 7-pixel patches: 16 patches and the class token, width 64
    assert found["block1"] == ("tokens", (4, 17, 64)) and found["head"] == ("fc", (4, 64))
    # the head is the class token of the last block after the final LayerNorm
    np.testing.assert_allclose(
        f.layer("head")[()], net.norm(torch.from_numpy(f.layer("block6")[()]))[:, 0].detach(),
        rtol=1e-5, atol=1e-5)


def test_vit_options_come_from_the_config_and_reach_the_jobs():
    vit = {"name": "vit", "builder": "convergent.models.vit_small:build",
           "options": {"patch_size": 4, "width": 32, "depth": 2, "heads": 2},
           "layers": {"block1": "blocks.0", "block2": "blocks.1", "head": "pool"}}
    cfg = config(architectures=[vit], layers=["block1", "head"])
    study.validate(cfg, SCHEMA)
    definition = study.defined_architectures(cfg)["vit"]
    assert definition["options"] == vit["options"]  # in every job's spec: an edit reruns them
    net = models.build("vit", 10, 1, 28)
    assert len(net.blocks) == 2 and net.position.shape == (1, 1 + 7 * 7, 32)
    # a definition without options keeps the spec it had before options existed
    assert "options" not in models.from_definition("x", {**vit, "options": {}}, "c").definition()
    # a job registers the definition from its spec's JSON, whose mappings have sorted keys:
    # the layers keep their order (their relative depth)
    deep = {**vit, "layers": {"head": "pool", "block1": "blocks.0"}}
    spec = json.loads(json.dumps(models.from_definition("v", deep, "c").definition(),
                                 sort_keys=True))
    models.register({"v2": spec})
    assert models.layer_names("v2") == ("head", "block1")
    for options, message in (
        ({"patch_size": 5}, "patch_size 5 does not tile 28-pixel images"),
        ({"depth": 1}, "layers.block2: no module 'blocks.1' in the network"),
        ({"colour": 1}, "unexpected keyword argument 'colour'"),
    ):
        bad = config(architectures=[{**copy.deepcopy(vit), "options": options}],
                     layers=["block1"])
        assert message in error(bad)


def test_a_read_out_of_no_layer_kind_fails_before_any_job():
    cfg = config(architectures=[{"name": "vit", "builder": "convergent.models.vit_small:build",
                                 "layers": {"qkv": "blocks.0.attn"}}], layers=["qkv"])
    # the attention module returns a tuple: its first element, (N, T, D), is read
    study.validate(cfg, SCHEMA)
    cfg["architectures"][0]["channels_last"] = ["qkv"]
    assert error(cfg) == (
        "architectures[0].layers.qkv: module 'blocks.0.attn': a channels-last read-out is "
        "(N, H, W, C), not (1, 17, 64); read out another module"
    )


def test_torchvision_vit_b_16_reads_out_tokens(tmp_path):
    vit = models.from_definition("tv_vit", {"torchvision": "vit_b_16", "layers": {
        "block1": "encoder.layers.encoder_layer_0", "block12": "encoder.layers.encoder_layer_11"}},
        "config")
    assert vit.check(10, 3, 32) is None
    torch.manual_seed(0)
    net = vit.build(10, 3, 32).eval()
    f = batch_dump(tmp_path, net, dict(vit.readouts), torch.randn(2, 3, 32, 32))
    # 32-pixel images in 16-pixel patches: 4 patches and the class token, width 768
    assert kinds(f) == {"block1": ("tokens", (2, 5, 768)), "block12": ("tokens", (2, 5, 768))}
    # Fashion-MNIST's 28 pixels are not tiled by its 16-pixel patches: refused before any job
    assert vit.check(10, 1, 28) == ("builder: 'torchvision:vit_b_16' failed (AssertionError: "
                                    "Input shape indivisible by patch size!)")


def test_torchvision_swin_t_stages_are_read_as_conv_channels_first(tmp_path):
    swin = models.from_definition("tv_swin", {"torchvision": "swin_t", "layers": {
        "stage1": "features.1", "stage2": "features.3"}}, "config")
    assert swin.check(10, 1, 28) is None
    torch.manual_seed(0)
    net = swin.build(10, 1, 28).eval()
    f = batch_dump(tmp_path, net, dict(swin.readouts), torch.randn(2, 1, 28, 28))
    # (N, H, W, C) stage outputs, channels first: 96 and 192 channels on 7x7 and 4x4 grids
    assert kinds(f) == {"stage1": ("conv", (2, 96, 7, 7)), "stage2": ("conv", (2, 192, 4, 4))}
    out = {}
    net.features[1].register_forward_hook(lambda _m, _i, o: out.setdefault("x", o))
    with torch.no_grad():
        net(torch.zeros(1, 1, 28, 28))
    assert out["x"].shape == (1, 7, 7, 96)  # what the module itself returns


def test_timm_model_from_a_local_config_folder(tmp_path):
    """A randomly initialised tiny timm ViT built from a config.json in a folder (timm's
    local-dir source: nothing downloaded), read out by module path."""
    pytest.importorskip("timm", reason="the optional extra convergent[timm] is not installed")
    folder = tmp_path / "tiny_vit"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({  # as timm's push_to_hf_hub writes it
        "architecture": "vit_tiny_patch16_224", "num_classes": 1000, "num_features": 24,
        "pretrained_cfg": {"input_size": [3, 28, 28]},
        "model_args": {"img_size": 28, "patch_size": 7, "embed_dim": 24, "depth": 2,
                       "num_heads": 2},
    }))
    entry = {"name": "tiny_vit", "timm": str(folder),
             "layers": {"block1": "blocks.0", "block2": "blocks.1", "head": "fc_norm"}}
    cfg = config(architectures=[entry], layers=["block1", "block2", "head"])
    study.validate(cfg, SCHEMA)
    torch.manual_seed(0)
    net = models.build("tiny_vit", 10, 1, 28).eval()
    assert net.head.out_features == 10 and net.patch_embed.proj.in_channels == 1
    f = batch_dump(tmp_path, net, dict(models.READOUTS["tiny_vit"]), torch.randn(2, 1, 28, 28))
    assert kinds(f)["block1"] == ("tokens", (2, 17, 24))
    # a timm model by name, its options from the config
    by_name = {"name": "tv", "timm": "vit_tiny_patch16_224",
               "options": {"img_size": 28, "patch_size": 7, "embed_dim": 24, "depth": 1,
                           "num_heads": 2},
               "layers": {"block1": "blocks.0"}}
    study.validate(config(architectures=[by_name], layers=["block1"]), SCHEMA)
    bad = config(architectures=[{**by_name, "timm": "no_such_model"}], layers=["block1"])
    assert "'no_such_model' is neither a timm model name nor a folder" in error(bad)


def test_the_vit_study_compares_vit_with_alexnet_small_at_matched_depth():
    import yaml
    from conftest import ROOT

    cfg = yaml.safe_load((ROOT / "config" / "vit.yaml").read_text())
    study.validate(cfg, SCHEMA)
    assert study.architecture_names(cfg) == ["vit", "alexnet"]
    for layer in cfg["layers"]:
        assert models.relative_depth("vit", layer) == models.relative_depth("alexnet", layer)
    # the ViT is vit_small with its own options; alexnet is alexnet_small under depth names
    assert list(models.READOUTS["alexnet"].values()) == list(
        models.READOUTS["alexnet_small"].values())
    assert models.architecture("vit").options == {"patch_size": 7, "width": 64, "depth": 6,
                                                  "heads": 4}
    assert study.example_pair(cfg).id == "vit/i0-d0__i1-d1"
    cross = study.cross_pairs(cfg)
    assert len(cross) == 6 and all(a.arch == "vit" and b.arch == "alexnet" for a, b in cross)
