"""Where an embedded clip lives inside its file. Its own module so that the clip reader (core/clip.py) and the
Live Photo model (core/livephoto/model.py) can both name it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ByteRange:
    """Where an embedded clip lives inside its file; read from the original file, never copied."""

    path: Path
    offset: int
    length: int
