"""Step of workflow/rules/compare.smk: Li et al.'s comparison of one layer of one pair —
between-net correlations, semi-matching and one-to-one matching — from the two activation
dumps (cross sums) and the two models' moments files (within sums)."""

from __future__ import annotations

import argparse

from convergent.io import InputError
from convergent.moments import BlockMoments
from convergent.steps import Step, add_spec


def write_pair(
    out: str,
    layer: str,
    cross: BlockMoments,
    moments: tuple[str, str],
    models: tuple[str, str],
    architecture: str,
    dead_std: float,
) -> None:
    """The pair file of one layer from its per-block cross moments and the two models' moments
    files (shared by ``compare`` and ``stream-compare``)."""
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
        "same_partner_fraction": result.matchings.same_partner_fraction,
    }
    # the per-block cross sums stay in the pair file: held-out splits (sparse prediction) and
    # bootstraps reuse them instead of streaming the activations again
    PairFile.save(out, result.between, result.matchings, cross, attrs)


def compare(args: argparse.Namespace) -> None:
    from convergent.io.activations import ActivationFile, check_same_probe
    from convergent.moments import cross_moments
    from convergent.progress import progress

    opts, layer = args.spec["analysis"], args.layer
    model_a, model_b = args.spec["models"]
    with ActivationFile(args.a, model_a) as fa, ActivationFile(args.b, model_b) as fb:
        check_same_probe(fa, fb)
        if fa.attrs["architecture"] != fb.attrs["architecture"]:
            raise InputError(
                f"{args.a} and {args.b}: different architectures; pairs compare "
                "models of one architecture"
            )
        with progress(fa.n_images, "img", f"cross moments {layer}") as bar:
            cross = cross_moments(fa, fb, layer, opts["blocks"], opts["chunk_images"], bar.update)
        architecture = fa.attrs["architecture"]
    moments = (args.moments_a, args.moments_b)
    write_pair(
        args.out, layer, cross, moments, (model_a, model_b), architecture, opts["dead_unit_std"]
    )


def register(step: Step) -> None:
    s = step("compare", compare, "correlations and matchings of one layer of one pair")
    add_spec(s, "models (the ids files A and B must hold), layers, analysis")
    s.add_argument("--a", required=True, help="activation file of model A")
    s.add_argument("--b", required=True, help="activation file of model B")
    s.add_argument("--moments-a", required=True, help="moments file of model A")
    s.add_argument("--moments-b", required=True, help="moments file of model B")
    s.add_argument("--layer", required=True, help="the layer compared")
    s.add_argument("--out", required=True, help="the pair file written")
