"""The open Live Photo: opening it in the background (a later open supersedes an earlier one still running) and
closing it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from livemoments_app.core.file_types import VIDEO_EXTS
from livemoments_app.core.memory import release_freed_memory
from livemoments_app.ui.workers import Job, Lanes



def stills_and_videos(paths: list[str]) -> tuple[list[str], list[str]]:
    """``paths`` sorted by their suffix into stills and videos, each in the order given."""
    videos = [p for p in paths if Path(p).suffix.lower() in VIDEO_EXTS]
    return [p for p in paths if p not in videos], videos


def split_still_and_video(paths: list[str]) -> tuple[str, str | None]:
    """Two dropped/selected files → (still, video); one file → (it, None)."""
    if len(paths) == 1:
        return paths[0], None
    stills, videos = stills_and_videos(paths)
    if stills and videos:
        return stills[0], videos[0]
    return paths[0], paths[1]


def _open(path: str, partner: str | None, progress):
    from livemoments_app.core.livephoto import open_live_photo

    progress.set(0.05, f"Opening {os.path.basename(path)}")
    live = open_live_photo(path, partner=partner) if partner else open_live_photo(path)
    try:
        progress.set(0.9, "Reading the clip")
        _ = live.clip.frame_count, live.key_frame_index
    except BaseException:
        live.close()
        raise
    return live


def _close(live) -> None:
    live.close()
    release_freed_memory()      # the closed photo's frames, alignments and results (the models let go already)


class DocumentModel(QObject):
    loadingChanged = Signal(bool)
    opened = Signal(object)        # LivePhoto
    closed = Signal()
    openFailed = Signal(str)       # the path

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.live = None
        self.path: str | None = None
        self.partner: str | None = None
        self.loading = False
        self._job: Job | None = None
        self._opens = 0          # which open() a result belongs to (a job captured in its own slots is a Qt cycle)

    @property
    def is_open(self) -> bool:
        return self.live is not None

    @property
    def title(self) -> str:
        if self.live is None:
            return ""
        return os.path.basename(self.path or str(self.live.still_path))

    def open(self, path: str | os.PathLike, partner: str | os.PathLike | None = None) -> Job:
        path = os.fspath(path)
        partner = os.fspath(partner) if partner else None
        if self._job is not None and not self._job.done:
            self._job.cancel()
        self._set_loading(True)
        job = self.lanes.work.run(lambda p: _open(path, partner, p), name=f"Opening {os.path.basename(path)}",
                                  priority=5)
        self._job = job
        self._opens += 1
        job.succeeded.connect(lambda live, n=self._opens: self._on_opened(n, path, partner, live))
        job.failed.connect(lambda _exc, n=self._opens: self._on_failed(n, path))
        job.cancelled.connect(lambda n=self._opens: self._on_failed(n, None))
        return job

    def _set_loading(self, value: bool) -> None:
        if self.loading != value:
            self.loading = value
            self.loadingChanged.emit(value)

    def _on_opened(self, n: int, path: str, partner: str | None, live) -> None:
        if n != self._opens:
            live.close()        # superseded by a later open
            return
        self.close()
        self.live, self.path, self.partner = live, path, partner
        self._set_loading(False)
        self.opened.emit(live)

    def _on_failed(self, n: int, path: str | None) -> None:
        if n != self._opens:
            return
        self._set_loading(False)
        if path:
            self.openFailed.emit(path)

    def close(self) -> None:
        if self.live is None:
            return
        live, self.live = self.live, None
        self.path = self.partner = None
        self.lanes.cancel_all()
        # FrameSource.close takes the decoders' locks, so it waits for a decode in flight; run it off the UI thread.
        self.lanes.frames.run(lambda _p: _close(live), name="Closing the photo", report=False)
        self.closed.emit()
