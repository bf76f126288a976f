"""The ladder pipeline: generate or import trajectories, grade, segment, annotate."""
from warehouse import __version__  # one version for the whole tool

__all__ = ["__version__"]
