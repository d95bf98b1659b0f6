"""The app end to end (pytest-qt, offscreen): open real samples, step with keys, choose a frame, alignment
overlays, restore with the classic restorer, cancel, compare, export; bad files; screenshots of each state
(under the test's tmp dir, and copied to /tmp/lm_screens for people to look at)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from livemoments_app.ui.errors import reporter  # noqa: E402
from livemoments_app.ui.imaging import rgb_from_qimage  # noqa: E402
from livemoments_app.ui.viewmodels.alignment import MODES  # noqa: E402
from tests.ui_fixtures import (open_and_wait, scene, screenshot, wait_restorers,  # noqa: E402,F401
                               window)  # (scene, window: pytest fixtures)
from tests.conftest import sample  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.samples]

DECODABLE = ["apple_iphone15pro_IMG_4394.HEIC", "apple_iphone6s_0FFBE909.jpeg",
             "samsung_s22_oneui6_motionphoto.heic", "libmphoto_heic_motionphoto_pixel4video.heic"]


def errors() -> list[str]:
    return [r.message for r in reporter().history]


def key(qtbot, win, k, times: int = 1) -> None:
    for _ in range(times):
        qtbot.keyClick(win, k)


@pytest.mark.parametrize("name", DECODABLE)
def test_open_every_decodable_sample(qtbot, window, tmp_path, name):
    path = sample(name)
    open_and_wait(qtbot, window, path)
    ws = window.workspace
    live = ws.document.live
    assert ws.timeline.frame_count == live.clip.frame_count > 1
    assert ws.timeline.current == ws.timeline.key_index == live.key_frame_index
    assert window.pages.currentIndex() == 1
    assert path.name in window.windowTitle()
    qtbot.waitUntil(lambda: len(ws.frames.thumbnails) >= 4, timeout=30000)   # the filmstrip is filling in
    # The frame on screen is the decoded key frame, not a placeholder.
    assert not ws.frames.picture.is_placeholder
    assert (ws.frames.picture.width, ws.frames.picture.height) == (live.clip.width, live.clip.height)
    assert errors() == []
    screenshot(window, tmp_path, f"open_{Path(name).stem}")


def test_keys_step_play_and_choose(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, sample("apple_iphone15pro_IMG_4394.HEIC"))
    ws = window.workspace
    tl = ws.timeline
    start = tl.current
    key(qtbot, window, Qt.Key.Key_Left, 3)
    assert tl.current == start - 3
    key(qtbot, window, Qt.Key.Key_Period)
    key(qtbot, window, Qt.Key.Key_Right)
    assert tl.current == start - 1
    key(qtbot, window, Qt.Key.Key_Comma)
    assert tl.current == start - 2
    key(qtbot, window, Qt.Key.Key_Home)
    assert tl.current == 0
    key(qtbot, window, Qt.Key.Key_End)
    assert tl.current == tl.frame_count - 1
    # Scrubbing never waits: the current index moves at once, the decoded frame follows.
    key(qtbot, window, Qt.Key.Key_Home)
    for _ in range(10):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    assert tl.current == 10
    qtbot.waitUntil(lambda: ws.frames.shown == 10, timeout=10000)
    key(qtbot, window, Qt.Key.Key_Return)
    assert tl.chosen == 10
    assert "Chosen: frame 11" in window.timeline_bar.legend_label.text()
    key(qtbot, window, Qt.Key.Key_Space)
    assert tl.playing
    qtbot.waitUntil(lambda: tl.current > 12, timeout=5000)
    key(qtbot, window, Qt.Key.Key_Space)
    assert not tl.playing
    key(qtbot, window, Qt.Key.Key_L)
    key(qtbot, window, Qt.Key.Key_L)
    assert tl.rate == 2.0
    key(qtbot, window, Qt.Key.Key_K)
    assert not tl.playing
    key(qtbot, window, Qt.Key.Key_J)
    assert tl.rate == -1.0
    key(qtbot, window, Qt.Key.Key_K)
    # Clicking the filmstrip moves the playhead to the frame under the mouse.
    strip = window.timeline_bar.filmstrip
    x = int(strip.x_of_index(5))
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.rect().center().__class__(x, strip.height() // 2))
    assert tl.current == 5
    assert errors() == []
    screenshot(window, tmp_path, "timeline_chosen")


def test_alignment_overlay_modes(qtbot, window, scene, tmp_path):
    open_and_wait(qtbot, window, scene)
    ws = window.workspace
    ws.timeline.step(-12)
    ws.timeline.choose_current()
    key(qtbot, window, Qt.Key.Key_2)
    assert ws.view == "alignment"
    qtbot.waitUntil(lambda: ws.alignment.target in ws.alignment.cache and not ws.alignment.busy, timeout=60000)
    assert "% of the frame aligned" in window.side_panel.overlay_panel.readout.text()
    shots = {}
    for mode, _label in MODES:
        with qtbot.waitSignal(ws.alignment.overlayReady, timeout=20000) if mode != ws.alignment.mode else _noop():
            window.side_panel.overlay_panel.mode_buttons[mode].click()
        if mode == "blend":
            qtbot.waitUntil(lambda: ws.alignment.picture is not None, timeout=20000)
        shots[mode] = rgb_from_qimage(ws.alignment.picture.levels[-1])
        screenshot(window, tmp_path, f"align_{mode}")
    frame = ws.frames.picture
    assert (ws.alignment.picture.width, ws.alignment.picture.height) == (frame.width, frame.height)
    names = [m for m, _ in MODES]
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            assert not np.array_equal(shots[names[a]], shots[names[b]]), (names[a], names[b])
    # The opacity slider re-blends.
    window.side_panel.overlay_panel.mode_buttons["blend"].click()
    qtbot.waitUntil(lambda: ws.alignment.mode == "blend" and not ws.alignment._renderer.busy, timeout=20000)
    with qtbot.waitSignal(ws.alignment.overlayReady, timeout=20000):
        window.side_panel.overlay_panel.opacity.setValue(100)
    assert errors() == []


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_restore_compare_and_export(qtbot, window, scene, tmp_path):
    open_and_wait(qtbot, window, scene)
    ws = window.workspace
    still = Path(ws.document.live.still_path)
    wait_restorers(qtbot, ws)
    ws.timeline.step(-12)
    key(qtbot, window, Qt.Key.Key_Return)
    chosen = ws.timeline.chosen
    assert window.side_panel.restore_panel.restore_button.isEnabled()
    with qtbot.waitSignal(ws.restore.resultReady, timeout=120000):
        window.side_panel.restore_panel.restore_button.click()
        qtbot.waitUntil(lambda: ws.restore.fraction > 0.0, timeout=60000)
        screenshot(window, tmp_path, "restore_running")
    result = ws.restore.results[chosen]
    assert ws.view == "compare" and ws.compare.available
    assert window.timeline_bar.filmstrip.restored == {chosen}
    after = result.image.pixels
    assert (result.after.width, result.after.height) == (after.shape[1], after.shape[0])
    assert (result.before.width, result.before.height) == (result.after.width, result.after.height)
    screenshot(window, tmp_path, "compare_split")
    # The safety net: a toggle tints the after-picture where its detail came from the key photo.
    compare = window.viewer.compare_view
    assert ws.compare.key_share == pytest.approx(result.image.from_key_share)
    assert ws.compare.key_share > 0.5 and "from the key photo" in compare.caption.text()
    assert compare.key_button.isEnabled() and not compare.key_button.isChecked()
    plain = rgb_from_qimage(compare.single.grab().toImage()).astype(int)
    compare.key_button.click()
    assert ws.compare.show_key_use and compare.single.overlay is ws.compare.key_overlay
    tinted = rgb_from_qimage(compare.single.grab().toImage()).astype(int)
    screenshot(window, tmp_path, "compare_key_use")
    h, w = plain.shape[:2]
    shift = (tinted - plain)[h // 4:3 * h // 4]
    # teal over the after-picture (right of the split line), nothing over the before-picture
    assert shift[:, w // 2 + 20:, 1].mean() > 10 and shift[:, w // 2 + 20:, 0].mean() < 0
    assert np.abs(shift[:, :w // 2 - 20]).max() == 0
    compare.key_button.click()
    assert compare.single.overlay is None
    # Zoom in, then switch modes: the zoom stays.
    window.actions.actual.trigger()
    zoom = ws.compare.view.zoom
    assert not ws.compare.view.fit and zoom == 1.0
    screenshot(window, tmp_path, "compare_split_100")
    compare.mode_buttons["side"].click()
    assert ws.compare.mode == "side" and ws.compare.view.zoom == zoom
    assert compare.left.zoom() == compare.right.zoom() == 1.0
    screenshot(window, tmp_path, "compare_side")
    key(qtbot, window, Qt.Key.Key_Backslash)
    assert ws.compare.mode == "flip" and ws.compare.showing_before
    assert compare.single.picture is ws.compare.before
    key(qtbot, window, Qt.Key.Key_Backslash)
    assert compare.single.picture is ws.compare.after
    window.actions.fit.trigger()
    screenshot(window, tmp_path, "compare_flip")
    # Results are kept per frame: choosing another frame and coming back shows the result again.
    ws.timeline.step(3)
    ws.timeline.choose_current()
    assert not ws.compare.available
    ws.timeline.choose(chosen)
    assert ws.compare.available and ws.compare.after is result.after

    out = tmp_path / "exports"
    out.mkdir()
    from livemoments_app.ui.viewmodels.export import ExportChoice
    before_files = sorted(os.listdir(still.parent))
    with qtbot.waitSignal(ws.export.exported, timeout=60000) as exported:
        ws.export.start(result.image, ws.document.live, chosen,
                        ExportChoice(folder=str(out), format="jpeg", quality=90, write_back=True))
    paths = exported.args[0].paths
    written = paths[0]
    # The still, then the new Motion Photo whose key photo is the chosen frame.
    assert len(paths) == 2 and all(p.parent == out and p.exists() for p in paths)
    from livemoments_app.core.livephoto import open_live_photo
    with open_live_photo(paths[1]) as rewritten:
        assert rewritten.key_frame_index == chosen
    assert written.parent == out and written.exists() and written.stat().st_size > 10000
    assert written.name.startswith(still.stem + "_LM")
    assert sorted(os.listdir(still.parent)) == before_files
    assert str(out) in window.side_panel.export_status.text()
    assert errors() == []


def test_export_dialog_options(qtbot, window, tmp_path):
    from livemoments_app.ui.widgets.export_dialog import ExportDialog

    dialog = ExportDialog(str(tmp_path), "IMG_1.HEIC", (4032, 3024), window, "heic")
    qtbot.addWidget(dialog)
    dialog.show()
    choice = dialog.choice()
    assert choice.format == "heic" and choice.keep_metadata and not choice.strip_location
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("png"))
    assert not dialog.quality.isEnabled()
    dialog.strip_location.setChecked(True)
    assert dialog.choice().strip_location
    dialog.keep_metadata.setChecked(False)
    assert not dialog.strip_location.isEnabled() and not dialog.choice().keep_metadata
    assert "IMG_1_LM.png" in dialog.where.text()
    dialog.folder_edit.setText(str(tmp_path / "missing"))
    assert not dialog.export_button.isEnabled()
    screenshot(dialog, tmp_path, "export_dialog")


def test_scrubbing_during_a_restore_then_cancel_midway(qtbot, window, scene):
    open_and_wait(qtbot, window, scene)
    ws = window.workspace
    wait_restorers(qtbot, ws)
    ws.timeline.step(-20)
    ws.timeline.choose_current()
    qtbot.waitUntil(lambda: ws.timeline.chosen in ws.alignment.cache, timeout=60000)
    job = ws.start_restore()
    assert job is not None
    qtbot.waitUntil(lambda: ws.restore.fraction > 0.0, timeout=60000)
    # Scrubbing never waits on the restore: the decoded frame arrives while the restore still runs.
    target = ws.timeline.current + 3
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: ws.frames.shown == target, timeout=5000)
    assert not job.done, "the restore finished before the test could cancel it"
    import time
    clicked = time.monotonic()
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        window.side_panel.restore_panel.cancel_button.click()
    assert job.ended_at - clicked < 1.0
    assert ws.timeline.chosen not in ws.restore.results
    assert not ws.restore.running and "Cancel" in ws.restore.status
    assert errors() == []


def test_bad_files_show_the_error_and_the_app_stays_usable(qtbot, window, tmp_path):
    junk = tmp_path / "not_a_photo.jpg"
    junk.write_bytes(b"this is not a JPEG at all" * 10)
    empty = tmp_path / "empty.heic"
    empty.write_bytes(b"")
    bad = [junk, empty, tmp_path / "missing.heic"]
    truncated = Path(str(sample("pixel4xl_motionphoto_v2_truncated.jpg")))
    bad.append(truncated)
    ws = window.workspace
    for path in bad:
        reporter().history.clear()
        with qtbot.waitSignal(ws.document.openFailed, timeout=30000):
            window.open_paths([str(path)])
        assert window.message_bar.isVisible()
        assert path.name in window.message_bar.message_label.text()
        assert errors()
    screenshot(window, tmp_path, "error_bar")
    window.message_bar.details_button.click()
    assert window.message_bar.details.isVisible()
    window.message_bar.copy_to_clipboard()
    from PySide6.QtWidgets import QApplication
    assert truncated.name in QApplication.clipboard().text()
    screenshot(window, tmp_path, "error_details")
    window.message_bar.dismiss()
    assert not window.message_bar.isVisible()
    reporter().history.clear()
    open_and_wait(qtbot, window, sample("apple_iphone6s_0FFBE909.jpeg"))
    assert errors() == []


def test_start_screen_and_recent_files(qtbot, window, tmp_path):
    screenshot(window, tmp_path, "start_screen")
    assert window.pages.currentIndex() == 0
    path = sample("libmphoto_heic_motionphoto_pixel4video.heic")
    open_and_wait(qtbot, window, path)
    assert window.settings.recent_files[0] == str(path)
    window.actions.close.trigger()
    assert window.pages.currentIndex() == 0
    assert window.start_screen.recent_box.isVisible()
    screenshot(window, tmp_path, "start_screen_recent")


def test_the_toolbar_fits_the_narrowest_window(qtbot, window):
    """At the minimum width the zoom and Best moments buttons drop their labels, so Export and Settings stay in
    sight rather than behind the toolbar's overflow arrow; a wide window shows every label."""
    from PySide6.QtWidgets import QToolButton

    bar = window.toolbar
    overflow = next(b for b in bar.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button")
    window.resize(window.minimumWidth(), 600)
    qtbot.waitUntil(lambda: window.width() == window.minimumWidth(), timeout=5000)
    qtbot.waitUntil(lambda: bar.widgetForAction(window.actions.settings).isVisible() and not overflow.isVisible(),
                    timeout=3000)
    assert bar.widgetForAction(window.actions.suggest).toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
    window.resize(1280, 820)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=5000)
    assert bar.widgetForAction(window.actions.suggest).toolButtonStyle() == \
        Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    qtbot.waitUntil(lambda: bar.widgetForAction(window.actions.settings).isVisible() and not overflow.isVisible(),
                    timeout=3000)


