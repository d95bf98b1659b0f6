"""User settings, persisted with QSettings: model folders, default restorer, device, theme, recent files."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QSettings, Signal

THEMES = ("system", "dark", "light")
DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_RECENT = 10


def _as_list(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class SettingsModel(QObject):
    changed = Signal(str)          # the key that changed
    themeChanged = Signal(str)
    recentChanged = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.qsettings = settings if settings is not None else QSettings()

    def _set(self, key: str, value) -> None:
        # No sync() here: QSettings writes back by itself (and on exit); a sync is a disk write on the UI thread.
        self.qsettings.setValue(key, value)
        self.changed.emit(key)

    # Models --------------------------------------------------------------------------------------------------
    @property
    def model_dirs(self) -> list[str]:
        return _as_list(self.qsettings.value("models/folders", []))

    @model_dirs.setter
    def model_dirs(self, folders: list[str]) -> None:
        self._set("models/folders", [os.fspath(f) for f in folders if f])

    # Restoring -----------------------------------------------------------------------------------------------
    @property
    def default_restorer(self) -> str:
        return str(self.qsettings.value("restore/default", "classic"))

    @default_restorer.setter
    def default_restorer(self, name: str) -> None:
        self._set("restore/default", name)

    @property
    def device(self) -> str:
        value = str(self.qsettings.value("restore/device", "auto"))
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self._set("restore/device", value if value in DEVICES else "auto")

    # Appearance ----------------------------------------------------------------------------------------------
    @property
    def theme(self) -> str:
        value = str(self.qsettings.value("appearance/theme", "dark"))
        return value if value in THEMES else "dark"

    @theme.setter
    def theme(self, value: str) -> None:
        self._set("appearance/theme", value if value in THEMES else "dark")
        self.themeChanged.emit(self.theme)

    # Recent files --------------------------------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        return _as_list(self.qsettings.value("files/recent", []))

    def add_recent(self, path: str | os.PathLike) -> None:
        path = os.path.abspath(os.fspath(path))
        items = [p for p in self.recent_files if p != path]
        self._set("files/recent", [path, *items][:MAX_RECENT])
        self.recentChanged.emit()

    def clear_recent(self) -> None:
        self._set("files/recent", [])
        self.recentChanged.emit()

    @property
    def last_dir(self) -> str:
        return str(self.qsettings.value("files/last_dir", os.path.expanduser("~")))

    @last_dir.setter
    def last_dir(self, value: str) -> None:
        self._set("files/last_dir", value)

    # Window --------------------------------------------------------------------------------------------------
    def window_state(self) -> tuple[bytes | None, bytes | None]:
        return self.qsettings.value("window/geometry"), self.qsettings.value("window/state")

    def save_window_state(self, geometry, state) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)
        self.qsettings.sync()
