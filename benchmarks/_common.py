"""What several benchmarks share: where the repository and the real samples are, which of them are present, and
timers (medians of wall time, and of CPU time where other load makes wall time noisy)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("LIVEMOMENTS_SAMPLES", ROOT.parent / "shared" / "samples"))

T = TypeVar("T")


def present(folder: Path, names: Iterable[str]) -> Iterator[Path]:
    """The named samples that ``folder`` holds; each missing one is reported as skipped."""
    for name in names:
        path = folder / name
        if path.exists():
            yield path
        else:
            print(f"{name:<46} missing, skipped")


class Stopwatch:
    """Wall and CPU time (process time: all threads of this process) of every ``with`` block it times."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        wall, cpu = self._started
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)

    def medians(self) -> tuple[float, float]:
        """(median wall seconds, median CPU seconds)."""
        return statistics.median(self.wall), statistics.median(self.cpu)


def timed_median(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall time of ``repeats`` calls of ``fn`` (seconds) and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result
