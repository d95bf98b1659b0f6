"""Where the user is in the clip: the current frame, the chosen frame, the original key moment, and playback.

Times are the clip's presentation timestamps (variable frame rate is the norm), so stepping is by frame index and
playback follows real time through the timestamps, never index × nominal fps.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

SHUTTLE_RATES = (1.0, 2.0, 4.0, 8.0)


def _empty_times():
    # numpy is imported when first needed, not at start-up (it costs the first window ~0.25 s).
    import numpy as np

    return np.zeros(0, dtype=np.float64)


def key_time_uncertain(live) -> bool:
    """The key moment was estimated by matching the photo to the frames and no frame stood out: a guess."""
    details = getattr(live, "details", None) or {}
    estimate = details.get("key_time_estimate") or {}
    return bool(live.key_time_estimated) and estimate.get("confident") is False


class TimelineModel(QObject):
    currentChanged = Signal(int)
    chosenChanged = Signal(int)          # -1 when nothing is chosen
    clipChanged = Signal()
    playingChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.times = ()      # a numpy array once a clip is set
        self.key_index = -1
        self.key_time_s = 0.0
        self.key_time_estimated = False
        self.key_time_uncertain = False     # estimated, and several frames matched about equally well
        self.current = -1
        self.chosen = -1
        self.rate = 0.0                  # playback speed; negative plays backwards, 0 is stopped
        self._loop = True
        self._position_s = 0.0
        self._last_tick = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(15)
        self._timer.timeout.connect(self._tick)

    # Clip --------------------------------------------------------------------------------------------------
    def set_clip(self, times, key_index: int, key_time_s: float = 0.0, estimated: bool = False,
                 uncertain: bool = False) -> None:
        self.stop()
        import numpy as np

        self.times = np.asarray(times, dtype=np.float64)
        self.key_index = int(key_index)
        self.key_time_s = float(key_time_s)
        self.key_time_estimated = bool(estimated)
        self.key_time_uncertain = bool(estimated and uncertain)
        self.chosen = -1
        self.current = -1
        self.clipChanged.emit()
        self.chosenChanged.emit(-1)
        self.set_current(self.key_index)

    def clear(self) -> None:
        self.set_clip(_empty_times(), -1)

    @property
    def frame_count(self) -> int:
        return int(len(self.times))

    @property
    def duration_s(self) -> float:
        return float(self.times[-1]) if len(self.times) else 0.0

    def time_of(self, index: int) -> float:
        return float(self.times[index]) if 0 <= index < len(self.times) else 0.0

    def nearest_index(self, t: float) -> int:
        if not len(self.times):
            return -1
        import numpy as np

        i = int(np.searchsorted(self.times, t))
        if i <= 0:
            return 0
        if i >= len(self.times):
            return int(len(self.times) - 1)
        return i if abs(self.times[i] - t) < abs(t - self.times[i - 1]) else i - 1

    # Current / chosen ---------------------------------------------------------------------------------------
    def set_current(self, index: int) -> None:
        if not len(self.times):
            return
        index = int(min(max(index, 0), len(self.times) - 1))
        if index != self.current:
            self.current = index
            self.currentChanged.emit(index)

    def step(self, delta: int) -> None:
        self.stop()
        self.set_current(self.current + delta)

    def home(self) -> None:
        self.stop()
        self.set_current(0)

    def end(self) -> None:
        self.stop()
        self.set_current(self.frame_count - 1)

    def go_to_key(self) -> None:
        self.stop()
        self.set_current(self.key_index)

    def choose(self, index: int) -> None:
        if not len(self.times):
            return
        index = int(min(max(index, 0), len(self.times) - 1))
        if index != self.chosen:
            self.chosen = index
            self.chosenChanged.emit(index)

    def choose_current(self) -> None:
        self.choose(self.current)

    # Playback: Space toggles, J/K/L shuttle -----------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.rate != 0.0

    def play(self, rate: float = 1.0, loop: bool = True) -> None:
        if self.frame_count < 2:
            return
        was_playing = self.playing
        self.rate = rate
        self._loop = loop
        if rate > 0 and self.current >= self.frame_count - 1:
            self.set_current(0)
        elif rate < 0 and self.current <= 0:
            self.set_current(self.frame_count - 1)
        self._position_s = self.time_of(self.current)
        self._last_tick = time.monotonic()
        self._timer.start()
        if not was_playing:
            self.playingChanged.emit(True)

    def stop(self) -> None:
        if self.rate != 0.0:
            self.rate = 0.0
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play(1.0, loop=True)

    def shuttle(self, direction: int) -> None:
        """J (−1), K (0), L (+1): each press in the same direction doubles the speed, up to 8×."""
        if direction == 0:
            self.stop()
            return
        if self.playing and (self.rate > 0) == (direction > 0):
            speeds = [r for r in SHUTTLE_RATES if r > abs(self.rate)]
            speed = speeds[0] if speeds else SHUTTLE_RATES[-1]
        else:
            speed = 1.0
        self.play(direction * speed, loop=False)

    def _tick(self) -> None:
        now = time.monotonic()
        dt, self._last_tick = now - self._last_tick, now
        self._position_s += dt * self.rate
        start, end = float(self.times[0]), float(self.times[-1])
        if self._position_s > end or self._position_s < start:
            if not self._loop:
                self.set_current(self.frame_count - 1 if self.rate > 0 else 0)
                self.stop()
                return
            span = max(end - start, 1e-6)
            self._position_s = start + (self._position_s - start) % span
        self.set_current(self.nearest_index(self._position_s))
