"""Files opened from the Finder (double-click, "Open With", a drop on the Dock icon) while the app runs.

macOS does not pass them on the command line: they arrive as QEvent.FileOpen on the QApplication. Selecting a
still and its video in the Finder sends one event per file in quick succession, so the paths are collected for a
moment and opened together, the way File › Open and drag and drop open a selection of two files.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from livemoments_app.ui.viewmodels.document import stills_and_videos

# Long enough to catch the events of one Finder action, short enough to feel immediate.
COLLECT_MS = 150


def choose_paths(paths: list[str]) -> list[str]:
    """The files of one Finder action → what to open: a still with its video, or the first file alone (one
    photo is open at a time; two unrelated photos are not a pair)."""
    stills, videos = stills_and_videos(paths)
    if len(stills) == 1 and len(videos) == 1:
        return [stills[0], videos[0]]
    return paths[:1]


class FileOpenFilter(QObject):
    """Installed on the QApplication; emits ``filesOpened`` with the paths to open."""

    filesOpened = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COLLECT_MS)
        self._timer.timeout.connect(self._flush)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Sees every event of the application: leave all but FileOpen at once.
        if event.type() != QEvent.Type.FileOpen:
            return False
        path = event.file() or event.url().toLocalFile()
        if path and path not in self._pending:
            self._pending.append(path)
            self._timer.start()
        return True

    def _flush(self) -> None:
        paths, self._pending = self._pending, []
        if paths:
            self.filesOpened.emit(choose_paths(paths))
