"""Suggested moments in the app: scored in the background after opening, numbered badges on the filmstrip with the
reasons as tooltip, S and the toolbar button step through them, the side panel lists the best 3 moments other than
the key photo (and the key photo's score) and a click chooses one; another photo cancels the scoring of the last."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402

from livemoments_app.ui.errors import reporter  # noqa: E402
from tests.ui_fixtures import open_and_wait, scene, screenshot, window  # noqa: E402,F401

pytestmark = pytest.mark.gui


def _scored(qtbot, ws, timeout: int = 60000) -> None:
    qtbot.waitUntil(lambda: len(ws.moments.top) == 3 and not ws.moments.busy, timeout=timeout)


def test_suggestions_marked_jumped_to_and_chosen(qtbot, window, scene, tmp_path):
    ws = window.workspace
    open_and_wait(qtbot, window, scene)
    _scored(qtbot, ws)
    top = ws.moments.top
    assert ws.moments.suggestions.frames[ws.timeline.key_index].is_key
    # other moments than the key photo's: it is on the filmstrip already, and the photo opens on it
    assert [f.index for f in top] == [f.index for f in ws.moments.suggestions.top(3, key=False)]
    assert ws.timeline.key_index not in [f.index for f in top]
    # the filmstrip: a badge on each suggestion, its reasons as the tooltip; elsewhere the plain frame tooltip
    strip = window.timeline_bar.filmstrip
    for rank, f in enumerate(top, 1):
        x = strip.x_of_index(f.index)
        assert strip.suggestion_at(x) == f.index or ws.moments.rank_of(strip.suggestion_at(x)) < rank
        tip = strip.tooltip_at(x)
        if strip.suggestion_at(x) == f.index:
            assert tip.startswith(f"Suggestion {rank} · frame {f.index + 1}") and f.reasons[0] in tip
    far = next(i for i in range(ws.timeline.frame_count)
               if all(abs(strip.x_of_index(i) - strip.x_of_index(f.index)) > 12 for f in top))
    assert strip.suggestion_at(strip.x_of_index(far)) == -1
    assert strip.tooltip_at(strip.x_of_index(far)).startswith(f"Frame {far + 1} ·")
    # S steps through the suggestions in rank order and wraps (from a frame that is none of them: the best first;
    # from a suggestion: the next one); the toolbar button does the same
    ws.timeline.set_current(far)
    assert window.actions.suggest.isEnabled()
    assert window.actions.suggest in window.toolbar.actions()
    window.activateWindow()
    seen = []
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key.Key_S)
        seen.append(ws.timeline.current)
    assert seen == [top[0].index, top[1].index, top[2].index, top[0].index]
    window.actions.suggest.trigger()
    assert ws.timeline.current == top[1].index
    # the side panel lists the three with their reasons; a click makes that frame the chosen one
    panel = window.side_panel.suggestions_panel
    rows = [r for r in panel.rows if r.isVisible()]
    assert [r.index for r in rows] == [f.index for f in top]
    key = ws.moments.suggestions.frames[ws.timeline.key_index]
    assert panel.status.isVisible() and panel.status.text().startswith(f"Key photo: {key.score * 100:.0f}/100")
    assert key.reasons[0] in panel.status.toolTip()
    assert f"Frame {top[2].index + 1}" in rows[2].text.text()
    assert rows[2].reasons[0].toolTip().startswith("Suggestion 3") and top[2].reasons[0] in rows[2].toolTip()
    assert rows[2].thumb.pixmap() is not None and not rows[2].thumb.pixmap().isNull()
    qtbot.mouseClick(rows[2], Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert ws.timeline.chosen == top[2].index and ws.timeline.current == top[2].index
    assert "chosen" in rows[2].text.text()
    # the Moment view shows Best moments in place of the alignment controls, and the panel still fits 1280 x 800
    from PySide6.QtWidgets import QScrollArea

    side = window.side_panel
    assert panel.isVisible() and not side.overlay_panel.isVisible()
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: side.findChild(QScrollArea).verticalScrollBar().maximum() == 0, timeout=5000)
    ws.set_view("alignment")
    qtbot.waitUntil(lambda: side.overlay_panel.isVisible() and not panel.isVisible(), timeout=5000)
    ws.set_view("moment")
    qtbot.waitUntil(lambda: panel.isVisible() and not side.overlay_panel.isVisible(), timeout=5000)
    assert [e for e in reporter().history] == []
    screenshot(window, tmp_path, "suggestions")
    # a theme chosen while the app runs restyles the rows (their borders are in the theme's colours)
    from PySide6.QtWidgets import QApplication

    from livemoments_app.ui import theme

    try:
        theme.apply_theme(QApplication.instance(), "light")
        qtbot.waitUntil(lambda: theme.colours()["border"] in rows[0].styleSheet(), timeout=5000)
        assert theme.colours()["highlight"] in rows[2].styleSheet()     # the chosen row
    finally:
        theme.apply_theme(QApplication.instance(), "dark")
    qtbot.waitUntil(lambda: theme.colours()["border"] in rows[0].styleSheet(), timeout=5000)


def test_another_photo_cancels_the_scoring_of_the_last(qtbot, window, scene, tmp_path):
    ws = window.workspace
    other = tmp_path / "other"
    shutil.copytree(scene.parent, other)
    open_and_wait(qtbot, window, scene)
    qtbot.waitUntil(lambda: ws.moments.busy, timeout=60000)
    first = ws.moments._job
    open_and_wait(qtbot, window, other / scene.name)
    assert first.is_cancelled
    _scored(qtbot, ws)
    assert ws.moments.live is ws.document.live
    assert ws.moments.suggestions.key_index == ws.document.live.key_frame_index
    assert [e for e in reporter().history] == []
