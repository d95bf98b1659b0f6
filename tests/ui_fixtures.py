"""What the app tests share: a fresh main window with throwaway settings, a small synthetic Live Photo (the
"scene": fast to open, align and restore), and helpers that open a photo and wait for it, pick the classic
restorer, and keep screenshots. The app's own demo (a real 12 MP iPhone Live Photo) has its own tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from livemoments_app.ui.app import create_application, create_window
from livemoments_app.ui.errors import reporter
from livemoments_app.ui.viewmodels.settings import SettingsModel

SCREENS = Path(os.environ.get("LIVEMOMENTS_SCREENS", "/tmp/lm_screens"))


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    """A synthetic Motion Photo (2000 x 1500 still, 800 x 600 clip of 60 frames, key frame 36)."""
    from tests.support.synth import make_scene_live_photo

    return make_scene_live_photo(tmp_path_factory.mktemp("scene"))


@pytest.fixture
def window(qtbot, tmp_path):
    create_application([])
    reporter().history.clear()
    win = create_window(SettingsModel(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)),
                        theme_name="dark")
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def screenshot(widget, tmp_path: Path, name: str) -> Path:
    """``widget`` as a user sees it: layouts a change has requested are done first (grab() does not run them, and
    a section just shown came out with its rows squeezed into one line)."""
    from PySide6.QtWidgets import QApplication

    QApplication.sendPostedEvents()
    QApplication.processEvents()
    path = tmp_path / f"{name}.png"
    widget.grab().save(str(path))
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENS / path.name)
    return path


def open_and_wait(qtbot, win, path: Path, partner: Path | None = None, timeout: int = 30000) -> None:
    ws = win.workspace
    with qtbot.waitSignal(ws.document.opened, timeout=timeout):
        win.open_paths([str(path)] + ([str(partner)] if partner else []))
    qtbot.waitUntil(lambda: ws.frames.shown == ws.timeline.current, timeout=timeout)


def open_demo(qtbot, win, timeout: int = 60000) -> None:
    """Opens the app's demo (resources/demo) as File › Try the Demo does."""
    ws = win.workspace
    with qtbot.waitSignal(ws.document.opened, timeout=timeout):
        win.open_demo()
    qtbot.waitUntil(lambda: ws.frames.shown == ws.timeline.current, timeout=timeout)


def wait_restorers(qtbot, ws) -> None:
    qtbot.waitUntil(lambda: not ws.restore.restorers_loading and bool(ws.restore.restorers), timeout=30000)
    info = ws.restore.info("classic")
    assert info is not None and info.ok
    ws.restore.select("classic")
