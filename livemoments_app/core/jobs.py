"""Progress reporting and cooperative cancellation for every long stage.

A core function that takes a while accepts ``progress: Progress`` and calls ``progress.set(fraction, text)``
between steps; ``set`` raises :class:`Cancelled` once cancellation was requested, so work stops at the next
step boundary. Nested stages share one bar through :meth:`Progress.sub`.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Cancelled(Exception):
    """Raised inside a job when the user asked it to stop."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


Callback = Callable[[float, str], None]


class Progress:
    """A fraction in [0, 1] with a message, forwarded to ``callback``; checks ``token`` on every update."""

    def __init__(self, callback: Callback | None = None, token: CancelToken | None = None,
                 _offset: float = 0.0, _length: float = 1.0) -> None:
        self.callback = callback
        self.token = token or CancelToken()
        self._offset = _offset
        self._length = _length
        self.started = time.monotonic()

    def check(self) -> None:
        if self.token.cancelled:
            raise Cancelled()

    def set(self, fraction: float, text: str = "") -> None:
        self.check()
        if self.callback is not None:
            f = self._offset + self._length * min(max(fraction, 0.0), 1.0)
            self.callback(f, text)

    def sub(self, offset: float, length: float) -> "Progress":
        """A child covering [offset, offset + length] of this progress (both in this progress's units)."""
        child = Progress(self.callback, self.token, self._offset + self._length * offset, self._length * length)
        child.started = self.started
        return child


def no_progress() -> Progress:
    return Progress()
