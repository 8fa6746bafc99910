"""obrolan: self-hosted conversation platform that keeps its privacy promises in code."""

__version__ = "0.1.0"

__all__ = ["__version__"]
