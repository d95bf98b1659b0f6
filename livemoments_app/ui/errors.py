"""The one place errors reach the user.

Background jobs, slots and stray threads all end here: :func:`reporter` turns an exception into a short message
(what went wrong, in words) plus details (the full traceback) that the message bar shows and lets the user copy.
``install_hooks`` bridges ``sys.excepthook`` and ``threading.excepthook`` so nothing dies silently.
"""

from __future__ import annotations

import sys
import threading
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from livemoments_app.core.errors import LivePhotoError


@dataclass(frozen=True)
class ErrorReport:
    message: str       # one line a user can act on
    details: str       # full text (traceback) for a bug report
    context: str = ""  # what the app was doing ("Opening IMG_4394.HEIC")


def describe(exc: BaseException) -> str:
    if isinstance(exc, LivePhotoError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory for this step. Try a smaller output size or close other photos."
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Unexpected error: {type(exc).__name__}" + (f": {text}" if text else "")


class ErrorReporter(QObject):
    reported = Signal(object)   # ErrorReport

    def __init__(self) -> None:
        super().__init__()
        self.history: list[ErrorReport] = []

    def report(self, message: str, details: str = "", context: str = "") -> ErrorReport:
        entry = ErrorReport(message, details or message, context)
        self.history.append(entry)
        # Emitting from another thread is fine: the connection to the UI is queued.
        self.reported.emit(entry)
        return entry

    def report_exception(self, exc: BaseException, context: str = "") -> ErrorReport:
        tb = getattr(exc, "__livemoments_traceback__", None) or "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))
        message = describe(exc)
        # A LivePhotoError already names the file and the problem; other errors need to say what was going on.
        if context and not isinstance(exc, LivePhotoError):
            message = f"{context}: {message}"
        return self.report(message, tb, context)


_REPORTER: ErrorReporter | None = None
_REPORTER_LOCK = threading.Lock()


def reporter() -> ErrorReporter:
    global _REPORTER
    with _REPORTER_LOCK:
        if _REPORTER is None:
            _REPORTER = ErrorReporter()
        return _REPORTER


def install_hooks() -> tuple:
    """Routes uncaught exceptions (UI thread and any other thread) to the reporter; returns the old hooks."""
    old = (sys.excepthook, threading.excepthook)

    def excepthook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            old[0](exc_type, exc, tb)
            return
        exc.__livemoments_traceback__ = "".join(traceback.format_exception(exc_type, exc, tb))
        reporter().report_exception(exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        exc = args.exc_value
        exc.__livemoments_traceback__ = "".join(
            traceback.format_exception(args.exc_type, exc, args.exc_traceback))
        name = args.thread.name if args.thread is not None else "background thread"
        reporter().report_exception(exc, context=f"In {name}")

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    return old


def restore_hooks(old: tuple) -> None:
    sys.excepthook, threading.excepthook = old
