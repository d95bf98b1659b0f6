"""Reading a folder of Live Photos: each candidate still becomes a LibraryEntry (from the cache when it is still
valid, else read: the reader's inspect_live_photo for the format and pairing, thumbnail.read_thumbnail for the
picture and date), or is counted as a still without a clip.

The steps are separate functions so that a driver can spread them over threads and cancel between them (the
app's coroutine in ui/viewmodels/library.py); :func:`read_listing` runs them in order for the command line and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from livemoments_app.core.errors import LivePhotoError, NotALivePhotoError, one_line
from livemoments_app.core.jobs import Progress
from livemoments_app.core.library.cache import LibraryCache
from livemoments_app.core.library.entry import LibraryEntry
from livemoments_app.core.library.walk import Candidate, Listing


@dataclass
class Found:
    """What one candidate turned out to be: ``entry`` None means a still without a clip."""

    candidate: Candidate
    kind: str                       # 'live', 'error' or 'still'
    entry: LibraryEntry | None
    cached: bool = False


@dataclass
class Summary:
    live: int = 0
    errors: int = 0
    stills_without_clip: int = 0
    videos_without_still: int = 0
    folders: int = 0
    folder_problems: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, found: Found) -> None:
        if found.kind == "live":
            self.live += 1
        elif found.kind == "error":
            self.errors += 1
        else:
            self.stills_without_clip += 1


def describe(candidate: Candidate) -> Found:
    """Reads one candidate (no cache): never raises for a bad file, the entry carries the error instead."""
    from livemoments_app.core.library.thumbnail import read_thumbnail
    from livemoments_app.core.livephoto.open import inspect_live_photo

    path = candidate.path
    # Until the reader says otherwise, the video beside it by name is its partner (a broken pair keeps its video
    # out of the "videos without a photo" count).
    entry = LibraryEntry(path, partner=candidate.partner.path if candidate.partner else None,
                         still_type=_still_type(path))
    try:
        parse = inspect_live_photo(path, listing=candidate.listing)
    except NotALivePhotoError:
        return Found(candidate, "still", None)
    except LivePhotoError as exc:
        entry.error = str(exc)
        return Found(candidate, "error", entry)
    except Exception as exc:  # noqa: BLE001 - one file must not end the scan; say what happened
        entry.error = one_line(f"{path.name}: unexpected {type(exc).__name__}: {exc}")
        return Found(candidate, "error", entry)
    entry.partner = parse.video_path
    entry.format = parse.format.value
    entry.key_time_s = parse.key_time_s
    entry.duration_s = parse.movie.duration_s if parse.movie is not None else None
    try:
        thumb = read_thumbnail(path)
        entry.thumbnail, entry.taken = thumb.jpeg, thumb.taken
    except LivePhotoError as exc:
        entry.thumbnail_note = exc.reason
    return Found(candidate, "live", entry)


def _still_type(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jpg": "JPEG", "hif": "HEIF"}.get(suffix, suffix.upper())


def describe_cached(candidate: Candidate, cache: LibraryCache) -> Found:
    """:func:`describe` and remember the answer."""
    found = describe(candidate)
    cache.store(candidate, found.kind, found.entry)
    return found


def from_cache(listing: Listing, cache: LibraryCache) -> dict[Path, Found]:
    """The candidates whose cached records are still valid, by still path."""
    cached = cache.lookup(listing.candidates)
    return {c.path: Found(c, cached[c.path].kind, cached[c.path].entry, cached=True)
            for c in listing.candidates if c.path in cached}


def lone_videos(listing: Listing, found: list[Found]) -> int:
    """Videos no Live Photo of the scan uses (a clip whose photo is missing, or plain videos)."""
    used = {f.entry.partner for f in found if f.entry is not None and f.entry.partner is not None}
    return len(listing.videos - used)


def read_listing(listing: Listing, cache: LibraryCache | None = None, progress: Progress | None = None) -> Iterator[Found]:
    """Every candidate of ``listing`` (see walk.list_folder) in display order, read or taken from ``cache``."""
    progress = progress or Progress()
    cached = from_cache(listing, cache) if cache is not None else {}
    total = max(len(listing.candidates), 1)
    for k, candidate in enumerate(listing.candidates):
        progress.set(k / total, f"Reading {candidate.path.name}")
        found = cached.get(candidate.path)
        if found is None:
            found = describe_cached(candidate, cache) if cache is not None else describe(candidate)
        yield found
    progress.set(1.0, "")


def summarize(listing: Listing, found: list[Found]) -> Summary:
    summary = Summary(folders=listing.folders, folder_problems=list(listing.problems))
    for f in found:
        summary.add(f)
    summary.videos_without_still = lone_videos(listing, found)
    return summary
