"""Finding the Live Photo candidates under a folder: every still (by suffix), with the video the reader would pair
with it, found the reader's way (core.livephoto.open.find_partner over one listing per folder)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from livemoments_app.core.file_types import STILL_EXTS, VIDEO_EXTS
from livemoments_app.core.jobs import Progress
from livemoments_app.core.library.entry import FileKey
from livemoments_app.core.livephoto.open import find_partner


@dataclass(frozen=True)
class Candidate:
    """A still that may be a Live Photo, as the folder holds it now."""

    still: FileKey
    partner: FileKey | None          # the video beside it by name (None: none, or an embedded clip)
    listing: dict = field(compare=False, hash=False, repr=False)    # its folder's, for the reader's pairing

    @property
    def path(self) -> Path:
        return self.still.path


@dataclass
class Listing:
    root: Path
    candidates: list[Candidate] = field(default_factory=list)       # in display order (folder, then name)
    videos: set[Path] = field(default_factory=set)                  # every video seen
    folders: int = 0
    problems: list[tuple[Path, str]] = field(default_factory=list)  # folders that could not be read


def _hidden(name: str) -> bool:
    # Dot files include macOS's "._IMG_1.HEIC" AppleDouble companions on exFAT/FAT drives: not photos.
    return name.startswith(".")


def _key(entry: os.DirEntry) -> FileKey | None:
    try:
        st = entry.stat()
    except OSError:
        return None
    return FileKey(Path(entry.path), st.st_size, st.st_mtime_ns)


def list_folder(root: str | os.PathLike, progress: Progress | None = None) -> Listing:
    """Every still under ``root`` (recursively; hidden files and folders and symbolic links to folders skipped)
    with its partner video. Folders that cannot be read are noted in ``problems``; the walk goes on."""
    progress = progress or Progress()
    root = Path(root)
    out = Listing(root)
    pending = [root]
    while pending:
        folder = pending.pop()
        progress.set(0.0, f"Looking in {folder.name or folder}")
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name.casefold())
        except OSError as exc:
            out.problems.append((folder, exc.strerror or str(exc)))
            continue
        out.folders += 1
        listing: dict[str, Path] = {}          # the folder's files as find_partner looks them up (folder_listing)
        keys = {}
        subfolders = []
        for entry in entries:
            if _hidden(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(Path(entry.path))
                    continue
                if not entry.is_file():
                    continue
            except OSError:
                continue
            listing[entry.name.lower()] = Path(entry.path)
            suffix = os.path.splitext(entry.name)[1].lower()
            if suffix in VIDEO_EXTS:
                out.videos.add(Path(entry.path))
                keys[Path(entry.path)] = _key(entry)
            elif suffix in STILL_EXTS:
                keys[Path(entry.path)] = _key(entry)
        for path, key in keys.items():
            if key is None or path.suffix.lower() not in STILL_EXTS:
                continue
            video = find_partner(path, "video", listing)
            partner = keys.get(video) if video is not None else None
            if video is not None and partner is None:
                partner = FileKey.of_existing(video)
            out.candidates.append(Candidate(key, partner, listing))
        # Depth first in name order: a folder's photos, then its subfolders' (the stack pops the first name last).
        pending.extend(reversed(subfolders))
    return out
