"""The filmstrip draws its thumbnails and ticks once per change of them, not on every step of the playhead (5-7 ms
of the UI thread per frame shown while scrubbing), and what it shows is the same either way."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from livemoments_app.ui.imaging import rgb_from_qimage  # noqa: E402
from tests.ui_fixtures import open_demo, window  # noqa: E402,F401  (window: a pytest fixture)

pytestmark = pytest.mark.gui


def _shown(strip) -> np.ndarray:
    strip.repaint()
    return rgb_from_qimage(strip.grab().toImage())


def test_scrubbing_redraws_the_playhead_not_the_thumbnails(qtbot, window, monkeypatch):  # noqa: F811
    open_demo(qtbot, window)
    ws = window.workspace
    strip = window.timeline_bar.filmstrip
    qtbot.waitUntil(lambda: len(ws.frames.thumbnails) == ws.timeline.frame_count, timeout=60000)
    first = _shown(strip)
    renders = []
    real = strip._render_strip
    monkeypatch.setattr(strip, "_render_strip", lambda ratio: renders.append(ratio) or real(ratio))

    for _ in range(10):
        ws.timeline.step(-1)
        moved = _shown(strip)
    assert renders == []                           # ten steps, no thumbnail drawn
    assert not np.array_equal(moved, first)        # but the playhead did move on screen

    # Drawn afresh, the strip looks exactly as the kept one does.
    strip._strip_changed()
    assert np.array_equal(_shown(strip), moved) and len(renders) == 1

    # A thumbnail that arrives, a new size and another theme each draw it again.
    index = next(iter(ws.frames.thumbnails))
    ws.frames.thumbnailReady.emit(index, ws.frames.thumbnails[index])
    _shown(strip)
    assert len(renders) == 2
    strip.resize(strip.width() - 40, strip.height())
    _shown(strip)
    assert len(renders) == 3
    palette = strip.palette()
    palette.setColor(strip.backgroundRole(), palette.color(strip.backgroundRole()).lighter(160))
    strip.setPalette(palette)
    _shown(strip)
    assert len(renders) == 4
