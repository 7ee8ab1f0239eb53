"""What every step module shares: the type of ``step`` (how a module adds its subcommands) and
the ``--spec`` argument through which a rule passes its options."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

#: the type of ``step``: adds a subcommand running ``func`` and returns its parser
Step = Callable[[str, Callable[[argparse.Namespace], None], str], argparse.ArgumentParser]


def add_spec(parser: argparse.ArgumentParser, keys: str) -> None:
    """The ``--spec`` argument: the JSON options a rule passes (``keys`` says which)."""
    parser.add_argument("--spec", type=json.loads, required=True, help=f"JSON: {keys}")

