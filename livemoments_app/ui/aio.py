"""asyncio on Qt's event loop (qasync) for work made of many small steps whose results arrive in any order: the
library's folder scan and its restore queue (docs/architecture.md says why there and not elsewhere).

Coroutines run on the UI thread between Qt events; anything that takes CPU or touches the disk runs in a thread
through :func:`in_thread`, which the coroutine awaits. Cancelling the coroutine's task cancels the step it waits
for: a step not started yet never starts, a running one gets its CancelToken set and is waited for, so a cancelled
task has really stopped when its cancellation is seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Coroutine

from livemoments_app.core.jobs import CancelToken, Progress

_loop: asyncio.AbstractEventLoop | None = None
_tasks: set[asyncio.Task] = set()       # asyncio keeps only weak references to tasks
_PROGRESS_INTERVAL_S = 0.05


def loop() -> asyncio.AbstractEventLoop:
    """The asyncio loop driven by this application's Qt event loop, installed on first use. It counts as
    running from then on (Qt's exec() or a test's local event loops drive it), so tasks can be created from any
    slot on the UI thread."""
    global _loop
    if _loop is None:
        import qasync
        from PySide6.QtWidgets import QApplication

        _loop = qasync.QEventLoop(QApplication.instance(), already_running=True)
    return _loop


def spawn(coro: Coroutine, context: str = "") -> asyncio.Task:
    """Starts ``coro`` as a task on the Qt loop. An exception it ends with reaches the error reporter (with
    ``context``); cancellation is not an error."""
    task = loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(lambda t: _finished(t, context))
    return task


def _finished(task: asyncio.Task, context: str) -> None:
    _tasks.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        from livemoments_app.ui.errors import reporter

        reporter().report_exception(exc, context)


def executor(name: str, threads: int) -> ThreadPoolExecutor:
    """A pool for one kind of step; its threads yield the CPU to the UI thread (see workers)."""
    from livemoments_app.ui.workers import lower_thread_priority

    return ThreadPoolExecutor(threads, thread_name_prefix=f"livemoments-{name}", initializer=lower_thread_priority)


async def in_thread(pool: ThreadPoolExecutor, fn: Callable[..., Any], *args, token: CancelToken | None = None):
    """``fn(*args)`` on ``pool``, awaited. Cancelled: ``token`` is set and the step is waited for (see above)."""
    future = asyncio.wrap_future(pool.submit(fn, *args), loop=loop())
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if token is not None:
            token.cancel()
        if not future.done():
            with contextlib.suppress(BaseException):
                await future
        raise


def progress_to(callback: Callable[[float, str], None], token: CancelToken) -> Progress:
    """A Progress for a step in a thread whose updates reach ``callback`` on the UI thread, at most every 50 ms
    (and always the last one)."""
    the_loop = loop()
    last = [0.0]

    def relay(fraction: float, text: str) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_INTERVAL_S or fraction >= 1.0:
            last[0] = now
            the_loop.call_soon_threadsafe(callback, fraction, text)

    return Progress(relay, token)
