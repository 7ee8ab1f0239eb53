"""Best and worst matched unit pairs (Li et al. 2016, Fig. 2) of one layer of the example pair.

Each row shows one one-to-one matched pair: net A's unit's top-activating probe patches (cropped
to the unit's receptive field, computed from the architecture), then its partner's in net B, with
the correlation.  For a layer fed directly by the first convolution (conv1) the two units' filter
weights frame the row (grey = 0).  Where the receptive field is not known — a residual or
transformer network, or activations recorded elsewhere (no network) — a conv unit shows whole
images with the grid cell of its top position outlined; token units (a token's place in the
image is not known in general) and fc units show whole images.  The title says which.
"""

from __future__ import annotations

import argparse
import json

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

from convergent import models
from convergent.analysis.top_units import TopUnits
from convergent.figures import PALETTE, add_partner_argument, save, suptitle
from convergent.io.layouts import PairFile, TopUnitsFile
from convergent.models.receptive_field import ReceptiveField, crop, receptive_field

GAP = 1
#: the gaps between tiles: light grey, neither a white patch border nor black
GAP_GREY = 0.82
#: the bar between net A's tiles and net B's
SEPARATOR = PALETTE[1]
#: the outline of a unit's top position on a whole image
MARK_RGB = (0.9, 0.1, 0.1)
#: a patch's pixels beyond the image's edge (the network's padding): a colour no greyscale
#: pixel has, where white would read as the brightest image content
BEYOND_RGB = (0.55, 0.75, 1.0)


def probe_pixels(dataset: dict, split: str, index: np.ndarray) -> np.ndarray:
    """The probe images (N, C, H, W) as float in [0, 1], from the dataset config."""
    from convergent.data import DataSpec, image_folder
    from convergent.data.datasets import IMAGENET_MEAN, IMAGENET_STD

    spec = DataSpec.from_config(dataset)
    if spec.in_memory:
        return spec.tensors(split).images[index].numpy().astype(np.float64) / 255.0
    _, _, size = spec.shape("alexnet_torchvision")
    ds = image_folder(spec.path, split, train=False, size=size)
    images = np.stack([ds[int(i)][0].numpy() for i in index])
    mean, std = np.array(IMAGENET_MEAN)[:, None, None], np.array(IMAGENET_STD)[:, None, None]
    return np.clip(images * std + mean, 0, 1)


def first_filters(network: nn.Module, readout: str) -> np.ndarray | None:
    """Weights (C_out, C_in, k, k) of the only convolution up to ``readout`` (and inside it),
    else None."""
    convs, seen = [], False
    for name, module in network.named_modules():
        inside = name == readout or name.startswith(readout + ".")
        if seen and not inside:
            break
        seen = seen or inside
        if isinstance(module, nn.Conv2d):
            convs.append(module)
    return convs[0].weight.detach().numpy() if len(convs) == 1 else None


def as_rgb(x: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W, 3)."""
    x = np.moveaxis(x, 0, -1)
    return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def filter_image(w: np.ndarray) -> np.ndarray:
    """One filter (C_in, k, k) -> RGB in [0, 1], 0.5 = zero weight, sign kept."""
    return as_rgb(0.5 + w / (2 * max(np.abs(w).max(), 1e-12)))


def hstack(tiles: list[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Tiles of one height side by side, separated by light grey columns."""
    h = tiles[0].shape[0]
    out = []
    for t in tiles:
        out += [t, np.full((h, gap, 3), GAP_GREY)]
    return np.concatenate(out[:-1], axis=1)


def marked(image: np.ndarray, grid: tuple[int, int], r: int, c: int) -> np.ndarray:
    """A whole (H, W, 3) image with the cell (r, c) of a ``grid`` over it outlined (at least
    3 pixels wide)."""
    out = image.copy()
    h, w = out.shape[:2]
    top, bottom = (int(np.floor(r * h / grid[0])), int(np.ceil((r + 1) * h / grid[0])))
    left, right = (int(np.floor(c * w / grid[1])), int(np.ceil((c + 1) * w / grid[1])))
    top, left = min(top, h - 3), min(left, w - 3)
    bottom, right = max(bottom, top + 3), max(right, left + 3)
    colour = np.asarray(MARK_RGB)
    out[top:bottom, [left, right - 1]] = colour
    out[[top, bottom - 1], left:right] = colour
    return out


def unit_patches(
    images: np.ndarray, top: TopUnits, unit: int, rf: ReceptiveField | None
) -> list[np.ndarray]:
    """The unit's top images: patches cropped to its receptive field ``rf`` (pixels beyond
    the image's edge NaN: see :func:`beyond_painted`); or, unknown, whole images, a conv unit's
    top position outlined."""
    mark = rf is None and len(top.grid) == 2
    return [
        marked(as_rgb(images[i]), tuple(top.grid), r, c) if mark
        else as_rgb(crop(images[i], rf, r, c, fill=np.nan))
        for i, r, c in zip(top.image[unit], top.row[unit], top.col[unit], strict=True)
        if i >= 0
    ]


def beyond_painted(tile: np.ndarray) -> np.ndarray:
    """An (H, W, 3) patch with its pixels beyond the image (NaN) in BEYOND_RGB."""
    return np.where(np.isnan(tile).any(axis=-1, keepdims=True), BEYOND_RGB, tile)


