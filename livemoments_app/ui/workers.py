"""Background jobs: every core function the UI calls runs here, never on the UI thread.

One mechanism everywhere: a :class:`Job` (a QObject with signals, living on the UI thread) wraps a plain callable
``fn(progress) -> result``; a QRunnable runs it on a QThreadPool lane. The core reports through
:class:`~livemoments_app.core.jobs.Progress`, whose callback emits ``progressed`` (queued to the UI thread and
throttled), and whose CancelToken the Cancel button sets. Every exception other than ``Cancelled`` is routed to the
one error reporter, so no background error is ever lost.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
import weakref
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from livemoments_app.core.jobs import CancelToken, Cancelled, Progress

JobFn = Callable[[Progress], Any]

# Progress signals are rate-limited so a chatty core loop cannot flood the UI thread's event queue.
_PROGRESS_INTERVAL_S = 0.04


class Job(QObject):
    progressed = Signal(float, str)        # fraction in [0, 1], text
    succeeded = Signal(object)             # the callable's return value
    failed = Signal(object)                # the exception (already reported unless report=False)
    cancelled = Signal()
    finished = Signal()                    # always last, after exactly one of the three above

    def __init__(self, fn: JobFn, name: str = "", report: bool = True) -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.report = report
        self.token = CancelToken()
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.fraction = 0.0
        self.done = False
        self._last_emit = 0.0

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.token.cancelled

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

    def eta_s(self) -> float | None:
        """Remaining time extrapolated from the progress so far; None until there is enough to go on."""
        elapsed = self.elapsed_s
        if self.fraction < 0.03 or elapsed < 0.3:
            return None
        return max(0.0, elapsed * (1.0 - self.fraction) / self.fraction)

    # Called on the worker thread.
    def _on_progress(self, fraction: float, text: str) -> None:
        self.fraction = fraction
        now = time.monotonic()
        if now - self._last_emit >= _PROGRESS_INTERVAL_S or fraction >= 1.0:
            self._last_emit = now
            self.progressed.emit(float(fraction), text)

    def _run(self) -> None:
        self.started_at = time.monotonic()
        progress = Progress(self._on_progress, self.token)
        outcome, value = "succeeded", None
        try:
            progress.check()
            value = self.fn(progress)
        except Cancelled:
            outcome = "cancelled"
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user, never vanish
            outcome, value = "failed", exc
            exc.__livemoments_traceback__ = traceback.format_exc()  # type: ignore[attr-defined]
            if self.report:
                from livemoments_app.ui.errors import reporter
                reporter().report_exception(exc, context=self.name)
        # The closure usually holds a photo; a model that keeps the finished job must not keep that too.
        self.fn = None
        # The state is final before anyone hears about it (the signals are delivered on the UI thread).
        self.ended_at = time.monotonic()
        self.done = True
        if outcome == "succeeded":
            self.succeeded.emit(value)
        elif outcome == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(value)
        self.finished.emit()


_WORKER_NICENESS = 5
_niced = threading.local()


def lower_thread_priority() -> None:
    """Background threads yield the CPU to the UI thread (Linux: niceness is per thread); once per thread."""
    if getattr(_niced, "done", False):
        return
    _niced.done = True
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           os.getpriority(os.PRIO_PROCESS, 0) + _WORKER_NICENESS)
        except OSError:
            pass


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.job = job

    def run(self) -> None:
        lower_thread_priority()
        try:
            self.job._run()
        except BaseException:  # noqa: BLE001 - the last guard: a dying runnable must still say why
            sys.excepthook(*sys.exc_info())


class Lane:
    """A named thread pool, so a long restore never delays the next frame the user scrubs to."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(threads)
        self._jobs: set[Job] = set()
        self._lock = threading.Lock()
        self.closed = False

    def submit(self, job: Job, priority: int = 0) -> Job:
        """Queues ``job``. It starts on the next turn of the event loop, so the caller can connect to its signals
        first: a job that finished before anyone listened would have its result dropped."""
        with self._lock:
            self._jobs.add(job)
        # Weakly: a slot holding the job would make a job -> connection -> slot -> job cycle through C++ that
        # Python's collector cannot see, and every job -- with the photo its closures hold -- would live forever.
        ref = weakref.ref(job)
        job.finished.connect(lambda: self._forget(ref()))
        QTimer.singleShot(0, lambda: self._start(job, priority))
        return job

    def _start(self, job: Job, priority: int) -> None:
        if self.closed:
            self._forget(job)
            return
        self.pool.start(_Runnable(job), priority)

    def run(self, fn: JobFn, name: str = "", priority: int = 0, report: bool = True) -> Job:
        return self.submit(Job(fn, name, report), priority)

    def _forget(self, job: Job | None) -> None:
        # On a later turn of the event loop: the slots connected to ``finished`` after this one are queued
        # behind it, and PySide drops them when the job (their sender) is deleted first.
        QTimer.singleShot(0, lambda: self._discard(job))

    def _discard(self, job: Job | None) -> None:
        with self._lock:
            self._jobs.discard(job)

    @property
    def active(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if not j.done]

    def cancel_all(self) -> None:
        for job in self.active:
            job.cancel()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        self.closed = True
        self.pool.clear()
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)


class Lanes:
    """``frames``: the frame the user looks at (FrameSource serialises it on one decoder anyway);
    ``thumbs``: the filmstrip (FrameSource gives it its own decoder); ``work``: opening, aligning, restoring,
    exporting."""

    def __init__(self) -> None:
        self.frames = Lane("frames", 1)
        self.thumbs = Lane("thumbs", 1)
        self.work = Lane("work", 2)

    def all(self) -> list[Lane]:
        return [self.frames, self.thumbs, self.work]

    def cancel_all(self) -> None:
        for lane in self.all():
            lane.cancel_all()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        return all([lane.shutdown(timeout_ms) for lane in self.all()])


class Latest(QObject):
    """Runs only the most recent request on a lane: while one job runs, newer requests replace each other, so a
    slider dragged across fifty values costs two or three jobs, and the result shown is always the last asked."""

    resultReady = Signal(object, object)    # key, result

    def __init__(self, lane: Lane, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.name = name
        self._pending: tuple[object, JobFn] | None = None
        self._running: Job | None = None
        self.generation = 0

    @property
    def busy(self) -> bool:
        return self._running is not None or self._pending is not None

    def request(self, key, fn: JobFn) -> None:
        self._pending = (key, fn)
        if self._running is None:
            self._start_next()

    def reset(self) -> None:
        """Forgets what is pending and drops the result of what is running."""
        self.generation += 1
        self._pending = None
        if self._running is not None:
            self._running.cancel()

    def _start_next(self) -> None:
        if self._pending is None:
            return
        (key, fn), self._pending = self._pending, None
        generation = self.generation
        job = self.lane.run(fn, name=self.name)
        self._running = job
        job.succeeded.connect(lambda result, k=key, g=generation: self._deliver(g, k, result))
        job.finished.connect(lambda r=weakref.ref(job): self._on_end(r()))   # weakly: see Lane.submit

    def _deliver(self, generation: int, key, result) -> None:
        if generation == self.generation:
            self.resultReady.emit(key, result)

    def _on_end(self, job: Job) -> None:
        if self._running is job:
            self._running = None
        self._start_next()
