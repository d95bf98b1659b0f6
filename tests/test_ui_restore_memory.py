"""Restored results keep only the latest few before/after pictures in memory; an older result's comparison is
redrawn on a worker when its frame is chosen again, equal to what was shown the first time. Nothing of a result
is drawn on the UI thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from livemoments_app.ui.imaging import rgb_from_qimage  # noqa: E402
from livemoments_app.ui.viewmodels.restore import KEEP_PICTURES  # noqa: E402
from tests.ui_fixtures import open_and_wait, scene, wait_restorers, window  # noqa: E402,F401 (fixtures)

pytestmark = pytest.mark.gui


def _restore(qtbot, ws, index: int) -> None:
    ws.timeline.set_current(index)
    ws.timeline.choose(index)
    with qtbot.waitSignal(ws.restore.resultReady, timeout=120000):
        ws.start_restore()
    qtbot.waitUntil(lambda: not ws.restore.running, timeout=10000)


def _pixels(picture) -> np.ndarray:
    return rgb_from_qimage(picture.levels[0])


def test_older_results_let_go_of_their_pictures_and_redraw_them_when_chosen(qtbot, window, scene):
    open_and_wait(qtbot, window, scene)
    ws = window.workspace
    wait_restorers(qtbot, ws)
    ws.restore.size_key = "half"
    frames = [2, 6, 10, 14, 18][:KEEP_PICTURES + 2]
    first_shown = {}
    for index in frames:
        _restore(qtbot, ws, index)
        assert ws.compare.available and ws.compare.frame_index == index
        first_shown[index] = (_pixels(ws.compare.before), _pixels(ws.compare.after))

    kept = [i for i in frames if ws.restore.results[i].before is not None]
    assert kept == frames[-KEEP_PICTURES:]
    assert all(ws.restore.results[i].after is None for i in frames[:-KEEP_PICTURES])
    assert all(ws.restore.results[i].key_overlay is None for i in frames[:-KEEP_PICTURES])
    assert all(ws.restore.results[i].image is not None for i in frames)      # export still has every result
    assert window.timeline_bar.filmstrip.restored == set(frames)

    # Choosing an evicted frame: no stale comparison meanwhile, then the same pictures as the first time.
    oldest = frames[0]
    with qtbot.waitSignal(ws.restore.picturesReady, timeout=30000):
        ws.timeline.choose(oldest)
        assert ws.compare.frame_index != oldest
    assert ws.compare.available and ws.compare.frame_index == oldest
    before, after = first_shown[oldest]
    assert np.array_equal(_pixels(ws.compare.before), before)
    assert np.array_equal(_pixels(ws.compare.after), after)
    assert ws.compare.key_overlay is not None and ws.compare.key_overlay is ws.restore.results[oldest].key_overlay
    # It is now among the latest shown; the least recently shown of the kept ones let go instead.
    assert ws.restore.results[oldest].before is not None
    assert ws.restore.results[frames[-KEEP_PICTURES]].before is None

    # A kept result is shown at once, without a redraw.
    ws.timeline.choose(frames[-1])
    assert ws.compare.available and ws.compare.frame_index == frames[-1]


def test_a_result_is_drawn_on_a_worker_and_the_export_is_prepared_meanwhile(qtbot, window, scene, monkeypatch):
    """The key-photo tint of a 12 MP result cost the UI thread 40-60 ms; the first export's imports and helper
    process 40-80 ms more (benchmarks/ui_latency.py). Both now happen on a worker when a result arrives."""
    from livemoments_app.ui.viewmodels import compare

    drawn_on = []
    real = compare.key_use_overlay

    def recording(*args):
        drawn_on.append(threading.current_thread() is threading.main_thread())
        return real(*args)

    monkeypatch.setattr(compare, "key_use_overlay", recording)
    open_and_wait(qtbot, window, scene)
    ws = window.workspace
    wait_restorers(qtbot, ws)
    ws.restore.size_key = "half"
    assert not ws.export.prepared
    _restore(qtbot, ws, 4)
    result = ws.restore.results[4]
    assert drawn_on == [False]
    assert ws.compare.key_overlay is result.key_overlay is not None
    assert ws.compare.key_share == pytest.approx(result.image.from_key_share)
    assert ws.export.prepared
    qtbot.waitUntil(lambda: not ws.lanes.work.active, timeout=30000)
