"""Step of workflow/rules/compare.smk: Li et al.'s comparison of one layer of a block of pairs
(model B and each of its partners A) — between-net correlations, semi-matching and one-to-one
matching — from the activation dumps (cross sums) and the models' moments files (within sums)."""

from __future__ import annotations

import argparse
from typing import Any

from convergent.io import InputError
from convergent.io.hdf5 import Groups
from convergent.moments import BlockMoments
from convergent.steps.spec import Step, add_spec


def partner_name(model: str) -> str:
    """The member of a block file that holds a pair: the partner's model name (id arch/name)."""
    return model.split("/")[-1]


def pair_result(
    layer: str,
    cross: BlockMoments,
    moments: tuple[str, str],
    models: tuple[str, str],
    architecture: str,
    dead_std: float,
) -> tuple[Groups, dict[str, Any]]:
    """The pair file member of one layer from its per-block cross moments and the two models'
    moments files (shared by ``compare`` and ``stream-compare``)."""
    from convergent.analysis.pairs import compare_units
    from convergent.io.layouts import MomentsFile, PairFile

    total = cross.total()
    var = []
    for path, model in zip(moments, models, strict=True):
        within = MomentsFile(path, model=model).layer(layer)
        if within.count.sum() != total.count[0]:
            raise InputError(
                f"{path}: moments over {within.count.sum():.0f} samples, but the "
                f"activations hold {total.count[0]:.0f}; rerun snakemake to rebuild it"
            )
        var.append(within.variance())
    result = compare_units(cross, *var, dead_std)
    attrs = {
        "layer": layer,
        "model_a": models[0],
        "model_b": models[1],
        "architecture": architecture,
        "samples": total.count[0],
        "dead_a": result.dead_a,
        "dead_b": result.dead_b,
        "same_partner_fraction": result.same_partner_fraction,
    }
    # the per-block cross sums stay in the pair file: held-out splits (sparse prediction) and
    # bootstraps reuse them instead of streaming the activations again
    return PairFile.groups(result.between, result.matchings, cross), attrs


def compare(args: argparse.Namespace) -> None:
    from convergent.io.activations import ActivationFile, check_same_probe
    from convergent.io.layouts import PairFile
    from convergent.moments import cross_moments
    from convergent.moments.sums import spec_sums_device
    from convergent.progress import progress

    opts, layer, models = args.spec["analysis"], args.layer, args.spec["models"]
    with ActivationFile(args.b, models["b"]) as fb, PairFile.block(args.out) as add:
        for path, moments, model in zip(args.a, args.moments_a, models["a"], strict=True):
            with ActivationFile(path, model) as fa:
                check_same_probe(fa, fb)
                if fa.attrs["architecture"] != fb.attrs["architecture"]:
                    raise InputError(
                        f"{path} and {args.b}: different architectures; pairs compare "
                        "models of one architecture"
                    )
                with progress(fa.n_images, "img", f"cross moments {layer} {model}") as bar:
                    cross = cross_moments(fa, fb, layer, opts["blocks"], opts["chunk_images"],
                                          bar.update, spec_sums_device(args.spec))
            pair = (model, models["b"])
            add(partner_name(model), *pair_result(layer, cross, (moments, args.moments_b), pair,
                                                  fb.attrs["architecture"],
                                                  opts["dead_unit_std"]))


def add_block_arguments(s: argparse.ArgumentParser, files: str) -> None:
    """The files of a block of pairs: model B's and, in pair order, each partner A's
    (``files``: what is read of each model, e.g. "activation")."""
    s.add_argument("--a", nargs="+", required=True, help=f"{files} files of the partners A")
    s.add_argument("--b", required=True, help=f"{files} file of model B")


def register(step: Step) -> None:
    s = step("compare", compare, "correlations and matchings of one layer of a block of pairs")
    add_spec(s, "models ({a: partner ids, b: id}: what the files must hold), analysis")
    add_block_arguments(s, "activation")
    s.add_argument("--moments-a", nargs="+", required=True, help="moments files of the A's")
    s.add_argument("--moments-b", required=True, help="moments file of model B")
    s.add_argument("--layer", required=True, help="the layer compared")
    s.add_argument("--out", required=True, help="the block's pair file written")
