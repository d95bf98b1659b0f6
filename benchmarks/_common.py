"""What several benchmarks share: where the repository and the real samples are, which of them are present, and a
median timer."""

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


def timed_median(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall time of ``repeats`` calls of ``fn`` (seconds) and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result
