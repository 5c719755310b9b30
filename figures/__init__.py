"""altsim.figures: matplotlib figures from `Comparison` objects (plain data), saved as PNG and PDF."""

from .rate_plot import rate_plot
from .style import save

__all__ = ["rate_plot", "save"]
