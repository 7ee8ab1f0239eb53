"""Figure: see convergent.figures.similarity.sources."""

from convergent.figures.similarity import sources as main

__all__ = ["main"]
