"""Figure: see convergent.figures.similarity.by_layer."""

from convergent.figures.similarity import by_layer as main

__all__ = ["main"]
