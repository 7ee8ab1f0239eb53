"""``convergent init FOLDER``: a study of one's own in its own folder.

A study is a folder: its config in ``config/config.yaml`` (what the Snakefile reads from the
working directory, ``snakemake --directory FOLDER``) and its results in ``results/``.  The
repository itself is the default study's folder.  The config written here is small, commented
and complete: every key it leaves out takes its default from config/schema.yaml, and nothing is
merged from another config file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from convergent.io import InputError
from convergent.io.files import atomic_path
from convergent.steps.spec import Step

#: where a study folder keeps its config (the Snakefile's default configfile, relative to the
#: working directory)
CONFIG = Path("config") / "config.yaml"

#: the config of a new study; {folder} is the folder as the user named it
TEMPLATE = """\
# A convergent study of its own.  This file is its whole config: a key it leaves out takes its
# default from config/schema.yaml (docs/config.md says what each key does); nothing is merged
# in from another config file.  Paths below are relative to the study folder, and the
# results go to {folder}/results/.  From the convergent checkout:
#
#   snakemake --profile workflow/profiles/local --directory {folder}
#   snakemake --profile workflow/profiles/local --directory {folder} --report results/report.html
#
# The first runs the study (run it again after an edit: only what the edit changes reruns);
# the second writes the report to {folder}/results/report.html.

dataset:
  name: fashion_mnist   # fashion_mnist | cifar10 | imagefolder (path: a folder with train/, val/)
  path: null            # null: the Debian package's copy, else a torchvision download
  train_subset: 20000   # train on 20,000 of the 60,000 images: a first look in minutes

# alexnet_small: conv1-conv5, fc6, fc7 (post-ReLU read-outs).  Your own network by import path
# or torchvision name, with its read-out points: docs/own_networks.md.
architectures: [alexnet_small]

models:                 # one network per entry, trained here (data_seed: init_seed if left out)
  - {{init_seed: 0}}
  - {{init_seed: 1}}
  - {{init_seed: 2}}
  # - {{checkpoint: runs/my_net.pt}}     # a network you trained elsewhere: imported, not trained
  # - {{activations: my_net.npz}}        # activations recorded elsewhere (no network)

training:               # a short schedule (the default study: 6 epochs on all 60,000 images)
  epochs: 2             # measured: 83-84 % test top-1 for all three seeds (the default: 91 %)
  batch_size: 64        # more steps per epoch than the default 256: a short schedule needs them
  augment_flip: false   # short schedules fit faster without flips (measured: +1.3 points)

probe:
  size: 1000            # the test images every network is compared on

layers: [conv1, conv3, conv5, fc7]   # the read-out layers compared, input to output
"""


def init(folder: str | Path) -> Path:
    """Write the config of a new study to ``folder/config/config.yaml`` and return its path;
    an existing config is never overwritten."""
    path = Path(folder) / CONFIG
    if path.exists():
        raise InputError(f"{path}: exists already; edit it, or name a new folder")
    with atomic_path(path) as tmp:
        tmp.write_text(TEMPLATE.format(folder=str(folder).rstrip("/") or "."))
    return path


def _init(args: argparse.Namespace) -> None:
    path = init(args.folder)
    folder = str(args.folder).rstrip("/") or "."
    print(f"{path}: written; run it from the convergent checkout with\n"
          f"  snakemake --profile workflow/profiles/local --directory {folder}")


def register(step: Step) -> None:
    """``convergent init FOLDER`` (the command-line parser's ``step``, as the steps use it)."""
    s = step("init", _init, "write a new study's config to FOLDER/config/config.yaml")
    s.add_argument("folder", help="the study's folder (created if absent)")
