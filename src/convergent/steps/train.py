"""Steps of workflow/rules/train.smk: train one model; save an untrained one (a null model);
import a network trained elsewhere (a checkpoint entry of models) and measure its accuracy."""

from __future__ import annotations

import argparse

from convergent.steps.gpus import claim_gpu
from convergent.steps.spec import Step, add_spec


def train(args: argparse.Namespace) -> None:
    if args.spec["training"]["accelerator"] != "cpu":
        claim_gpu()  # before CUDA starts: concurrent trainings get a GPU each
    from convergent.training import fit

    summary = fit(args.spec, args.outdir)
    print(f"{summary['model']}: test accuracy {100 * summary['test_acc']:.2f}%")


def untrained(args: argparse.Namespace) -> None:
    from convergent.training import save_untrained

    save_untrained(args.spec, args.out)


def import_checkpoint(args: argparse.Namespace) -> None:
    from convergent.training import import_checkpoint

    import_checkpoint(args.spec, args.out)


def evaluate(args: argparse.Namespace) -> None:
    if args.spec["training"]["accelerator"] != "cpu":
        claim_gpu()
    from convergent.training import evaluate

    summary = evaluate(args.spec, args.checkpoint, args.out)
    print(f"{summary['model']}: test accuracy {100 * summary['test_acc']:.2f}%")


def register(step: Step) -> None:
    s = step("train", train, "train one model (resumes a killed run of the same spec)")
    add_spec(s, "arch, name, init_seed, data_seed, replicate, dataset, training")
    s.add_argument("--outdir", required=True, help="writes model.ckpt, metrics.csv, summary.json")

    s = step("untrained", untrained, "save an untrained (initialisation) checkpoint")
    add_spec(s, "arch, init_seed, dataset")
    s.add_argument("--out", required=True, help="the checkpoint written")

    s = step("import-checkpoint", import_checkpoint, "import a network trained elsewhere")
    add_spec(s, "arch, checkpoint (the user's file, only read), dataset")
    s.add_argument("--out", required=True, help="the convergent checkpoint written")

    s = step("evaluate", evaluate, "test accuracy of an imported network (its summary.json)")
    add_spec(s, "arch, model, dataset, training (batch_size, num_workers, accelerator)")
    s.add_argument("--checkpoint", required=True, help="the imported checkpoint")
    s.add_argument("--out", required=True, help="the summary.json written")
