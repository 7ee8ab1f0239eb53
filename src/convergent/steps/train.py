"""Steps of workflow/rules/train.smk: train one model; save an untrained one (a null model)."""

from __future__ import annotations

import argparse

from convergent.steps import Step, add_spec, claim_gpu


def train(args: argparse.Namespace) -> None:
    if args.spec["training"]["accelerator"] != "cpu":
        claim_gpu()  # before CUDA starts: concurrent trainings get a GPU each
    from convergent.training import fit

    summary = fit(args.spec, args.outdir, threads=args.threads)
    print(f"{summary['model']}: test accuracy {100 * summary['test_acc']:.2f}%")


def untrained(args: argparse.Namespace) -> None:
    from convergent.training import save_untrained

    save_untrained(args.spec, args.out)


def register(step: Step) -> None:
    s = step("train", train, "train one model (resumes a killed run of the same spec)")
    add_spec(s, "arch, name, init_seed, data_seed, replicate, dataset, training")
    s.add_argument("--outdir", required=True, help="writes model.ckpt, metrics.csv, summary.json")
    s.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")

    s = step("untrained", untrained, "save an untrained (initialisation) checkpoint")
    add_spec(s, "arch, init_seed, dataset")
    s.add_argument("--out", required=True, help="the checkpoint written")
