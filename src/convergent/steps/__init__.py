"""The steps the Snakemake rules call (``convergent <step>``), one module per .smk file of
workflow/rules/: each reads its inputs through :mod:`convergent.io`, calls the pure functions
of :mod:`convergent.analysis` (and friends) and writes its outputs through :mod:`convergent.io`.

Every module has ``register(step)``: ``step(name, func, help)`` adds a subcommand and returns its
parser, to which the module adds the arguments its functions read.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

#: the type of ``step``: adds a subcommand running ``func`` and returns its parser
Step = Callable[[str, Callable[[argparse.Namespace], None], str], argparse.ArgumentParser]


def add_spec(parser: argparse.ArgumentParser, keys: str) -> None:
    """The ``--spec`` argument: the JSON options a rule passes (``keys`` says which)."""
    parser.add_argument("--spec", type=json.loads, required=True, help=f"JSON: {keys}")


def modules() -> list:
    """The step modules (imported lazily by the parser: each imports its heavy packages inside
    its functions, so that ``convergent <step>`` starts fast)."""
    from convergent.steps import (
        activations,
        compare,
        figures,
        li_analyses,
        similarity,
        stream,
        tables,
        train,
    )

    return [train, activations, compare, stream, tables, li_analyses, similarity, figures]
