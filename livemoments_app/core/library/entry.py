"""What the library knows about one Live Photo of a folder: enough to draw its tile without opening it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from livemoments_app.core.livephoto.model import LiveFormat

# The short label on a tile and the longer one in its tooltip.
BADGES = {
    LiveFormat.APPLE_LIVE_PHOTO.value: ("LIVE", "Apple Live Photo"),
    LiveFormat.GOOGLE_MOTION_PHOTO.value: ("MOTION", "Google Motion Photo"),
    LiveFormat.GOOGLE_MICRO_VIDEO.value: ("MOTION", "Google Motion Photo (MicroVideo v1)"),
    LiveFormat.SAMSUNG_MOTION_PHOTO.value: ("MOTION", "Samsung Motion Photo"),
    LiveFormat.STILL_AND_VIDEO.value: ("PHOTO+VIDEO", "Photo and video paired by file name"),
}


@dataclass(frozen=True)
class FileKey:
    """A file as it was when it was read: a changed size or modification time means it must be read again."""

    path: Path
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileKey":
        st = path.stat()
        return cls(path, st.st_size, st.st_mtime_ns)

    @classmethod
    def of_existing(cls, path: Path) -> "FileKey | None":
        """:meth:`of`, or None for a file that cannot be looked at (gone, no permission)."""
        try:
            return cls.of(path)
        except OSError:
            return None


@dataclass(frozen=True)
class BestMoment:
    """The top suggestion of core.moments for a photo."""

    index: int
    time_s: float
    score: float
    offset_s: float                  # from the key photo (negative: before it)
    reasons: tuple[str, ...] = ()

    @property
    def is_key_photo(self) -> bool:
        return abs(self.offset_s) < 1e-3


@dataclass
class LibraryEntry:
    """One Live Photo (or one file that looked like one and could not be read: ``error`` says why)."""

    path: Path                              # the file a user opens: the still
    partner: Path | None = None             # the video of an Apple pair
    format: str | None = None               # LiveFormat value
    still_type: str = ""                    # 'HEIC', 'JPEG', ...
    taken: str | None = None                # ISO 8601 from EXIF DateTimeOriginal (with its offset when known)
    key_time_s: float | None = None
    duration_s: float | None = None
    thumbnail: bytes | None = None          # JPEG, upright, long side <= thumbnail.THUMB_SIDE
    thumbnail_note: str = ""                # why there is no thumbnail (the still could not be decoded...)
    error: str | None = None                # one line naming the file and the problem
    best: BestMoment | None = None
    scores: dict | None = field(default=None, repr=False)   # best.score_photo: the ranking + key photo time
    scores_version: str | None = None                       # the scorer that made them (best.scorer_version)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def badge(self) -> tuple[str, str]:
        return BADGES.get(self.format or "", ("", ""))

    def info(self) -> dict:
        """Everything except the thumbnail and the scores, as JSON-ready values (the cache stores it)."""
        out = asdict(self)
        for key in ("thumbnail", "scores", "scores_version", "best"):
            out.pop(key)
        out["path"] = str(self.path)
        out["partner"] = str(self.partner) if self.partner else None
        return out

    @classmethod
    def from_info(cls, info: dict) -> "LibraryEntry":
        """The inverse of :meth:`info`; KeyError/TypeError/ValueError on anything malformed."""
        partner = info["partner"]
        return cls(path=Path(info["path"]), partner=Path(partner) if partner else None, format=info["format"],
                   still_type=str(info["still_type"]), taken=info["taken"], key_time_s=_opt_float(info["key_time_s"]),
                   duration_s=_opt_float(info["duration_s"]), thumbnail_note=str(info["thumbnail_note"]),
                   error=info["error"])


def _opt_float(value) -> float | None:
    return None if value is None else float(value)
