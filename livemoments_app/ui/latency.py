"""An event-loop latency probe: a fast QTimer that records how late each tick arrives.

If the UI thread is blocked for 80 ms, the next tick is ~80 ms late. Used by the GUI tests and by
``benchmarks/ui_latency`` to check that decoding, aligning, restoring and exporting never stall the UI.
"""

from __future__ import annotations

import statistics
import time

from PySide6.QtCore import QObject, Qt, QTimer


class LatencyProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.lateness_ms: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.lateness_ms.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000.0 - self.interval_ms))
        self._last = now

    @property
    def max_ms(self) -> float:
        return max(self.lateness_ms, default=0.0)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.lateness_ms) if self.lateness_ms else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.lateness_ms:
            return 0.0
        ordered = sorted(self.lateness_ms)
        return ordered[min(len(ordered) - 1, int(round(q / 100.0 * (len(ordered) - 1))))]

    def over(self, limit_ms: float) -> int:
        return sum(1 for v in self.lateness_ms if v > limit_ms)

    def summary(self) -> str:
        return (f"ticks={len(self.lateness_ms)} median={self.median_ms:.1f} ms p99={self.percentile_ms(99):.1f} ms "
                f"max={self.max_ms:.1f} ms")