def shown(rf: ReceptiveField | None, grid: np.ndarray, network: bool) -> str:
    """What the tiles of a layer are, for the title."""
    if rf is not None:
        return f"receptive field {rf.size}×{rf.size} px (stride {rf.stride})"
    if len(grid) == 1:
        return "token units: whole images (a token's place in the image is not known)"
    if len(grid) == 2:
        why = ("no receptive field (not a chain of modules)" if network
               else "no network (activations recorded elsewhere)")
        return f"{why}: whole images, top position outlined"
    return "whole images (fc units)"


def best_and_worst(c: np.ndarray, partner: np.ndarray, value: np.ndarray, k: int):
    """Units of A (live in both nets, matched) with the k highest and k lowest matched value."""
    live_a, live_b = np.any(c != 0, axis=1), np.any(c != 0, axis=0)
    ok = np.flatnonzero((partner >= 0) & live_a & live_b[np.maximum(partner, 0)])
    ranked = ok[np.argsort(-value[ok], kind="stable")]
    return ranked[:k], ranked[::-1][:k]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", type=json.loads, required=True,
                        help="JSON: arch, dataset, probe, k")
    parser.add_argument("--pair", required=True, help="the example pair's pair file of one layer")
    add_partner_argument(parser)
    parser.add_argument("--units", nargs=2, required=True, help="top-units files of nets A and B")
    parser.add_argument("--checkpoints", nargs="*", default=[],
                        help="checkpoints of nets A and B (none: activations recorded "
                             "elsewhere; whole images are shown)")

def main(args: argparse.Namespace) -> None:
    from convergent.models.checkpoints import load_network

    spec = args.spec
    pair = PairFile(args.pair, args.partner)
    attrs, layer = pair.attrs, pair.attrs["layer"]
    c, one = pair.between(), pair.matchings().one2one
    units = [TopUnitsFile(path, model=model)
             for path, model in zip(args.units, (attrs["model_a"], attrs["model_b"]), strict=True)]
    tops = [u.layer(layer) for u in units]
    index = units[0].probe_index()
    images = probe_pixels(spec["dataset"], spec["probe"]["split"], index)
    readout = models.READOUTS[spec["arch"]][layer]
    nets = [load_network(path, spec["arch"])[0] for path in args.checkpoints]
    # token units have no field; a file from before grids were kept has no grid (conv or fc)
    rf = receptive_field(nets[0], readout) if nets and len(tops[0].grid) != 1 else None
    filters = [first_filters(net, readout) for net in nets] if rf else [None, None]
    if filters[0] is not None and filters[0].shape[-1] != rf.size:  # not fed by it directly
        filters = [None, None]
    best, worst = best_and_worst(c, one.partner, one.value, spec["k"])
    rows = max(len(best), 1)
    beyond = False  # whether a patch shown crosses the image's edge
    fig = plt.figure(figsize=(13, 0.95 * rows + 1.6), layout="constrained")
    for subfig, (chosen, kind) in zip(fig.subfigures(1, 2, wspace=0.04),
                                      ((best, "best"), (worst, "worst")), strict=True):
        axes = subfig.subplots(rows, 1, squeeze=False)[:, 0]
        subfig.suptitle(f"{kind} {len(chosen)} matches", fontsize=10)
        for row, u in enumerate(chosen):
            v = one.partner[u]
            tiles_a = unit_patches(images, tops[0], u, rf)
            tiles_b = unit_patches(images, tops[1], v, rf)
            beyond |= any(np.isnan(t).any() for t in tiles_a + tiles_b)
            tiles_a, tiles_b = ([beyond_painted(t) for t in ts] for ts in (tiles_a, tiles_b))
            if filters[0] is not None:
                tiles_a = [filter_image(filters[0][u])] + tiles_a
                tiles_b = tiles_b + [filter_image(filters[1][v])]
            h = tiles_a[0].shape[0]
            left = hstack(tiles_a)
            sep = np.ones((h, max(3, h // 2), 3))
            ax = axes[row]
            ax.imshow(np.concatenate([left, sep, hstack(tiles_b)], axis=1),
                      interpolation="nearest")
            # net A | net B: a bar in the white gap between them
            ax.axvline(left.shape[1] + sep.shape[1] / 2 - 0.5, color=SEPARATOR, lw=2.5)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(f"r = {one.value[u]:.2f}", rotation=0, ha="right", va="center")
            ax.set_title(f"A unit {u}  ↔  B unit {v}", fontsize=8, pad=2)
            if row == 0:
                width = left.shape[1] + sep.shape[1] + hstack(tiles_b).shape[1]
                for x, net in ((left.shape[1] / 2, "net A"),
                               (width - hstack(tiles_b).shape[1] / 2, "net B")):
                    ax.annotate(net, (x, 1), xycoords=("data", "axes fraction"),
                                xytext=(0, 14), textcoords="offset points", ha="center",
                                va="bottom", fontsize=9, fontweight="bold")
        for ax in axes[len(chosen):]:
            ax.axis("off")
    where = shown(rf, tops[0].grid, bool(nets))
    # no-break spaces: a wrap never leaves "0)" alone on a line
    framing = "; filters at the ends (grey\u00a0=\u00a00)" if filters[0] is not None else ""
    if beyond:
        framing += "; blue = beyond the image's edge"
    suptitle(fig,
        f"{layer}: top-activating probe {'patches' if rf else 'images'} of one-to-one "
        "matched units\n"
        f"net A = {attrs['model_a']} (left of the bar), net B = {attrs['model_b']} (right)\n"
        f"{where}{framing}",
        fontsize=11,
    )
    save(fig, args.out)


FIGURES = {"unit-pairs": main}
