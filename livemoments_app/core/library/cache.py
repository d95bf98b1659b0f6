"""The library's memory between runs: thumbnails, what each file is, and its frame scores, in one SQLite file in
the user's cache folder (never beside the photos).

A record is used only when the still's path, size and modification time (and those of the video the reader
pairs it with) are what they were when it was written, the app version that wrote it is this one, and its fields
read back as what they claim to be; anything else is read again. A database SQLite cannot read (damaged, not a
database, an unknown schema) is deleted and created afresh; a database another process holds locked is skipped
for that step. The app works without the cache, only slower.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from livemoments_app import __version__
from livemoments_app.core.library.entry import FileKey, LibraryEntry

SCHEMA = 1
FILE_NAME = "library.sqlite3"
FORGET_AFTER_S = 180 * 24 * 3600      # records of files not seen for half a year are dropped

# kind: 'live' (a Live Photo), 'error' (looked like one, could not be read), 'still' (a still without a clip).
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    partner TEXT,
    partner_size INTEGER,
    partner_mtime_ns INTEGER,
    kind TEXT NOT NULL,
    info TEXT,
    thumbnail BLOB,
    scores TEXT,
    scores_version TEXT,
    seen REAL NOT NULL
);
"""


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Whether ``exc`` says the file itself is unusable (not a database, malformed, tables missing) rather than
    that this step could not run (locked by another process, disk full, read-only, the cache already closed)."""
    if isinstance(exc, (sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.IntegrityError,
                        sqlite3.DataError, sqlite3.NotSupportedError)):
        return False
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return not any(word in text for word in ("locked", "busy", "disk", "full", "readonly", "read-only",
                                                 "interrupted", "unable to open"))
    return True


def default_cache_dir() -> Path:
    """The platform's user cache folder for the app (platformdirs; the UI passes Qt's own location instead)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("LiveMoments", appauthor=False))


@dataclass
class Cached:
    kind: str                         # 'live', 'error' or 'still'
    entry: LibraryEntry | None        # None for 'still'


