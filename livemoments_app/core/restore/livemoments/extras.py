"""The optional diffusion packages (torch, diffusers, transformers, huggingface_hub): whether they are there, and
what a user who lacks them can do about it. A pip install gets them with the 'diffusion' extra; a PyInstaller
bundle built without them cannot install anything, so it is told where the packaging guide is instead."""

from __future__ import annotations

import importlib.util
import sys

from livemoments_app.core.errors import ModelFilesError

PIP_EXTRA = 'pip install "livemoments[diffusion]"'
PACKAGING_DOCS = "docs/packaging.md"


def frozen() -> bool:
    """True inside a PyInstaller bundle (which sets ``sys.frozen``)."""
    return bool(getattr(sys, "frozen", False))


def how_to_get_them() -> str:
    if frozen():
        return ("this LiveMoments app was built without PyTorch and the diffusion packages; install it from source "
                f"with {PIP_EXTRA}, or build the app with LIVEMOMENTS_BUNDLE_DIFFUSION=1 (see {PACKAGING_DOCS} in the "
                "LiveMoments sources)")
    return f"install the 'diffusion' extra: {PIP_EXTRA}"


def missing(modules: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` that cannot be imported. Imported for real while all before them were there (a
    half-installed package counts as missing); after a miss only looked up, because importing, say, transformers
    without torch prints its own complaint about torch."""
    gone = []
    for name in modules:
        if gone:
            try:
                found = importlib.util.find_spec(name) is not None
            except (ImportError, ValueError):
                found = False
        else:
            try:
                __import__(name)  # the import statement's own hook, as the code it guards will use
                found = True
            except ImportError:
                found = False
        if not found:
            gone.append(name)
    return gone


def require(modules: tuple[str, ...], purpose: str) -> None:
    """Raises ModelFilesError naming what is missing for ``purpose`` and how to get it."""
    gone = missing(modules)
    if gone:
        verb = "is" if len(gone) == 1 else "are"
        raise ModelFilesError(f"{purpose} needs {', '.join(gone)}, which {verb} not installed; {how_to_get_them()}")
