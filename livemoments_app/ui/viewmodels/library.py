"""The folder open as a library: its Live Photos as a list model for the grid, the scan that fills it, and the
scoring of each photo's best moment after that.

The scan is one asyncio task on the Qt loop (ui/aio.py): list the folder, take every still whose cache record is
still valid, read the others two at a time on worker threads, and show the results in folder order as soon as
every earlier one is in (a fully cached folder appears at once; a new one fills in from the top). Scoring follows
in the same task, one photo at a time, lowest priority. Cancelling the task stops all of it between steps.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (QAbstractListModel, QBuffer, QByteArray, QIODevice, QModelIndex, QRectF, QSize,
                            QStandardPaths, Qt, Signal)
from PySide6.QtGui import QBrush, QImage, QImageReader, QPainter

from livemoments_app.core.jobs import CancelToken, Progress
from livemoments_app.ui import aio

SCAN_THREADS = 2         # reading stills is mostly decoding: one thread per core of a small laptop
# Steps handed to the threads at once: more than the threads, so that a thread that finishes finds the next still
# waiting instead of idling until the UI thread has taken its result (docs/architecture.md has the measurements).
SCAN_IN_FLIGHT = 2 * SCAN_THREADS
DECODED_TILES = 400      # thumbnails kept decoded at tile size (≈ 130 KB each at 180 px)
TILE_THREADS = 1         # decoding a tile takes ~1.3 ms: one thread keeps up with any scrolling

EntryRole = Qt.ItemDataRole.UserRole + 1


def cache_folder() -> Path:
    """Where the app keeps its library cache: Qt's cache location for this application."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))


def _prepare(cache, cache_path: Path | None, folder: Path):
    """The first step of a scan, on a worker: imports the core (numpy, Pillow, the readers: a few hundred ms the
    first time, which must not stall the window) and opens the cache unless the one given is the right one."""
    from livemoments_app.core.library import best, scan  # noqa: F401  (imported here, off the UI thread)
    from livemoments_app.core.library.cache import FILE_NAME, LibraryCache

    path = cache_path or folder / FILE_NAME
    best.scorer_version()
    if cache is not None and cache.path == str(path):
        return cache
    if cache is not None:
        cache.close()
    return LibraryCache(path)


