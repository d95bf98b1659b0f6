"""The batch journal: an SQLite file in the output folder, one row per photo, written by the driver alone.

States: ``pending`` (not done yet), ``running`` (handed to a worker; found at start-up it means the last run was
interrupted), ``done`` (outputs written; their names and SHA-256 recorded -- or none, with the frame the key
frame, when the best moment asked for was the key photo itself), ``failed`` (the one-line error).
The journal also records the settings' identity (:meth:`BatchSettings.identity`): a run with other settings
does not silently reuse it (:class:`JournalMismatchError`), unless told to start over.

Rollback-journal mode, not WAL: the output folder may be a network share (a cluster's shared folder), where
SQLite's WAL does not work. Only the driver writes; each state change is its own transaction, so a killed
driver loses at most the row it was writing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from livemoments_app.core.errors import LivePhotoError

JOURNAL_NAME = ".livemoments-batch.sqlite"
LOCK_NAME = ".livemoments-batch.lock"
SCHEMA = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,        -- the photo, absolute
    name TEXT NOT NULL,                 -- the output name reserved for it, without extension
    suffix TEXT NOT NULL,               -- what the exporter appends to the photo's stem to make name
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    error TEXT NOT NULL DEFAULT '',
    outputs TEXT NOT NULL DEFAULT '[]', -- JSON: [[file name in the output folder, sha256 hex], ...]
    seconds REAL,                       -- the last attempt's time on its worker
    attempts INTEGER NOT NULL DEFAULT 0,
    frame INTEGER,
    key_frame INTEGER,
    restorer TEXT NOT NULL DEFAULT '',
    worker TEXT NOT NULL DEFAULT '',    -- host:pid of the last worker that had it
    notes TEXT NOT NULL DEFAULT '[]',   -- JSON: metadata that could not be carried over
    updated REAL
);
"""


class JournalError(LivePhotoError):
    """The journal cannot be used (unreadable, from a newer version, or in use by another batch)."""


class JournalMismatchError(JournalError):
    """The output folder's journal was made with other settings; ``differences`` maps each field to (old, new).
    The message names the output folder the user gave, not the hidden journal file in it."""

    def __init__(self, folder: Path, differences: dict[str, tuple[str, str]]):
        self.differences = differences
        what = "; ".join(f"{k}: {old} -> {new}" for k, (old, new) in differences.items())
        super().__init__(f"the batch in this folder was made with other settings ({what})", folder)


@dataclass
class Row:
    id: int
    source: Path
    name: str
    suffix: str
    state: str = "pending"
    error: str = ""
    outputs: list[tuple[str, str]] = field(default_factory=list)
    seconds: float | None = None
    attempts: int = 0
    frame: int | None = None
    key_frame: int | None = None
    restorer: str = ""
    worker: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def kept_key_photo(self) -> bool:
        """Done with nothing written: the best moment asked for was the key photo's own (pipeline.KeyPhotoIsBest)."""
        return self.state == "done" and not self.outputs and self.frame is not None and self.frame == self.key_frame


def _row(r: sqlite3.Row) -> Row:
    return Row(r["id"], Path(r["source"]), r["name"], r["suffix"], r["state"], r["error"],
               [tuple(o) for o in json.loads(r["outputs"])], r["seconds"], r["attempts"], r["frame"],
               r["key_frame"], r["restorer"], r["worker"], json.loads(r["notes"]))


