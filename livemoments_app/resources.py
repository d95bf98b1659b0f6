"""Where the files the app ships besides code live (the top-level ``resources/`` folder; see its README).

Import-free on purpose: the window, the CLI and the packaging tests all ask, and none should pay for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEMO_STILL = "demo/IMG_4394.HEIC"
DEMO_VIDEO = "demo/IMG_4394.MOV"
DEMO_LICENSE = "demo/LICENSE.txt"


def candidates() -> list[Path]:
    """Where ``resources/`` may be, most specific first: $LIVEMOMENTS_RESOURCES, the PyInstaller bundle's data
    folder, an installed wheel (``livemoments_app/_resources``), a source checkout."""
    found = []
    if os.environ.get("LIVEMOMENTS_RESOURCES"):
        found.append(Path(os.environ["LIVEMOMENTS_RESOURCES"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found.append(Path(bundle) / "resources")
    package = Path(__file__).resolve().parent
    found += [package / "_resources", package.parent / "resources"]
    return found


def resources_dir() -> Path:
    for folder in candidates():
        if (folder / DEMO_STILL).is_file():
            return folder
    raise FileNotFoundError("the app's resources folder is missing (looked in "
                            + ", ".join(os.fspath(c) for c in candidates()) + "); reinstall LiveMoments")


def demo_paths() -> tuple[Path, Path]:
    """The demo Live Photo's still and video."""
    root = resources_dir()
    return root / DEMO_STILL, root / DEMO_VIDEO


def is_bundled(path: str | os.PathLike) -> bool:
    """Whether ``path`` is one of the files the app ships (never a place to write next to)."""
    try:
        target = Path(path).resolve()
    except OSError:
        return False
    return any(target.is_relative_to(folder.resolve()) for folder in candidates() if folder.is_dir())