class LibraryModel(QAbstractListModel):
    stateChanged = Signal()            # scanning, progress, status or summary changed
    folderChanged = Signal(str)        # a folder was opened ("" when closed)
    scanFinished = Signal()            # every tile of the folder is shown (or the scan was stopped)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.entries: list = []        # core.library.LibraryEntry, in folder order
        self.root: Path | None = None
        self.cache_path: Path | None = None      # None: library.sqlite3 in cache_folder()
        self.cache = None              # core.library.LibraryCache of the open folder
        self.summary = None            # core.library.Summary, counted as the scan goes
        self.scanning = False
        self.scoring = False
        self.fraction = 0.0
        self.status = ""
        self.scores_status = ""        # how finding best moments goes (or why they cannot be found)
        self.cancelled = False
        self.first_shown_s: float | None = None  # seconds from open_folder to the first tile (benchmarks, tests)
        self._task: asyncio.Task | None = None
        self._generation = 0           # which opening a running task belongs to (a stopped one may still unwind)
        self._token: CancelToken | None = None
        self._io = None
        self._scorer = None
        self._tiles: OrderedDict = OrderedDict()  # (path, width, height, radius) -> QImage (null: undecodable)
        self._decoding: set = set()                 # tiles asked of the decoding thread, not back yet
        self._tile_pool = None
        self._rows: dict[Path, int] = {}
        self.scoring_path: Path | None = None     # the photo being scored now
        self.score_errors: dict[Path, str] = {}   # photos that could not be scored, and why
        self._holds: set[str] = set()             # why scoring waits ('editor', 'queue')
        self._resume: asyncio.Event | None = None

    # Model --------------------------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt)
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == EntryRole:
            return entry
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(entry, self.score_errors.get(entry.path, ""))
        return None

    def flags(self, index: QModelIndex):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if index.isValid() else Qt.ItemFlag.NoItemFlags

    def entry(self, row: int):
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def row_of(self, path: Path) -> int:
        return self._rows.get(Path(path), -1)

    def tile(self, row: int, size: QSize, radius: float = 0.0) -> QImage | None:
        """The thumbnail of ``row`` cropped to a square of ``size`` (device pixels) with corners rounded by
        ``radius``, or None: when the photo has none, and while it is decoded. Decoding (~1.3 ms a tile, a screenful
        ~40 ms) happens on a thread, never in a paint; ``dataChanged`` for the row says when it is there. The last
        DECODED_TILES stay decoded."""
        entry = self.entry(row)
        if entry is None or not entry.thumbnail:
            return None
        key = (entry.path, size.width(), size.height(), radius)
        image = self._tiles.get(key)
        if image is not None:
            self._tiles.move_to_end(key)
            return None if image.isNull() else image
        if key not in self._decoding:
            if self._tile_pool is None:
                self._tile_pool = aio.executor("library-tiles", TILE_THREADS)
            self._decoding.add(key)
            the_loop, generation = aio.loop(), self._generation

            def decode(jpeg=entry.thumbnail, size=QSize(size)) -> None:
                image = square_tile(jpeg, size, radius)
                the_loop.call_soon_threadsafe(self._tile_decoded, key, image, generation)

            self._tile_pool.submit(decode)
        return None

    def _tile_decoded(self, key, image: QImage | None, generation: int) -> None:
        self._decoding.discard(key)
        if generation != self._generation:
            return                                  # a tile of a folder closed since
        self._tiles[key] = image if image is not None else QImage()
        if len(self._tiles) > DECODED_TILES:
            self._tiles.popitem(last=False)
        self.refresh(key[0])

    def cached_suggestions(self, live):
        """The ranking the library's cache holds for the photo ``live`` (core.moments.Suggestions), or None.
        Called on a worker (it reads the cache): the editor shows a library photo's moments without scoring it."""
        cache = self.cache
        if cache is None:
            return None
        from livemoments_app.core.library.best import cached_suggestions

        return cached_suggestions(cache, live)

    # Opening ------------------------------------------------------------------------------------------------
    def open_folder(self, folder: str | os.PathLike) -> None:
        self.close()
        self.root = Path(folder)
        self.cancelled = False
        self.scores_status = ""
        self.first_shown_s = None
        self._opened_at = time.perf_counter()
        self.summary = None            # made by the task: importing the core here would stall the window
        self._token = CancelToken()
        self._set_state(scanning=True, fraction=0.0, status=f"Looking for Live Photos in {self.root.name}…")
        self.folderChanged.emit(str(self.root))
        self._task = aio.spawn(self._run(self.root, self._token, self._generation),
                               f"Reading the folder {self.root.name}")

    def hold_scoring(self, reason: str, hold: bool) -> None:
        """Scoring waits between photos while any reason holds (the editor is shown, a restore runs): they
        need the CPU more than a background ranking does."""
        (self._holds.add if hold else self._holds.discard)(reason)
        if self._resume is not None:
            self._resume.clear() if self._holds else self._resume.set()
        self.stateChanged.emit()

    @property
    def scoring_held(self) -> bool:
        return bool(self._holds) and self.scoring

    def cancel(self) -> None:
        """Stops the scan (the tiles shown stay) or the scoring after it."""
        if self._task is not None and not self._task.done():
            self.cancelled = True
            self._task.cancel()

    def close(self) -> None:
        self.cancel()
        self._task = None
        self._generation += 1
        self.beginResetModel()
        self.entries = []
        self._rows = {}
        self._tiles.clear()
        self._decoding.clear()
        self.score_errors = {}
        self.endResetModel()
        was_open = self.root is not None
        self.root = None
        self.summary = None
        self._set_state(scanning=False, scoring=False, fraction=0.0, status="")
        if was_open:
            self.folderChanged.emit("")

    def shutdown(self) -> None:
        self.cancel()
        self._generation += 1          # nothing that finishes from now on touches the model
        for pool in (self._io, self._scorer, self._tile_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    @property
    def is_open(self) -> bool:
        return self.root is not None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    # The scan -----------------------------------------------------------------------------------------------
    def _pools(self):
        if self._io is None:
            self._io = aio.executor("library-scan", SCAN_THREADS)
            self._scorer = aio.executor("library-score", 1)
        return self._io, self._scorer

    async def _run(self, root: Path, token: CancelToken, generation: int) -> None:
        io_pool, _ = self._pools()

        def still_current() -> None:
            # A task stopped by a newer opening unwinds on a later turn of the loop: it must not touch the model.
            if generation != self._generation:
                raise asyncio.CancelledError()

        try:
            self.cache = cache = await aio.in_thread(io_pool, _prepare, self.cache, self.cache_path, cache_folder())
            from livemoments_app.core.library.scan import Summary, describe_cached, from_cache, lone_videos
            from livemoments_app.core.library.walk import list_folder

            still_current()
            self.summary = summary = Summary()
            listing = await aio.in_thread(io_pool, list_folder, root, Progress(token=token), token=token)
            summary.folders = listing.folders
            summary.folder_problems = list(listing.problems)
            found = await aio.in_thread(io_pool, from_cache, listing, cache, token=token)
            still_current()
            candidates = listing.candidates
            results: dict[int, object] = {}
            for k, candidate in enumerate(candidates):
                if candidate.path in found:
                    results[k] = found[candidate.path]
            todo = [k for k in range(len(candidates)) if k not in results]
            shown = [0]
            done: list = []

            def flush() -> None:
                still_current()
                batch = []
                while shown[0] in results:
                    item = results.pop(shown[0])
                    shown[0] += 1
                    done.append(item)
                    summary.add(item)
                    if item.entry is not None:
                        batch.append(item.entry)
                self._append(batch)
                total = max(len(candidates), 1)
                self._set_state(fraction=shown[0] / total,
                                status=f"Reading {shown[0]} of {len(candidates)} photos…")

            flush()
            todo_iter = iter(todo)

            async def worker() -> None:
                for k in todo_iter:
                    results[k] = await aio.in_thread(io_pool, describe_cached, candidates[k], cache, token=token)
                    flush()

            await asyncio.gather(*(worker() for _ in range(SCAN_IN_FLIGHT)))
            still_current()
            summary.videos_without_still = lone_videos(listing, done)
            self._set_state(scanning=False, fraction=1.0, status=self.summary_text())
            self.scanFinished.emit()
            await self._score_all(cache, token, still_current)
        except asyncio.CancelledError:
            if generation != self._generation:
                raise
            was_scanning = self.scanning
            self._set_state(scanning=False, scoring=False, status=self.summary_text(cancelled=was_scanning),
                            scores_status="" if was_scanning else "Finding best moments: stopped")
            if was_scanning:
                self.scanFinished.emit()
            raise
        finally:
            if generation == self._generation and (self.scanning or self.scoring):
                self._set_state(scanning=False, scoring=False)

    def _append(self, entries: list) -> None:
        if not entries:
            return
        from livemoments_app.core.library.best import attach_best

        for entry in entries:
            attach_best(entry)
        first = len(self.entries)
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        for k, entry in enumerate(entries):
            self._rows[entry.path] = first + k
        self.entries.extend(entries)
        self.endInsertRows()
        if self.first_shown_s is None:
            self.first_shown_s = time.perf_counter() - self._opened_at

    async def _score_all(self, cache, token: CancelToken, still_current) -> None:
        from livemoments_app.core.library.best import score_entry

        _, pool = self._pools()
        todo = [e for e in self.entries if e.ok and e.best is None]
        if self._resume is None:
            self._resume = asyncio.Event()
        if not self._holds:
            self._resume.set()
        self._set_state(scoring=bool(todo))
        for k, entry in enumerate(todo):
            if not self._resume.is_set():
                self._set_state(scores_status=f"Finding best moments: paused at {k} of {len(todo)} while the "
                                              f"editor or a restore needs the processor")
                await self._resume.wait()
            still_current()
            self._set_state(fraction=k / len(todo), scores_status=f"Finding best moments: {k + 1} of {len(todo)}…")
            self.scoring_path = entry.path
            self.refresh(entry.path)
            try:
                await aio.in_thread(pool, score_entry, entry, cache, Progress(token=token), token=token)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a photo that cannot be scored keeps its tile; say why
                from livemoments_app.ui.errors import describe

                self.score_errors[entry.path] = describe(exc)
            finally:
                if self.scoring_path == entry.path:
                    self.scoring_path = None
                    self.refresh(entry.path)
        failed = len([e for e in todo if e.path in self.score_errors])
        self._set_state(scoring=False, fraction=1.0,
                        scores_status=f"Best moments of {len(todo) - failed} photos found"
                        + (f"; {failed} could not be scored (see their tooltips)" if failed else "") if todo else "")

    def refresh(self, path: Path) -> None:
        row = self.row_of(path)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    # State --------------------------------------------------------------------------------------------------
    def _set_state(self, **values) -> None:
        for key, value in values.items():
            setattr(self, key, value)
        self.stateChanged.emit()

    def summary_text(self, cancelled: bool = False) -> str:
        s = self.summary
        if s is None:
            return ""
        parts = [f"{s.live} Live Photo{'s' if s.live != 1 else ''}"]
        if s.stills_without_clip:
            parts.append(f"{s.stills_without_clip} still{'s' if s.stills_without_clip != 1 else ''} without a "
                         f"clip skipped")
        if s.videos_without_still:
            parts.append(f"{s.videos_without_still} video{'s' if s.videos_without_still != 1 else ''} without a "
                         f"photo skipped")
        if s.errors:
            parts.append(f"{s.errors} could not be read")
        if s.folder_problems:
            parts.append(f"{len(s.folder_problems)} folder{'s' if len(s.folder_problems) != 1 else ''} "
                         f"could not be opened")
        text = " · ".join(parts)
        return f"Stopped: {text} so far" if cancelled else text


def tooltip(entry, score_error: str = "") -> str:
    lines = [str(entry.path)]
    if entry.error:
        lines.append(entry.error)
        return "\n".join(lines)
    label = entry.badge[1]
    if entry.partner is not None:
        label += f" ({entry.path.suffix.lstrip('.')} + {entry.partner.name})"
    lines.append(label)
    if entry.taken:
        lines.append(f"Taken {format_date(entry.taken, long=True)}")
    if entry.duration_s:
        lines.append(f"Clip {entry.duration_s:.1f} s")
    if entry.best is not None:
        lines.append(best_text(entry.best, long=True))
        lines += [f"  · {reason}" for reason in entry.best.reasons[:4]]
    if score_error:
        lines.append(f"Best moment not found: {score_error}")
    if entry.thumbnail_note:
        lines.append(entry.thumbnail_note)
    return "\n".join(lines)


def best_text(best, long: bool = False) -> str:
    if best.is_key_photo:
        return "Best moment: the key photo" if long else "Key photo"
    # A frame or two from the key photo needs the second decimal ("-0.0 s" would read as the key photo itself).
    text = f"{best.offset_s:+.2f} s" if abs(best.offset_s) < 0.095 else f"{best.offset_s:+.1f} s"
    return f"Best moment: {text} from the key photo (score {best.score:.2f})" if long else text


def format_date(iso: str, long: bool = False) -> str:
    """'6 Aug 2025' (or with the time, long) from the ISO text of LibraryEntry.taken."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    text = f"{when.day} {when:%b %Y}"
    return f"{text}, {when:%H:%M}" if long else text


def square_tile(jpeg: bytes, size: QSize, radius: float = 0.0) -> QImage | None:
    """A JPEG thumbnail decoded (libjpeg scales while decoding) and centre-cropped to a ``size`` square, its corners
    rounded by ``radius`` pixels (transparent outside) so that painting it needs no clip path. Thread-safe."""
    data = QByteArray(jpeg)
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(b"jpeg"))
    full = reader.size()
    if not full.isValid() or full.isEmpty():
        return None
    scale = max(size.width() / full.width(), size.height() / full.height())
    scaled = QSize(max(1, round(full.width() * scale)), max(1, round(full.height() * scale)))
    reader.setScaledSize(scaled)
    image = reader.read()
    if image.isNull():
        return None
    x = (image.width() - size.width()) // 2
    y = (image.height() - size.height()) // 2
    square = image.copy(x, y, size.width(), size.height())
    if radius <= 0:
        return square
    rounded = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    rounded.fill(Qt.GlobalColor.transparent)
    painter = QPainter(rounded)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(square))
    painter.drawRoundedRect(QRectF(0, 0, size.width(), size.height()), radius, radius)
    painter.end()
    return rounded
