"""Step of workflow/rules/figures.smk (and the figure rules of the other stages): draw one
figure, ``convergent figure NAME --out FIG.pdf ...`` (``convergent figure NAME --help`` lists
what figure NAME reads)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from convergent.steps.spec import Step


def figure(args: argparse.Namespace) -> None:
    from convergent.figures import draw

    draw(args.name, args.arguments)


class _FigureNames:
    """The figure names, read when argparse first checks or lists them: importing
    :mod:`convergent.figures` loads matplotlib (~0.2 s of CPU), which every other step's job
    would pay for when the parser is built."""

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    @staticmethod
    def _names() -> list[str]:
        from convergent.figures import REGISTRY

        return sorted(REGISTRY)


def register(step: Step) -> None:
    s = step("figure", figure, "draw one figure (PDF + PNG)")
    s.add_argument("name", choices=_FigureNames(), metavar="NAME",
                   help="the figure: %(choices)s")
    s.add_argument("arguments", nargs=argparse.REMAINDER, help="the figure's own arguments")
