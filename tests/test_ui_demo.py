"""The app's demo: the real iPhone 15 Pro Live Photo in resources/demo opens from the start screen on a frame
before the key photo with a hint, restores with Ctrl+R, and is never written to."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from livemoments_app.resources import demo_paths, resources_dir  # noqa: E402
from livemoments_app.ui.errors import reporter  # noqa: E402
from tests.ui_fixtures import screenshot, wait_restorers, window  # noqa: E402,F401 (pytest fixtures)

pytestmark = pytest.mark.gui


def _digests() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((resources_dir() / "demo").iterdir())}


def test_the_demo_is_the_real_iphone_pair_with_its_licence():
    still, video = demo_paths()
    assert still.name == "IMG_4394.HEIC" and video.name == "IMG_4394.MOV"
    assert still.read_bytes()[4:12] == b"ftypheic"
    licence = (resources_dir() / "demo" / "LICENSE.txt").read_text()
    assert "MIT License" in licence and "Rhet Turnbull" in licence and "osxphotos" in licence
    shared = Path(__file__).resolve().parents[2] / "shared" / "samples"
    if shared.is_dir():             # byte for byte the sample it was copied from
        assert still.read_bytes() == (shared / "apple_iphone15pro_IMG_4394.HEIC").read_bytes()
        assert video.read_bytes() == (shared / "apple_iphone15pro_IMG_4394.mov").read_bytes()


def test_try_the_demo_opens_the_real_live_photo_and_restores_the_chosen_frame(qtbot, window, tmp_path):
    before = _digests()
    ws = window.workspace
    with qtbot.waitSignal(ws.document.opened, timeout=60000):
        window.start_screen.demo_button.click()
    live = ws.document.live
    assert Path(live.still_path) == demo_paths()[0] and Path(live.video_path) == demo_paths()[1]
    assert live.clip.frame_count == 53 and live.key_frame_index == 37
    # A frame a little before the key photo is chosen and shown; the hint says what to do.
    chosen = ws.timeline.chosen
    assert 0 <= chosen < live.key_frame_index and ws.timeline.current == chosen
    assert 0.3 <= live.key_time_s - float(live.clip.times[chosen]) <= 0.7
    hint = window.side_panel.hint
    assert hint.isVisible() and f"Frame {chosen + 1}" in hint.text() and "Ctrl+R" in hint.text()
    qtbot.waitUntil(lambda: ws.frames.shown == chosen, timeout=30000)
    screenshot(window, tmp_path, "demo_opened")

    wait_restorers(qtbot, ws)
    with qtbot.waitSignal(ws.restore.resultReady, timeout=180000):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    result = ws.restore.results[chosen]
    assert result.image.pixels.shape[:2] == (live.still.height, live.still.width)
    assert ws.view == "compare" and not hint.isVisible()
    qtbot.wait(300)
    screenshot(window, tmp_path, "demo_restored")
    assert reporter().history == []
    # Read-only like any user file: nothing changed or was added next to it.
    assert _digests() == before


def test_export_of_the_demo_defaults_to_the_users_folder_not_the_apps(tmp_path):
    from livemoments_app.ui.viewmodels.export import default_folder

    still, _video = demo_paths()
    assert os.access(still.parent, os.W_OK)         # a checkout: writable, and still not offered
    assert default_folder(os.fspath(still), str(tmp_path)) == str(tmp_path)
    mine = tmp_path / "photos" / "IMG_1.HEIC"
    mine.parent.mkdir()
    mine.write_bytes(b"")
    assert default_folder(os.fspath(mine), "/elsewhere") == str(mine.parent)
