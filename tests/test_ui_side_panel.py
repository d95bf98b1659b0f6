"""The side panel fits a 1280 × 800 window: Restore and Export are in sight without scrolling, also while a
restore runs, and stay pinned in sight in shorter windows; the restorers' "unavailable" reasons take one short line with the full text in a tooltip."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from tests.conftest import sample  # noqa: E402
from tests.ui_fixtures import (open_and_wait, screenshot, wait_restorers,  # noqa: E402, F401  (fixtures)
                               window)

pytestmark = [pytest.mark.gui, pytest.mark.samples]


def scroll_range(panel) -> int:
    from PySide6.QtWidgets import QScrollArea

    return panel.findChild(QScrollArea).verticalScrollBar().maximum()


def fully_visible(widget) -> bool:
    """Shown and not cut off by the panel's scroll area (or anything else)."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def test_restore_and_export_in_sight_at_1280x800(qtbot, window, tmp_path):  # noqa: F811
    window.resize(1280, 800)
    ws = window.workspace
    open_and_wait(qtbot, window, sample("apple_iphone6s_0FFBE909.jpeg"))
    wait_restorers(qtbot, ws)
    ws.timeline.step(-5)
    ws.timeline.choose_current()
    qtbot.waitUntil(lambda: ws.alignment.target in ws.alignment.cache and not ws.alignment.busy, timeout=60000)
    panel = window.side_panel
    restore = panel.restore_panel
    assert window.height() == 800
    assert scroll_range(panel) == 0
    assert fully_visible(restore.restore_button) and restore.restore_button.isEnabled()
    assert fully_visible(panel.export_button)
    screenshot(window, tmp_path, "panel_1280x800_ready")

    unavailable = [r for r in ws.restore.restorers if not r.ok]
    if unavailable:
        reason = restore.reason
        assert fully_visible(reason)
        assert reason.height() < 2 * reason.fontMetrics().height()       # one line
        for info in unavailable:
            assert info.reason in reason.toolTip()

    ws.start_restore()
    qtbot.waitUntil(lambda: ws.restore.running and ws.restore.fraction > 0, timeout=30000)
    assert scroll_range(panel) == 0
    for widget in (restore.restore_button, restore.cancel_button, restore.progress, restore.timing,
                   panel.export_button):
        assert fully_visible(widget)
    screenshot(window, tmp_path, "panel_1280x800_restoring")
    restore.cancel_button.click()
    qtbot.waitUntil(lambda: not ws.restore.running, timeout=10000)


def test_restore_and_export_stay_in_sight_in_a_short_window(qtbot, window, tmp_path):  # noqa: F811
    """Below laptop height the sections scroll, but Restore (with its progress) and Export are pinned under them."""
    window.resize(1280, 640)
    ws = window.workspace
    open_and_wait(qtbot, window, sample("apple_iphone6s_0FFBE909.jpeg"))
    wait_restorers(qtbot, ws)
    ws.timeline.choose_current()
    ws.set_view("alignment")        # its controls make the tallest panel (the Moment view shows Best moments instead)
    panel = window.side_panel
    restore = panel.restore_panel
    qtbot.waitUntil(lambda: scroll_range(panel) > 0, timeout=5000)     # laid out on the next turn after the switch
    assert fully_visible(restore.restore_button) and fully_visible(panel.export_button)
    screenshot(window, tmp_path, "panel_1280x640")
    ws.start_restore()
    qtbot.waitUntil(lambda: ws.restore.running and ws.restore.fraction > 0, timeout=60000)
    for widget in (restore.cancel_button, restore.progress, restore.timing, panel.export_button):
        assert fully_visible(widget)
    restore.cancel_button.click()
    qtbot.waitUntil(lambda: not ws.restore.running, timeout=10000)
