"""An estimated key moment that several frames match about equally well is shown as a guess, in plain words."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QTextDocument  # noqa: E402

from tests.support import synth  # noqa: E402
from tests.test_livephoto_estimate import phone_like_pair  # noqa: E402
from tests.ui_fixtures import screenshot, window  # noqa: E402, F401  (fixtures)

pytestmark = [pytest.mark.gui]


def _open_pair(qtbot, win, directory, moving: bool):
    frames, still = phone_like_pair(15, moving=moving)
    still_path, _ = synth.write_apple_pair(directory, frames=frames, still=still, key_index=15,
                                           still_image_time=False, still_format="jpeg")
    with qtbot.waitSignal(win.workspace.document.opened, timeout=60000) as blocker:
        win.open_paths([str(still_path)])
    return blocker.args[0]


def test_uncertain_key_moment_is_called_a_guess(qtbot, window, tmp_path):  # noqa: F811
    live = _open_pair(qtbot, window, tmp_path / "static", moving=False)
    assert live.key_time_estimated and live.details["key_time_estimate"]["confident"] is False
    legend = window.timeline_bar.legend_label
    assert "estimated — uncertain" in legend.text()
    assert "guess" in legend.toolTip()
    facts = window.side_panel.info.text()
    assert "Key moment estimated — uncertain" in facts and "guess" in facts
    ws = window.workspace
    qtbot.waitUntil(lambda: ws.frames.shown == ws.timeline.current, timeout=30000)
    screenshot(window, tmp_path, "key_moment_uncertain")
    # At the narrowest window the warning stays whole; the "Press Enter" hint gives way instead.
    window.resize(window.minimumWidth(), 700)
    qtbot.waitUntil(lambda: window.width() == window.minimumWidth())
    assert "estimated — uncertain" in legend.text() and "Press Enter" not in legend.text()
    doc = QTextDocument()
    doc.setDefaultFont(legend.font())
    doc.setDocumentMargin(0)
    doc.setHtml(legend.text())
    assert doc.idealWidth() <= legend.width()
    screenshot(window, tmp_path, "key_moment_uncertain_narrow")


def test_confident_estimate_is_not_called_uncertain(qtbot, window, tmp_path):  # noqa: F811
    live = _open_pair(qtbot, window, tmp_path / "moving", moving=True)
    assert live.key_time_estimated and live.details["key_time_estimate"]["confident"] is True
    legend = window.timeline_bar.legend_label
    assert "estimated)" in legend.text() and "uncertain" not in legend.text()
    facts = window.side_panel.info.text()
    assert "uncertain" not in facts and "estimated by matching" in facts
