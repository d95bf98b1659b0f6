"""Running a still encoder outside the app's process, at low priority, so the window stays responsive.

x265 (HEIC) spreads over every core for a couple of seconds per 12 MP photo. In the app's own process its threads
compete with the UI thread for the CPU and, between calls, for the GIL; in a child process at low priority the
scheduler hands the UI thread a core as soon as it wakes up (docs/benchmarks.md, ui_latency). The child can also be
killed when the user cancels, and if it dies (out of memory, a crash inside the codec) the export fails with a
clear error instead of taking the app down.

``run_encoder(work, *args)`` is the one way encoders run: ``work`` is a module-level function (so the child can
import it) returning bytes or a list of them (a HEIC and its gain-map images, coded in one child). Its arguments
travel through a pipe, arrays out of band (pickle protocol 5): the parent never copies a 36 MB image while holding
the GIL, which alone stalled the UI thread for 50-120 ms.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from typing import Any, Callable

from livemoments_app.core.errors import ExportError
from livemoments_app.core.jobs import Progress

# How many steps of niceness the encoder process runs below the app's main thread (Unix; "below normal" on
# Windows). The app's worker threads run 5 steps below it (ui/workers), so the encoder yields to them as well.
ENCODER_NICENESS = 10
# How often the parent looks at the cancel button while the child encodes.
_POLL_S = 0.05


def _app_niceness() -> int | None:
    """The niceness of the app's main thread (on Linux a thread's niceness is its own; the encoder is started
    from a worker thread that already runs lower)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, os.getpid())
    except (AttributeError, OSError):
        return None


def _lower_priority(niceness: int | None) -> None:
    if niceness is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, min(19, max(niceness, os.getpriority(os.PRIO_PROCESS, 0))))
        except OSError:
            pass
    elif sys.platform == "win32":
        import ctypes

        below_normal = 0x00004000
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal)


def _child(inbox, outbox, niceness: int | None) -> None:
    _lower_priority(niceness)
    try:
        head = inbox.recv_bytes()
        buffers = [inbox.recv_bytes() for _ in range(pickle.loads(inbox.recv_bytes()))]
        work, args = pickle.loads(head, buffers=buffers)
        result: tuple[str, Any] = ("ok", work(*args))
    except BaseException as exc:  # noqa: BLE001 - the parent reports it; the child only carries the reason
        result = ("error", f"{type(exc).__name__}: {exc}")
    try:
        outbox.send(result)
    except (BrokenPipeError, ConnectionResetError):
        pass            # the parent is gone (a batch killed with SIGKILL): no one to answer, no traceback to print
    outbox.close()


def _send(conn, work: Callable[..., Any], args: tuple) -> None:
    """``(work, args)`` as a small pickle plus the raw buffers of its arrays, written without copying them (the
    pipe writes release the GIL)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps((work, args), protocol=5, buffer_callback=buffers.append)
    conn.send_bytes(head)
    conn.send_bytes(pickle.dumps(len(buffers)))
    for buffer in buffers:
        conn.send_bytes(buffer.raw())


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def prepare() -> None:
    """Starts ahead of time what the first ``run_encoder`` would start while the user waits: on POSIX the
    "spawn" start method needs multiprocessing's resource tracker, a Python process of its own. Safe to call
    more than once and from any thread."""
    if sys.platform == "win32":
        import multiprocessing.popen_spawn_win32  # noqa: F401
    else:
        import multiprocessing.popen_spawn_posix  # noqa: F401
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()


def run_encoder(work: Callable[..., Any], *args: Any, progress: Progress | None = None, name: str = "HEIC") -> Any:
    """``work(*args)`` computed in a low-priority child process. Raises ``Cancelled`` (child killed) when
    ``progress`` is cancelled, ``RuntimeError`` with the child's exception when ``work`` raised, and ExportError
    when the child died without an answer."""
    context = multiprocessing.get_context("spawn")    # fork would copy the UI's threads' locks mid-use
    child_inbox, inbox = context.Pipe(duplex=False)
    outbox, child_outbox = context.Pipe(duplex=False)
    app = _app_niceness()
    niceness = None if app is None else app + ENCODER_NICENESS
    child = context.Process(target=_child, args=(child_inbox, child_outbox, niceness), daemon=True,
                            name=f"livemoments-{name.lower()}-encoder")
    try:
        child.start()
    except OSError as exc:
        inbox.close()
        outbox.close()
        raise ExportError(f"the {name} encoder could not be started ({exc.strerror or exc})") from None
    finally:
        child_inbox.close()
        child_outbox.close()                          # the child holds the only write end: EOF when it dies
    try:
        try:
            _send(inbox, work, args)
        except (BrokenPipeError, ConnectionResetError):
            pass                                      # it died before reading: reported below
        finally:
            inbox.close()
        while not outbox.poll(_POLL_S):               # also true at EOF, when the child died without a word
            if progress is not None:
                progress.check()
        try:
            status, value = outbox.recv()
        except (EOFError, OSError):
            child.join()
            raise ExportError(f"the {name} encoder stopped unexpectedly ({_exit_reason(child.exitcode)})") from None
    except BaseException:
        if child.is_alive():
            child.kill()
        raise
    finally:
        outbox.close()
        child.join()
        child.close()
    if status != "ok":
        raise RuntimeError(value)
    return value
