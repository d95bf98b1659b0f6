"""LiveMoments: reselect the key photo of a Live Photo / Motion Photo and restore it."""

__version__ = "0.1.0"
