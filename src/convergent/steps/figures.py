"""Step of workflow/rules/figures.smk (and the figure rules of the other stages): draw one
figure, ``convergent figure NAME --out FIG.pdf ...`` (``convergent figure NAME --help`` lists
what figure NAME reads)."""

from __future__ import annotations

import argparse

from convergent.steps.spec import Step


def figure(args: argparse.Namespace) -> None:
    from convergent.figures import draw

    draw(args.name, args.arguments)


def register(step: Step) -> None:
    from convergent.figures import REGISTRY

    s = step("figure", figure, "draw one figure (PDF + PNG)")
    s.add_argument("name", choices=sorted(REGISTRY), help="the figure")
    s.add_argument("arguments", nargs=argparse.REMAINDER, help="the figure's own arguments")
