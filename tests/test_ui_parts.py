"""GUI building blocks without the core: canvas geometry (pixel-exact at 100 %), workers, errors, timeline,
settings, the latency probe, and that starting the app does not import torch/diffusers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402

from livemoments_app.ui.errors import install_hooks, reporter, restore_hooks  # noqa: E402
from livemoments_app.ui.imaging import Picture, rgb_from_qimage  # noqa: E402
from livemoments_app.ui.latency import LatencyProbe  # noqa: E402
from livemoments_app.ui.viewmodels.settings import SettingsModel  # noqa: E402
from livemoments_app.ui.viewmodels.timeline import TimelineModel  # noqa: E402
from livemoments_app.ui.viewmodels.view import ViewState  # noqa: E402
from livemoments_app.ui.widgets.canvas import ImageCanvas  # noqa: E402
from livemoments_app.ui.workers import Lane, Latest  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.gui


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_canvas_at_100_percent_shows_exact_pixels(qtbot):
    image = _noise(300, 400)
    view = ViewState()
    canvas = ImageCanvas(view)
    qtbot.addWidget(canvas)
    canvas.resize(200, 160)
    canvas.set_picture(Picture(image))
    canvas.show()
    view.set_zoom(1.0, 0.5, 0.5)
    shot = rgb_from_qimage(canvas.grab().toImage())
    dpr = canvas.devicePixelRatioF()
    assert dpr == 1.0
    ox, oy = canvas.offset()
    # Every canvas pixel equals the image pixel under it: no smoothing, no half-pixel offset.
    expected = image[int(-oy): int(-oy) + 160, int(-ox): int(-ox) + 200]
    assert np.array_equal(shot, expected)


def _fitted_canvas(qtbot) -> tuple[ViewState, ImageCanvas]:
    """A 400 x 300 canvas showing a 1600 x 1200 picture at fit (zoom 0.25)."""
    view = ViewState()
    canvas = ImageCanvas(view)
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.set_picture(Picture(_noise(1200, 1600)))
    canvas.show()
    return view, canvas


def test_canvas_fit_zoom_and_zoom_about_cursor(qtbot):
    view, canvas = _fitted_canvas(qtbot)
    assert canvas.zoom() == pytest.approx(0.25)
    pos = QPointF(100, 80)
    before = canvas.image_point(pos)
    canvas.zoom_at(2.0, pos)
    assert not view.fit and canvas.zoom() == pytest.approx(0.5)
    after = canvas.image_point(pos)
    assert after == pytest.approx(before, abs=4.0)   # within the rounding of the offset to whole pixels
    view.set_fit()
    assert canvas.zoom() == pytest.approx(0.25)


def test_trackpad_pinch_zooms_about_the_fingers(qtbot):
    from PySide6.QtGui import QNativeGestureEvent, QPointingDevice
    from PySide6.QtWidgets import QApplication

    view, canvas = _fitted_canvas(qtbot)
    pos = QPointF(300, 200)
    under = canvas.image_point(pos)
    for value in (0.5, 0.5):          # two pinch-out steps of a macOS trackpad gesture: x1.5 each
        event = QNativeGestureEvent(Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(),
                                    2, pos, pos, canvas.mapToGlobal(pos), value, QPointF(), 0)
        assert QApplication.sendEvent(canvas, event)
    assert not view.fit and canvas.zoom() == pytest.approx(0.25 * 1.5 * 1.5)
    assert canvas.image_point(pos) == pytest.approx(under, abs=4.0)


def test_canvas_split_draws_before_left_and_after_right(qtbot):
    before = np.zeros((100, 100, 3), np.uint8)
    after = np.full((200, 200, 3), 255, np.uint8)     # another size: "before" is stretched onto "after"
    canvas = ImageCanvas(ViewState())
    qtbot.addWidget(canvas)
    canvas.resize(200, 200)
    canvas.set_picture(Picture(after))
    canvas.set_before(Picture(before))
    canvas.set_split(0.3)
    canvas.show()
    shot = rgb_from_qimage(canvas.grab().toImage())
    assert shot[150, 20].tolist() == [0, 0, 0]
    assert shot[150, 180].tolist() == [255, 255, 255]
    qtbot.mouseMove(canvas, QPointF(60, 100).toPoint())
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPointF(60, 100).toPoint())
    qtbot.mouseMove(canvas, QPointF(150, 100).toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPointF(150, 100).toPoint())
    assert canvas.split == pytest.approx(0.75, abs=0.02)


def test_picture_pyramid_levels():
    picture = Picture(_noise(1024, 2048))
    assert [lvl.width() for lvl in picture.levels] == [2048, 1024, 512]
    image, factor = picture.level_for(0.3)
    assert image.width() == 1024 and factor == 0.5
    assert picture.level_for(1.0)[0].width() == 2048


def test_job_progress_result_cancel_and_error(qtbot):
    lane = Lane("test", 1)
    reporter().history.clear()

    def slow(progress):
        for i in range(200):
            progress.set(i / 200, "working")
            time.sleep(0.005)
        return 42

    job = lane.run(slow, name="slow")
    fractions = []
    job.progressed.connect(lambda f, _t: fractions.append(f))
    with qtbot.waitSignal(job.succeeded, timeout=10000) as result:
        pass
    assert result.args == [42]
    assert fractions and fractions == sorted(fractions)

    job = lane.run(slow, name="slow")
    qtbot.waitUntil(lambda: job.fraction > 0.1, timeout=5000)
    t0 = time.monotonic()
    with qtbot.waitSignal(job.cancelled, timeout=2000):
        job.cancel()
    assert time.monotonic() - t0 < 1.0

    def broken(_progress):
        raise ValueError("boom")

    with qtbot.waitSignal(reporter().reported, timeout=5000) as reported:
        lane.run(broken, name="Breaking")
    report = reported.args[0]
    assert "boom" in report.message and "Breaking" in report.message
    assert "Traceback" in report.details
    assert lane.shutdown(2000)


def test_latest_runs_only_the_newest_request(qtbot):
    lane = Lane("latest", 1)
    latest = Latest(lane, "render")
    got = []
    latest.resultReady.connect(lambda key, value: got.append((key, value)))
    gate = threading.Event()

    def work(key):
        def run(_p):
            gate.wait(5)
            return key * 10
        return run

    for k in range(1, 6):
        latest.request(k, work(k))
    gate.set()
    qtbot.waitUntil(lambda: bool(got) and got[-1][0] == 5, timeout=5000)
    assert [k for k, _ in got] == [1, 5]           # 2..4 were superseded before they ever ran
    assert got[-1] == (5, 50)
    assert lane.shutdown(2000)


def test_exceptions_in_threads_reach_the_reporter(qtbot):
    old = install_hooks()
    try:
        with qtbot.waitSignal(reporter().reported, timeout=3000) as reported:
            t = threading.Thread(target=lambda: 1 / 0, name="stray")
            t.start()
            t.join()
        assert "ZeroDivisionError" in reported.args[0].message
        assert "stray" in reported.args[0].message
    finally:
        restore_hooks(old)


def test_timeline_steps_by_timestamps_and_shuttles(qtbot):
    tl = TimelineModel()
    times = np.array([0.0, 0.03, 0.07, 0.1, 0.2, 0.21, 0.3])   # variable frame rate
    tl.set_clip(times, key_index=4, key_time_s=0.2)
    assert tl.current == 4 and tl.chosen == -1
    tl.step(1)
    assert tl.current == 5
    tl.step(10)
    assert tl.current == 6
    tl.home()
    assert tl.current == 0
    assert tl.nearest_index(0.16) == 4 and tl.nearest_index(0.14) == 3
    tl.choose_current()
    assert tl.chosen == 0
    tl.shuttle(1)
    assert tl.rate == 1.0
    tl.shuttle(1)
    assert tl.rate == 2.0
    qtbot.waitUntil(lambda: not tl.playing, timeout=3000)   # shuttle stops at the end
    assert tl.current == 6
    tl.shuttle(-1)
    assert tl.rate == -1.0
    tl.shuttle(0)
    assert not tl.playing


def test_settings_persist(tmp_path):
    path = str(tmp_path / "settings.ini")
    s = SettingsModel(QSettings(path, QSettings.Format.IniFormat))
    s.theme = "light"
    s.device = "cuda"
    s.model_dirs = ["/models/a", "/models/b"]
    s.add_recent(tmp_path / "a.heic")
    s.add_recent(tmp_path / "b.heic")
    s.add_recent(tmp_path / "a.heic")
    s.qsettings.sync()
    again = SettingsModel(QSettings(path, QSettings.Format.IniFormat))
    assert again.theme == "light" and again.device == "cuda"
    assert again.model_dirs == ["/models/a", "/models/b"]
    assert [os.path.basename(p) for p in again.recent_files] == ["a.heic", "b.heic"]
    again.device = "nonsense"
    assert again.device == "auto"


def test_latency_probe_sees_a_blocked_ui_thread(qtbot):
    probe = LatencyProbe(10)
    probe.start()
    qtbot.wait(100)
    time.sleep(0.12)               # block the UI thread on purpose
    qtbot.wait(60)
    probe.stop()
    assert probe.max_ms > 80
    assert probe.over(50) >= 1


def test_starting_the_ui_does_not_import_torch_or_diffusers(tmp_path):
    code = (
        "import sys\n"
        "from livemoments_app.ui.app import create_application, create_window\n"
        "from PySide6.QtCore import QSettings\n"
        "from livemoments_app.ui.viewmodels.settings import SettingsModel\n"
        "app = create_application([])\n"
        f"w = create_window(SettingsModel(QSettings({str(tmp_path / 'settings.ini')!r}, "
        "QSettings.Format.IniFormat)))\n"
        "w.show()\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
        "w.workspace.shutdown()\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY=\n" in out.stdout, out.stdout


def test_signal_emit_keeps_reference_counts():
    """PySide6 6.12.0's SignalInstance.emit() dropped a reference to True on every call, so the app aborted after
    a few thousand signals (pyproject excludes that release); this guards against it coming back."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(object)

    emitter = Emitter()
    emitter.fired.connect(lambda _v: None)
    before = (sys.getrefcount(True), sys.getrefcount(None))
    for _ in range(200):
        emitter.fired.emit(None)
    assert (sys.getrefcount(True), sys.getrefcount(None)) == before


def test_exceptions_in_slots_reach_the_reporter(qtbot):
    from PySide6.QtCore import QTimer

    old = install_hooks()
    try:
        def broken_slot():
            raise RuntimeError("slot broke")

        with qtbot.waitSignal(reporter().reported, timeout=3000) as reported:
            QTimer.singleShot(0, broken_slot)
        assert "slot broke" in reported.args[0].message
        assert "broken_slot" in reported.args[0].details
    finally:
        restore_hooks(old)


def test_a_bound_icon_keeps_its_own_colour_across_a_theme_change(qtbot):
    """A queue row's warning icon is orange in both themes; before, a theme change re-tinted it as the plain
    text-coloured icon the button had been bound to earlier."""
    from PySide6.QtWidgets import QApplication, QToolButton

    from livemoments_app.ui import theme

    button = QToolButton()
    qtbot.addWidget(button)
    theme.bind_icon(button, "cancel")
    theme.bind_icon(button, "warning", "#e0a040")
    app = QApplication.instance()
    try:
        for name in ("light", "dark"):
            theme.apply_theme(app, name)
            assert button.icon().cacheKey() == theme.icon("warning", "#e0a040").cacheKey()
    finally:
        theme.apply_theme(app, "dark")