def test_diffusion_restorer_found_in_the_fixture_folder(qtbot, window, fixture_dir):
    """Settings › Models pointed at the tiny checkpoint: the weights are found, so what remains (on a machine
    without CUDA/MPS) is the device; without the folder the reason is the missing weights."""
    ws = window.workspace
    wait_restorers(qtbot, ws)
    before = ws.restore.info("livemoments")
    assert before is not None
    window.settings.model_dirs = [str(fixture_dir)]
    qtbot.waitUntil(lambda: not ws.restore.restorers_loading, timeout=60000)
    after = ws.restore.info("livemoments")
    from livemoments_app.core.restore import devices
    if devices.accelerator()[0] is None:
        assert not after.ok and after.reason.startswith("no CUDA/MPS device")
        combo = window.side_panel.restore_panel.restorer_combo
        item = combo.model().item(combo.findData("livemoments"))
        assert not item.isEnabled() and "no CUDA/MPS device" in item.toolTip()
    else:
        assert after.ok
    assert "weights not found" not in after.reason


def test_settings_dialog_theme_and_window_state(qtbot, window, scene, tmp_path):
    from livemoments_app.ui.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.settings, [("classic", "Classic"), ("livemoments", "LiveMoments")], window)
    qtbot.addWidget(dialog)
    dialog.show()
    screenshot(dialog, tmp_path, "settings_dialog")
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("light"))
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.folders.addItem(str(tmp_path))
    dialog.accept()
    assert window.settings.theme == "light" and window.settings.device == "cpu"
    assert window.settings.model_dirs == [str(tmp_path)]
    assert window.workspace.restore.device == "cpu"
    from PySide6.QtWidgets import QApplication
    assert QApplication.instance().palette().window().color().lightness() > 200
    open_and_wait(qtbot, window, scene)
    screenshot(window, tmp_path, "light_theme")
    window.settings.theme = "dark"
    window.resize(1100, 700)
    window.close()
    geometry, _state = window.settings.window_state()
    assert geometry is not None
    from livemoments_app.ui.main_window import MainWindow
    again = MainWindow(window.settings, reporter())
    qtbot.addWidget(again)
    # The offscreen platform's small virtual screen clamps the width; the height (820 by default) shows the
    # saved geometry came back.
    assert again.height() == 700


