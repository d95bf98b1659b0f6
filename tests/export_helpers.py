"""Shared by the export / write-back tests: re-reading written files, and exiftool as an independent reader."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

EXIFTOOL_CONFIG = ROOT.parent / "shared" / "tools" / "exiftool-elst.config"


def exiftool(path: Path, *tags: str, extract_embedded: bool = False, struct: bool = False) -> dict:
    """exiftool's JSON for ``path`` (-G1 -n), skipping the test when exiftool is not installed."""
    exe = shutil.which("exiftool")
    if exe is None:
        pytest.skip("exiftool is not installed (Debian: libimage-exiftool-perl)")
    args = [exe]
    if EXIFTOOL_CONFIG.exists():
        args += ["-config", str(EXIFTOOL_CONFIG)]   # must come first
    args += ["-j", "-a", "-G1", "-n"]
    if extract_embedded:
        args.append("-ee")
    if struct:
        args.append("-struct")
    args += [f"-{t}" for t in tags] + [str(path)]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)[0]


def first(record: dict, name: str):
    """The value of tag ``name`` in any group (exiftool keys are "Group:Name")."""
    for key, value in record.items():
        if key.split(":")[-1] == name:
            return value
    return None


def reopen_image(path: Path):
    """The written image as Pillow sees it (HEIC through pillow-heif)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    im = Image.open(path)
    im.load()
    return im


def small(pixels: np.ndarray, factor: int = 8) -> np.ndarray:
    """A quick stand-in for a restored image: the still, downsampled (metadata tests do not need 12 MP)."""
    return np.ascontiguousarray(pixels[::factor, ::factor])
