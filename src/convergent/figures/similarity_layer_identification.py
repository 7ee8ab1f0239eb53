"""Figure: see convergent.figures.similarity.layer_identification."""

from convergent.figures.similarity import layer_identification as main

__all__ = ["main"]