def test_drop_files_opens_them(qtbot, window):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    still = sample("apple_iphone6s_0FFBE909.jpeg")
    video = sample("apple_iphone6s_0FFBE909_3.mov")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video)), QUrl.fromLocalFile(str(still))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.workspace.document.opened, timeout=30000):
        window.dropEvent(event)
    assert window.workspace.document.path == str(still)
    assert window.workspace.document.partner == str(video)


@pytest.mark.slow
def test_diffusion_restore_with_the_tiny_checkpoint_cancels_within_a_step(qtbot, window, scene, fixture_dir,
                                                                            monkeypatch):
    """The LiveMoments restorer driven through the UI with the fixture's tiny random checkpoint. This machine has
    no CUDA/MPS device, so availability is overridden to let the (slow, CPU) run go; what is checked is the UI's
    part: step progress reaches the panel and Cancel stops the run within one diffusion step."""
    from livemoments_app.core.restore.base import Availability
    from livemoments_app.core.restore.livemoments import restorer as lm_restorer

    monkeypatch.setattr(lm_restorer.LiveMomentsRestorer, "availability",
                        lambda self, options=None: Availability(True, "test: CPU allowed"))
    open_and_wait(qtbot, window, scene)
    ws = window.workspace
    window.settings.model_dirs = [str(fixture_dir)]
    window.settings.device = "cpu"
    qtbot.waitUntil(lambda: not ws.restore.restorers_loading and bool(ws.restore.restorers), timeout=60000)
    assert ws.restore.info("livemoments").ok
    ws.restore.select("livemoments")
    ws.restore.size_key = "half"
    ws.timeline.step(-10)
    ws.timeline.choose_current()
    qtbot.waitUntil(lambda: ws.timeline.chosen in ws.alignment.cache, timeout=60000)
    job = ws.start_restore()
    assert job is not None
    steps = []
    job.progressed.connect(lambda f, text: steps.append((time_now(), text)) if "step" in text else None)
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=240000)
    step_s = steps[1][0] - steps[0][0]
    assert "step" in window.side_panel.restore_panel.status.text()
    clicked = time_now()
    with qtbot.waitSignal(job.cancelled, timeout=120000):
        window.side_panel.restore_panel.cancel_button.click()
    assert job.ended_at - clicked <= step_s * 1.5 + 0.5
    assert ws.timeline.chosen not in ws.restore.results
    assert errors() == []


def time_now() -> float:
    import time
    return time.monotonic()
