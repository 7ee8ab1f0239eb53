"""Figure: see convergent.figures.similarity.architectures."""

from convergent.figures.similarity import architectures as main

__all__ = ["main"]
