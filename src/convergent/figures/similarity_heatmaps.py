"""Figure: see convergent.figures.similarity.heatmaps."""

from convergent.figures.similarity import heatmaps as main

__all__ = ["main"]
