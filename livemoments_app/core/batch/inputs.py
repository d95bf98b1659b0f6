"""What a batch's inputs name: files, folder contents and glob matches, each photo once (an Apple pair by its still)."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from livemoments_app.core.file_types import STILL_EXTS, VIDEO_EXTS

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Unmatched:
    """An input that names no photo (reported with the failures; there is nothing to put in the journal)."""

    input: Path
    error: str


def is_glob(text: str) -> bool:
    return not Path(text).exists() and bool(_GLOB_CHARS & set(text))


def expand_inputs(items: list[str]) -> tuple[list[Path], list[Unmatched]]:
    """Photos to process (files, folder contents, glob matches; Apple pairs once, by their still) and the
    inputs that name nothing."""
    from livemoments_app.core.livephoto.open import find_partner, folder_listing

    media = STILL_EXTS + VIDEO_EXTS
    # One listing per folder, for its contents and for pairing: find_partner without one lists the folder again
    # for every still (a minute for a folder of 2,000 pairs).
    listings: dict[Path, dict[str, Path]] = {}

    def listing(folder: Path) -> dict[str, Path]:
        if folder not in listings:
            listings[folder] = folder_listing(folder)
        return listings[folder]

    found: list[Path] = []
    missing: list[Unmatched] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found += sorted(p for p in listing(path).values() if p.suffix.lower() in media
                            and not p.name.startswith("."))
        elif path.exists():
            found.append(path)
        elif is_glob(item):
            matches = sorted(Path(m) for m in glob.glob(os.path.expanduser(item), recursive=True))
            matches = [m for m in matches if m.is_file() and m.suffix.lower() in media]
            if not matches:
                missing.append(Unmatched(path, f"{item}: no photo matches"))
            found += matches
        else:
            missing.append(Unmatched(path, f"{path.name}: no such file"))
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    # The MOV of an Apple pair comes along with its still; keep a video only when it has no still beside it.
    partners = set()
    for path in unique:
        if path.suffix.lower() in STILL_EXTS:
            video = find_partner(path, "video", listing(path.parent))
            if video is not None:
                partners.add(video.resolve())
    return [p for p in unique if p.resolve() not in partners], missing