class Journal:
    """The journal of one output folder. Use from one thread (the driver's)."""

    def __init__(self, folder: Path, *, readonly: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / JOURNAL_NAME
        try:
            if readonly:
                self._db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
            else:
                self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                self._db.executescript("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;" + _TABLES)
            self._db.row_factory = sqlite3.Row
            schema = self._meta("schema")
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"the batch journal cannot be read ({exc}); move it away to start a new batch",
                               self.path) from None
        if schema is not None and int(schema) > SCHEMA:
            raise JournalError("the batch journal was made by a newer version of LiveMoments", self.path)
        if schema is None and not readonly:
            self._set_meta("schema", str(SCHEMA))

    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / JOURNAL_NAME).is_file()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """One statement. SQLite's failures (a full disk, a share gone away, another process holding the file for
        30 s) become a JournalError naming the journal, not a traceback."""
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            what = "read" if sql.startswith("SELECT") else "written"
            raise JournalError(f"the batch journal cannot be {what} ({exc})", self.path) from None

    # -------------------------------------------------------------------------------------------- settings

    def _meta(self, key: str) -> str | None:
        try:
            found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:        # a read-only look at a journal without tables
            return None
        return None if found is None else found[0]

    def _set_meta(self, key: str, value: str) -> None:
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def identity(self) -> dict | None:
        text = self._meta("settings")
        return None if text is None else json.loads(text)

    def check_identity(self, identity: dict) -> None:
        """Records ``identity`` in a new journal; raises JournalMismatchError when the journal has another."""
        from livemoments_app.core.batch.plan import describe_identity

        stored = self.identity
        if stored is None:
            self._set_meta("settings", json.dumps(identity, sort_keys=True))
            self._set_meta("created", str(time.time()))
            return
        if stored != identity:
            old, new = describe_identity(stored), describe_identity(identity)
            raise JournalMismatchError(self.folder, {k: (old[k], new[k]) for k in old if old[k] != new[k]}
                                       or {"settings": ("stored", "given")})

    # -------------------------------------------------------------------------------------------- rows

    def rows(self) -> list[Row]:
        return [_row(r) for r in self._execute("SELECT * FROM items ORDER BY id")]

    def add(self, entries: list[tuple[Path, str, str]]) -> list[Row]:
        """Adds (source, name, suffix) rows, pending, in one transaction."""
        now = time.time()
        with self._transaction():
            ids = [self._execute("INSERT INTO items (source, name, suffix, updated) VALUES (?, ?, ?, ?)",
                                    (str(source), name, suffix, now)).lastrowid for source, name, suffix in entries]
        return [Row(i, Path(s), n, x) for i, (s, n, x) in zip(ids, entries)]

    def mark_running(self, row_id: int, worker: str = "") -> None:
        self._execute("UPDATE items SET state = 'running', attempts = attempts + 1, worker = ?, updated = ? "
                         "WHERE id = ?", (worker, time.time(), row_id))

    def mark_pending(self, row_id: int, error: str = "") -> None:
        """Back to pending (interrupted, an output to redo, a lost worker); ``error`` says why, for the record."""
        self._execute("UPDATE items SET state = 'pending', error = ?, outputs = '[]', updated = ? WHERE id = ?",
                         (error, time.time(), row_id))

    def mark_done(self, row_id: int, outputs: list[tuple[str, str]], *, seconds: float, frame: int | None,
                  key_frame: int | None, restorer: str, notes: list[str], worker: str = "") -> None:
        self._execute("UPDATE items SET state = 'done', error = '', outputs = ?, seconds = ?, frame = ?, "
                         "key_frame = ?, restorer = ?, notes = ?, worker = COALESCE(NULLIF(?, ''), worker), "
                         "updated = ? WHERE id = ?",
                         (json.dumps([list(o) for o in outputs]), seconds, frame, key_frame, restorer,
                          json.dumps(notes), worker, time.time(), row_id))

    def mark_failed(self, row_id: int, error: str, *, seconds: float | None = None, frame: int | None = None,
                    key_frame: int | None = None, worker: str = "") -> None:
        self._execute("UPDATE items SET state = 'failed', error = ?, outputs = '[]', seconds = ?, frame = ?, "
                         "key_frame = ?, worker = COALESCE(NULLIF(?, ''), worker), updated = ? WHERE id = ?",
                         (error, seconds, frame, key_frame, worker, time.time(), row_id))

    @contextmanager
    def _transaction(self):
        self._execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._execute("ROLLBACK")
            raise
        self._execute("COMMIT")


class FolderLock:
    """Keeps a second batch out of an output folder while one runs there (the journal has one writer)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            holder = self.path.read_text(errors="replace").strip() or "another process"
            raise JournalError(f"another batch ({holder}) is writing into this folder; wait for it to finish",
                               self.path.parent) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {_host()}".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)        # closing releases the lock; the file stays (removing it would race)
            self._fd = None


def _host() -> str:
    import socket

    return socket.gethostname()


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:         # Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
