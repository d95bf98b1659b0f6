"""The LiveMoments diffusion restorer (ICLR 2026): SD3-medium MMDiT with a reference branch and motion alignment.

Importing this package is cheap: torch and diffusers are imported only by the submodules that run the model
(``motion``, ``schedule``, ``attention``, ``sampler``, ``loader``), which the restorer imports when it runs.
"""

NAME = "livemoments"


def factory():
    """The registry's factory: imports the restorer (still no torch) only when asked for."""
    from livemoments_app.core.restore.livemoments.restorer import LiveMomentsRestorer

    return LiveMomentsRestorer()


def register() -> None:
    """Registers the restorer as "livemoments" in ``livemoments_app.core.restore.base``."""
    from livemoments_app.core.restore.base import register as base_register

    base_register(NAME, factory)
