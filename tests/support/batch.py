"""Folders of small synthetic Live Photos for batch tests and benchmarks/batch.py."""

from __future__ import annotations

from pathlib import Path

from tests.support import synth


def write_photos(folder: Path, count: int, *, size: tuple[int, int] = (320, 240), frames: int = 12) -> list[Path]:
    """``count`` Apple pairs IMG_0000.HEIC/.MOV ... each with its own texture (seeded by its number); the
    stills, twice the clip's size, are returned in name order."""
    folder = Path(folder)
    return [synth.write_apple_pair(folder, stem=f"IMG_{i:04d}", frames=synth.pattern_frames(frames, size, seed=i))[0]
            for i in range(count)]
