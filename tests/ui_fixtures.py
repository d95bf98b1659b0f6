"""The main-window fixture shared by the app tests: a fresh window with throwaway settings and a demo folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from livemoments_app.ui.app import create_application, create_window
from livemoments_app.ui.errors import reporter
from livemoments_app.ui.viewmodels.settings import SettingsModel


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture
def window(qtbot, tmp_path, demo_dir, monkeypatch):
    monkeypatch.setenv("LIVEMOMENTS_DEMO_DIR", str(demo_dir))
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
