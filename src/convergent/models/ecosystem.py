"""Builders of networks from the ecosystem, by name, offline: torchvision classification models
(``torchvision:<name>``) and timm models (``timm:<name>`` or ``timm:<folder>``, the optional
extra ``convergent[timm]``).  Every network is randomly initialised and nothing is downloaded:
trained weights come in as checkpoint entries (docs/own_networks.md).

Read-outs are module paths, as for any architecture.  What a read-out of these networks is:

* a ViT block (torchvision ``encoder.layers.encoder_layer_<k>``, timm ``blocks.<k>``) outputs
  (N, T, D) tokens, the class token first: a ``tokens`` layer;
* a torchvision Swin stage (``features.<k>``) outputs (N, H, W, C), channels last: every module
  under ``features`` but the first convolution is marked channels-last, so its read-out is a
  conv layer (N, C, H, W) — one unit per channel, samples images × positions as in a CNN (a
  timm Swin is marked by the architecture's ``channels_last``);
* a residual stage (``layer1`` of a ResNet) is a conv layer whose receptive field is not
  computed (:mod:`convergent.models.receptive_field`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convergent.models.readout import CHANNELS_LAST

if TYPE_CHECKING:
    from torch import nn

#: the optional extra that installs timm
TIMM_EXTRA = "pip install 'convergent[timm]' (or pip install timm)"


def torchvision_builder(name: str) -> Callable[..., Any]:
    """A builder of torchvision classification model ``name``: random init (``weights=None``,
    nothing downloaded); grey images are repeated to RGB by a forward pre-hook, so the module
    paths and weight names stay torchvision's own.  A ViT (``vit_*``) is built for the
    dataset's image side, which its patch size must divide; the architecture's ``options``
    are the model builder's keywords."""
    from torchvision import models as tv

    if name not in tv.list_models(module=tv):
        raise ValueError(f"{name!r} is not a torchvision classification model")

    def build(num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        if name.startswith("vit_"):
            options = {"image_size": image_size, **options}
        # a ViT whose patches do not tile the images: torchvision refuses it in one line
        net = tv.get_model(name, weights=None, num_classes=num_classes, **options)
        if name.startswith("swin"):
            setattr(net, CHANNELS_LAST, frozenset(
                path for path, _ in net.named_modules()
                if path.startswith("features.") and path != "features.0.0"))
        if in_channels == 1:
            net.register_forward_pre_hook(lambda _m, args: (args[0].expand(-1, 3, -1, -1),))
        elif in_channels != 3:
            raise ValueError(f"torchvision:{name} takes 1 or 3 input channels, not {in_channels}")
        return net

    return build


def timm_builder(source: str) -> Callable[..., Any]:
    """A builder of a timm model: ``source`` names one (``resnet18``) or is a folder holding a
    timm ``config.json`` (``architecture`` and ``model_args``: timm's ``local-dir:`` source),
    built with random weights (``pretrained=False``: the folder's weight file, if any, is not
    read here — list it as a checkpoint entry); the architecture's ``options`` are keywords of
    ``timm.create_model`` (``img_size``, ``patch_size``, ``depth``, ...)."""
    try:
        import timm
    except ImportError:
        raise ImportError(f"the timm builder needs timm: {TIMM_EXTRA}") from None
    folder = Path(source)
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ValueError(f"{source}: no config.json in the folder (timm's model config)")
        model = f"local-dir:{folder.resolve()}"
    elif timm.is_model(source):
        model = source
    else:
        raise ValueError(f"{source!r} is neither a timm model name nor a folder with a config.json")

    def build(num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        return timm.create_model(model, pretrained=False, num_classes=num_classes,
                                 in_chans=in_channels, **options)

    return build


#: the builders of :data:`convergent.models.TORCHVISION` and :data:`convergent.models.TIMM`
#: names, by prefix
BUILDERS = {"torchvision": torchvision_builder, "timm": timm_builder}
