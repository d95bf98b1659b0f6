"""Pixels of the clip for the UI: the current frame (latest request wins, so scrubbing never queues up stale
decodes) and the filmstrip thumbnails, filled progressively on their own lane (FrameSource gives thumbnails a
separate decoder, so they never hold up the frame the user is looking at)."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from livemoments_app.core.jobs import Cancelled
from livemoments_app.ui.imaging import Picture, qimage_from_rgb
from livemoments_app.ui.workers import Job, Lanes

THUMB_SIDE = 160


@contextmanager
def _quiet_if_cancelled(progress):
    """A decode that fails because the photo was closed under it (cancelled first) is not an error to show."""
    try:
        yield
    except Exception:
        if progress.token.cancelled:
            raise Cancelled() from None
        raise


class FramesModel(QObject):
    frameReady = Signal(int, object)        # index, Picture (full frame, or a scaled-up thumbnail placeholder)
    thumbnailReady = Signal(int, QImage)
    thumbnailsDone = Signal()
    _thumbFromWorker = Signal(int, int, QImage)   # emitted on the clip thread, delivered queued

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.clip = None
        self.generation = 0
        self.thumbnails: dict[int, QImage] = {}
        self.wanted = -1
        self.shown = -1
        self.picture: Picture | None = None
        self._in_flight: Job | None = None
        self._thumb_jobs: list[Job] = []
        self._thumbFromWorker.connect(self._on_thumb)

    def set_clip(self, clip) -> None:
        self.generation += 1
        for job in self._thumb_jobs:
            job.cancel()
        self._thumb_jobs = []
        self.clip = clip
        self.thumbnails = {}
        self.wanted = self.shown = -1
        self.picture = None
        self._in_flight = None
        if clip is not None:
            self._queue_thumbnails()

    # Current frame ------------------------------------------------------------------------------------------
    def request(self, index: int) -> None:
        if self.clip is None or index < 0:
            return
        self.wanted = index
        if index == self.shown:
            return
        thumb = self.thumbnails.get(index)
        if thumb is not None:
            # Immediate feedback while the exact frame decodes: the thumbnail stands in at the frame's size.
            self.frameReady.emit(index, Picture.placeholder(thumb, self.clip.width, self.clip.height))
        if self._in_flight is None:
            self._decode_next()

    def _decode_next(self) -> None:
        index, clip, generation = self.wanted, self.clip, self.generation

        def work(progress):
            with _quiet_if_cancelled(progress):
                pixels = clip.frame(index)
            return index, Picture(pixels)

        job = self.lanes.frames.run(work, name=f"Decoding frame {index + 1}")
        self._in_flight = job
        job.succeeded.connect(lambda result, g=generation: self._on_frame(g, result))
        job.finished.connect(lambda g=generation: self._on_job_end(g))

    def _on_frame(self, generation: int, result) -> None:
        if generation != self.generation:
            return
        index, picture = result
        self.shown, self.picture = index, picture
        self.frameReady.emit(index, picture)

    def _on_job_end(self, generation: int) -> None:
        if generation != self.generation:
            return
        self._in_flight = None
        if self.wanted != self.shown and self.wanted >= 0:
            self._decode_next()

    # Thumbnails ---------------------------------------------------------------------------------------------
    def _queue_thumbnails(self) -> None:
        clip, generation = self.clip, self.generation

        def work(progress):
            count = int(clip.frame_count)
            for i in range(count):
                if generation != self.generation:
                    return None          # the photo was closed; its decoder may be gone
                progress.set(i / count, "Making the filmstrip")
                with _quiet_if_cancelled(progress):
                    thumb = clip.thumbnail(i, max_side=THUMB_SIDE)
                self._emit_thumbnail(generation, i, qimage_from_rgb(thumb))
            return None

        job = self.lanes.thumbs.run(work, name="Making the filmstrip")
        self._thumb_jobs.append(job)
        job.finished.connect(lambda g=generation: self._on_thumbs_done(g))

    def _emit_thumbnail(self, generation: int, index: int, image: QImage) -> None:
        self._thumbFromWorker.emit(generation, index, image)

    def _on_thumb(self, generation: int, index: int, image: QImage) -> None:
        if generation != self.generation:
            return
        self.thumbnails[index] = image
        self.thumbnailReady.emit(index, image)

    def _on_thumbs_done(self, generation: int) -> None:
        if generation == self.generation:
            self._thumb_jobs = []
            self.thumbnailsDone.emit()