class LibraryCache:
    """Thread-safe (one connection, one lock). ``path=None``: :func:`default_cache_dir`; ':memory:' for none."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = str(path) if path is not None else str(default_cache_dir() / FILE_NAME)
        self.rebuilt: str | None = None      # why the file was thrown away and created again, if it was
        self.disabled: str | None = None     # why no cache file could be used (an in-memory one stands in)
        self._lock = threading.Lock()
        self._db = self._connect()

    # Opening ------------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                return self._in_memory(f"cannot create {Path(self.path).parent}: {exc.strerror or exc}")
        try:
            return self._open_checked()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                return self._in_memory(f"the cache cannot be used now ({exc})")
            return self._rebuild(exc)

    def _open_checked(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_TABLES)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema") != str(SCHEMA) or meta.get("writer") != __version__:
                # Another schema, or records written by another version of the reader: none can be trusted.
                db.execute("DELETE FROM files")
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [("schema", str(SCHEMA)), ("writer", __version__)])
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
            db.execute("DELETE FROM files WHERE seen < ?", (time.time() - FORGET_AFTER_S,))
        except BaseException:
            db.close()
            raise
        return db

    def _rebuild(self, reason: BaseException) -> sqlite3.Connection:
        self.rebuilt = f"{type(reason).__name__}: {reason}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.remove(self.path + suffix)
            except FileNotFoundError:
                pass
            except OSError as exc:
                return self._in_memory(f"a damaged cache could not be removed ({exc.strerror or exc})")
        try:
            return self._open_checked()
        except sqlite3.DatabaseError as exc:
            return self._in_memory(f"the cache cannot be created ({exc})")

    def _in_memory(self, why: str) -> sqlite3.Connection:
        self.disabled = why
        self.path = ":memory:"
        return self._open_checked()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()

    _closed = False

    def _run(self, fn, default=None):
        """Runs ``fn(db)`` under the lock. A damaged file found now is rebuilt (the step's data is lost, not
        trusted); a step that cannot run now (another process holds a lock, the disk is full, the cache was
        closed while a worker still finished) is skipped."""
        with self._lock:
            if self._closed:
                return default
            try:
                return fn(self._db)
            except sqlite3.DatabaseError as exc:
                if not _damaged(exc):
                    return default
                reason = exc
            self._db.close()
            self._db = self._rebuild(reason)
            return default

    # Reading ------------------------------------------------------------------------------------------------
    def lookup(self, candidates: Iterable) -> dict[Path, Cached]:
        """The valid records of ``candidates`` (walk.Candidate: a still and its partner as they are now), by
        still path; the others are missing from the answer."""
        wanted = {str(c.still.path): c for c in candidates}

        def read(db):
            rows = {}
            names = list(wanted)
            for start in range(0, len(names), 500):
                chunk = names[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in db.execute(f"SELECT path, size, mtime_ns, partner, partner_size, partner_mtime_ns, "
                                      f"kind, info, thumbnail, scores, scores_version FROM files "
                                      f"WHERE path IN ({marks})", chunk):
                    rows[row[0]] = row
            now = time.time()
            for start in range(0, len(names), 500):
                chunk = names[start:start + 500]
                db.execute(f"UPDATE files SET seen = ? WHERE path IN ({','.join('?' * len(chunk))})",
                           [now, *chunk])
            return rows

        rows = self._run(read, {})
        out: dict[Path, Cached] = {}
        for name, row in rows.items():
            cached = _valid(row, wanted[name])
            if cached is not None:
                out[wanted[name].still.path] = cached
        return out

    # Writing ------------------------------------------------------------------------------------------------
    def store(self, candidate, kind: str, entry: LibraryEntry | None) -> None:
        """What the scan found for ``candidate`` (kind 'live', 'error' or 'still')."""
        if kind not in ("live", "error", "still"):
            raise ValueError(f"unknown record kind {kind!r}")
        partner = candidate.partner
        info = json.dumps(entry.info()) if entry is not None else None
        thumb = entry.thumbnail if entry is not None else None
        row = (str(candidate.still.path), candidate.still.size, candidate.still.mtime_ns,
               str(partner.path) if partner else None, partner.size if partner else None,
               partner.mtime_ns if partner else None, kind, info, thumb, time.time())
        self._run(lambda db: db.execute(
            "INSERT OR REPLACE INTO files (path, size, mtime_ns, partner, partner_size, partner_mtime_ns, kind, "
            "info, thumbnail, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row))

    def store_scores(self, still: FileKey, scores: dict, version: str, partner: FileKey | None = None) -> None:
        """Frame scores of the still ``still`` and its video ``partner`` (None: the clip is inside the still), kept
        only while both files are unchanged: the ranking is the clip's."""
        text = json.dumps(scores)
        self._run(lambda db: db.execute(
            f"UPDATE files SET scores = ?, scores_version = ? WHERE {_SAME_FILES}",
            (text, version, *_file_values(still, partner))))

    def scores(self, still: FileKey, version: str, partner: FileKey | None = None) -> dict | None:
        """The ranking stored for ``still`` with ``partner`` as they are now, by scorer ``version``; else None."""
        row = self._run(lambda db: db.execute(
            f"SELECT scores, scores_version FROM files WHERE {_SAME_FILES}",
            _file_values(still, partner)).fetchone())
        if not row or row[1] != version:
            return None
        return _json_dict(row[0])


_SAME_FILES = ("path = ? AND size = ? AND mtime_ns = ? AND partner IS ? AND partner_size IS ? "
               "AND partner_mtime_ns IS ?")


def _file_values(still: FileKey, partner: FileKey | None) -> tuple:
    return (str(still.path), still.size, still.mtime_ns,
            *((str(partner.path), partner.size, partner.mtime_ns) if partner is not None else (None, None, None)))


def _json_dict(text) -> dict | None:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_jpeg(data) -> bool:
    return isinstance(data, bytes) and len(data) > 4 and data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def _valid(row, candidate) -> Cached | None:
    """The record ``row`` if it describes ``candidate`` as it is now and reads back whole; else None."""
    _path, size, mtime_ns, partner, partner_size, partner_mtime_ns, kind, info, thumb, scores, scores_version = row
    if (size, mtime_ns) != (candidate.still.size, candidate.still.mtime_ns):
        return None
    now = candidate.partner
    if (partner, partner_size, partner_mtime_ns) != ((str(now.path), now.size, now.mtime_ns) if now else
                                                     (None, None, None)):
        return None
    if kind == "still":
        return Cached("still", None)
    if kind not in ("live", "error"):
        return None
    data = _json_dict(info)
    if data is None:
        return None
    try:
        entry = LibraryEntry.from_info(data)
    except (KeyError, TypeError, ValueError):
        return None
    if entry.path != candidate.still.path or (kind == "error") != (entry.error is not None):
        return None
    if thumb is not None:
        if not _is_jpeg(thumb):
            return None
        entry.thumbnail = thumb
    elif kind == "live" and not entry.thumbnail_note:
        return None                     # a Live Photo is stored with its thumbnail or the reason it has none
    if scores is not None:
        entry.scores = _json_dict(scores)
        entry.scores_version = scores_version if entry.scores is not None else None
    return Cached(kind, entry)
