"""The classic, CPU-only, reference-guided restorer (no model files)."""

from livemoments_app.core.restore.classic.restorer import ClassicOptions, ClassicRestorer

__all__ = ["ClassicOptions", "ClassicRestorer"]
