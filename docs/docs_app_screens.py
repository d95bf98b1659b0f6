"""Screenshots of the running app for the docs (used by docs/make_images.py; offscreen Qt, QWidget.grab()).

Drives the real window the way a user would: open the iPhone sample, pick a moment, look at the alignment,
restore with the classic restorer and compare before/after.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def _wait(app, done, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):          # let repaints that the last signal queued run
        app.processEvents()
        time.sleep(0.01)


def _grab(window) -> np.ndarray:
    from livemoments_app.ui.imaging import rgb_from_qimage

    return rgb_from_qimage(window.grab().toImage())


def suggestion_screenshots(app, window, save_png) -> None:
    """The suggested moments: the window after S (the playhead on suggestion 1, badges on the filmstrip), and a
    close-up of the filmstrip above the side panel's Best moments section. Leaves the playhead where it was."""
    from PySide6.QtGui import QImage, QPainter

    ws = window.workspace
    _wait(app, lambda: bool(ws.moments.top), 120, "the suggested moments")
    before = ws.timeline.current
    ws.timeline.set_current(next(i for i in range(ws.timeline.frame_count) if not ws.moments.rank_of(i)))
    window.actions.suggest.trigger()
    _wait(app, lambda: ws.frames.shown == ws.timeline.current, 60, "the suggested frame")
    save_png(_grab(window), "suggestions.png", max_width=1280)
    # the part of the filmstrip around the badges, above the panel's section
    film = window.timeline_bar.filmstrip
    xs = [film.x_of_index(f.index) for f in ws.moments.top]
    panel = window.side_panel.suggestions_panel.grab().toImage()
    width = max(panel.width() * 2, int(max(xs) - min(xs)) + 240)
    x0 = int(min(max(0, (min(xs) + max(xs)) / 2 - width / 2), max(0, film.width() - width)))
    strip = film.grab().toImage().copy(x0, 0, min(width, film.width()), film.height())
    gap = 12
    w = max(strip.width(), panel.width())
    out = QImage(w, strip.height() + gap + panel.height() + 8, QImage.Format.Format_RGB32)
    out.fill(window.palette().color(window.backgroundRole()))
    painter = QPainter(out)
    painter.drawImage(0, 0, strip)
    painter.drawImage((w - panel.width()) // 2, strip.height() + gap, panel)
    painter.end()
    from livemoments_app.ui.imaging import rgb_from_qimage

    save_png(rgb_from_qimage(out), "suggestions-detail.png", max_width=1280)
    ws.timeline.set_current(before)


def app_screenshots(save_png) -> None:
    """The README's and the user guide's screens: the app's own demo as a new user first sees it (File › Try the
    Demo: the real iPhone Live Photo on its pre-chosen frame, with the hint), then restored and compared."""
    from PySide6.QtCore import QSettings

    from livemoments_app.ui.app import create_application, create_window
    from livemoments_app.ui.viewmodels.settings import SettingsModel

    app = create_application([])
    settings_file = Path(tempfile.mkdtemp()) / "settings.ini"   # a clean profile, not the user's
    settings = SettingsModel(QSettings(str(settings_file), QSettings.Format.IniFormat))
    window = create_window(settings, theme_name="dark")
    window.resize(1280, 800)
    window.show()
    ws = window.workspace
    _wait(app, lambda: True, 1, "the start screen")
    save_png(_grab(window), "start-screen.png", max_width=960)

    done = {"thumbs": False}
    ws.frames.thumbnailsDone.connect(lambda: done.__setitem__("thumbs", True))
    window.start_screen.demo_button.click()
    _wait(app, lambda: ws.document.is_open, 120, "the demo to open")
    _wait(app, lambda: done["thumbs"], 120, "the filmstrip")
    index = ws.timeline.chosen          # the demo's pre-chosen frame
    _wait(app, lambda: index in ws.alignment.cache, 180, "the alignment")
    _wait(app, lambda: ws.restore.info("classic") is not None, 60, "the restorer list")
    _wait(app, lambda: bool(ws.moments.top), 120, "the suggested moments")
    save_png(_grab(window), "main-window.png", max_width=1280)
    suggestion_screenshots(app, window, save_png)

    ws.set_view("alignment")
    ws.alignment.set_mode("checkerboard")
    rendered = {"overlay": False}
    ws.alignment.overlayReady.connect(lambda _p: rendered.__setitem__("overlay", True))
    _wait(app, lambda: rendered["overlay"], 60, "the checkerboard overlay")
    save_png(_grab(window), "alignment-view.png", max_width=1280)

    ws.restore.select("classic")
    ws.start_restore()
    _wait(app, lambda: ws.compare.available and ws.view == "compare", 300, "the restored picture")
    save_png(_grab(window), "compare-view.png", max_width=1280)
    # 100 % on the white wall and the bricks: the detail the restorer brings back from the key photo.
    ws.compare.view.set_zoom(1.0, 0.27, 0.07)
    _wait(app, lambda: True, 1, "repaint")
    save_png(_grab(window), "compare-100.png", max_width=1280)
    # The safety net: side by side, the after-picture tinted where its detail came from the key photo.
    ws.compare.set_mode("side")
    ws.compare.view.set_fit()
    ws.compare.set_show_key_use(True)
    _wait(app, lambda: True, 1, "repaint")
    save_png(_grab(window), "compare-key-use.png", max_width=1280)
    ws.compare.set_show_key_use(False)

    window.close()


def hdr_screenshots(sample: Path, frame_time_s: float, save_png) -> None:
    """The compare view's HDR overlay of the restored iPhone photo, and the export dialog of an HDR result."""
    from PySide6.QtCore import QSettings

    from livemoments_app.ui import hdr_text
    from livemoments_app.ui.app import create_application, create_window
    from livemoments_app.ui.viewmodels.settings import SettingsModel
    from livemoments_app.ui.widgets.export_dialog import ExportDialog

    app = create_application([])
    settings = SettingsModel(QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat))
    window = create_window(settings, theme_name="dark")
    window.resize(1280, 800)
    window.show()
    ws = window.workspace
    window.open_paths([str(sample)])
    _wait(app, lambda: ws.document.is_open, 120, "the sample to open")
    index = ws.timeline.nearest_index(frame_time_s)
    ws.timeline.set_current(index)
    ws.timeline.choose(index)
    _wait(app, lambda: index in ws.alignment.cache, 180, "the alignment")
    _wait(app, lambda: ws.restore.info("classic") is not None, 60, "the restorer list")
    ws.restore.select("classic")
    ws.start_restore()
    _wait(app, lambda: ws.compare.available and ws.view == "compare", 300, "the restored picture")
    ws.compare.set_split(0.35)
    ws.compare.set_show_hdr(True)
    _wait(app, lambda: ws.compare.showing_hdr, 120, "the HDR overlay")
    save_png(_grab(window), "compare-hdr.png", max_width=1280)

    image = ws.current_result().image
    dialog = ExportDialog(tempfile.gettempdir(), sample.name, (image.pixels.shape[1], image.pixels.shape[0]), window,
                          "heic", True, hdr=hdr_text.describe(image.gain_map))
    dialog.show()
    _wait(app, lambda: True, 1, "the dialog")
    save_png(_grab(dialog), "export-hdr.png")
    dialog.close()
    window.close()
