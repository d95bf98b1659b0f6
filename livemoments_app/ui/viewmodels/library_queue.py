"""The restore queue: photos of the library whose best moments are being restored, one after another.

Each photo is an asyncio task on the Qt loop (ui/aio.py) that waits for the one restore slot, then runs
core.library.restore.restore_best_moment (score if needed, restore, write) on a worker thread. Cancelling one photo
cancels its task: if it was waiting it never starts, if it was running its CancelToken stops it at the restorer's
next step. Results are shown as each finishes, in whatever order that is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, Signal

from livemoments_app.core.jobs import CancelToken
from livemoments_app.ui import aio

ItemRole = Qt.ItemDataRole.UserRole + 1

WAITING, RUNNING, DONE, SKIPPED, FAILED, CANCELLED = "waiting", "running", "done", "skipped", "failed", "cancelled"
FINISHED = (DONE, SKIPPED, FAILED, CANCELLED)


@dataclass(eq=False)
class QueueItem:
    entry: object                         # core.library.LibraryEntry
    state: str = WAITING
    fraction: float = 0.0
    text: str = "Waiting"
    result: object = None                 # core.library.restore.RestoredMoment
    error: str = ""
    token: CancelToken = field(default_factory=CancelToken)
    task: asyncio.Task | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class RestoreQueueModel(QAbstractListModel):
    stateChanged = Signal()               # counts changed (an item was added, started or finished)
    itemFinished = Signal(object)         # QueueItem

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[QueueItem] = []
        self.cache = None                 # the library's LibraryCache: scores computed here are kept
        self.slots = 1                    # restores at once: each uses every core already
        self._slot: asyncio.Semaphore | None = None
        self._pool = None

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt)
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{item.entry.name}: {item.text}"
        return None

    # Commands -----------------------------------------------------------------------------------------------
    def add(self, entries, settings) -> list[QueueItem]:
        """Queues the best moment of each of ``entries`` (core.library.restore.RestoreSettings for all)."""
        if self._slot is None:
            aio.loop()
            self._slot = asyncio.Semaphore(self.slots)
            self._pool = aio.executor("library-restore", self.slots)
        added = []
        for entry in entries:
            if any(i.entry.path == entry.path and not i.finished for i in self.items):
                continue                  # already waiting or running
            item = QueueItem(entry)
            row = len(self.items)
            self.beginInsertRows(QModelIndex(), row, row)
            self.items.append(item)
            self.endInsertRows()
            item.task = aio.spawn(self._run(item, settings), f"Restoring {entry.name}")
            # A task cancelled before its first step never runs its body: its item is finished here.
            item.task.add_done_callback(lambda task, i=item: self._on_task_done(i, task))
            added.append(item)
        self.stateChanged.emit()
        return added

    def cancel(self, item: QueueItem) -> None:
        if item.task is not None and not item.task.done():
            item.task.cancel()

    def cancel_all(self) -> None:
        for item in self.items:
            self.cancel(item)

    def clear_finished(self) -> None:
        keep = [i for i in self.items if not i.finished]
        if len(keep) != len(self.items):
            self.beginResetModel()
            self.items = keep
            self.endResetModel()
            self.stateChanged.emit()

    def shutdown(self) -> None:
        self.cancel_all()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # Counts -------------------------------------------------------------------------------------------------
    def count(self, *states: str) -> int:
        return sum(1 for i in self.items if i.state in states)

    @property
    def active(self) -> bool:
        return any(not i.finished for i in self.items)

    # Running ------------------------------------------------------------------------------------------------
    async def _run(self, item: QueueItem, settings) -> None:
        from livemoments_app.core.errors import LivePhotoError
        from livemoments_app.core.jobs import Cancelled
        from livemoments_app.core.library.restore import restore_best_moment
        from livemoments_app.ui.errors import describe

        try:
            async with self._slot:
                self._update(item, state=RUNNING, text="Starting", fraction=0.0)
                progress = aio.progress_to(lambda f, text: self._progress(item, f, text), item.token)
                result = await aio.in_thread(self._pool, restore_best_moment, item.entry, settings, self.cache,
                                             progress, token=item.token)
        except (asyncio.CancelledError, Cancelled):
            self._update(item, state=CANCELLED, text="Cancelled")
            self.itemFinished.emit(item)
            return
        except LivePhotoError as exc:
            self._update(item, state=FAILED, text=exc.reason, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - shown on the item; the queue goes on with the next photo
            self._update(item, state=FAILED, text=describe(exc), error=describe(exc))
        else:
            if result.note:
                self._update(item, state=SKIPPED, text=result.note[:1].upper() + result.note[1:], result=result,
                             fraction=1.0)
            else:
                names = ", ".join(p.name for p in result.written)
                self._update(item, state=DONE, text=f"Saved {names}", result=result, fraction=1.0)
        self.itemFinished.emit(item)

    def _on_task_done(self, item: QueueItem, task: asyncio.Task) -> None:
        if task.cancelled() and not item.finished:
            self._update(item, state=CANCELLED, text="Cancelled")
            self.itemFinished.emit(item)

    def _progress(self, item: QueueItem, fraction: float, text: str) -> None:
        if item.state == RUNNING:
            self._update(item, fraction=fraction, text=text or item.text)

    def _update(self, item: QueueItem, **values) -> None:
        state_before = item.state
        for key, value in values.items():
            setattr(item, key, value)
        try:
            row = self.items.index(item)
        except ValueError:
            return
        index = self.index(row)
        self.dataChanged.emit(index, index)
        if item.state != state_before:
            self.stateChanged.emit()
