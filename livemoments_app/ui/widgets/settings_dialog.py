"""Settings › Models / Restoring / Appearance. Values are written to the SettingsModel on OK."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QListWidget, QPushButton, QTabWidget, QVBoxLayout, QWidget)

from livemoments_app.ui.viewmodels.settings import DEVICES, SettingsModel

_DEVICE_LABELS = {"auto": "Automatic (GPU when available)", "cpu": "CPU", "cuda": "NVIDIA GPU (CUDA)",
                  "mps": "Apple GPU (Metal)"}
_THEME_LABELS = {"system": "Follow the system", "dark": "Dark", "light": "Light"}


class SettingsDialog(QDialog):
    def __init__(self, settings: SettingsModel, restorers: list[tuple[str, str]], parent: QWidget | None = None):
        """``restorers``: (name, label) pairs offered as the default restorer."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.settings = settings
        tabs = QTabWidget(self)

        models = QWidget()
        self.folders = QListWidget(models)
        self.folders.addItems(settings.model_dirs)
        add = QPushButton("Add folder…", models)
        remove = QPushButton("Remove", models)
        add.clicked.connect(self._add_folder)
        remove.clicked.connect(lambda: [self.folders.takeItem(self.folders.row(i))
                                        for i in self.folders.selectedItems()])
        hint = QLabel("Folders searched for the LiveMoments diffusion weights, in this order "
                      "(see models/README.md for the expected layout).", models)
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        col = QVBoxLayout(models)
        col.addWidget(hint)
        col.addWidget(self.folders)
        col.addLayout(buttons)
        tabs.addTab(models, "Models")

        restoring = QWidget()
        form = QFormLayout(restoring)
        self.restorer_combo = QComboBox(restoring)
        for name, label in restorers:
            self.restorer_combo.addItem(label, name)
        self._select(self.restorer_combo, settings.default_restorer)
        self.device_combo = QComboBox(restoring)
        for name in DEVICES:
            self.device_combo.addItem(_DEVICE_LABELS[name], name)
        self._select(self.device_combo, settings.device)
        form.addRow("Default restorer", self.restorer_combo)
        form.addRow("Device", self.device_combo)
        tabs.addTab(restoring, "Restoring")

        appearance = QWidget()
        form2 = QFormLayout(appearance)
        self.theme_combo = QComboBox(appearance)
        for name, label in _THEME_LABELS.items():
            self.theme_combo.addItem(label, name)
        self._select(self.theme_combo, settings.theme)
        form2.addRow("Theme", self.theme_combo)
        tabs.addTab(appearance, "Appearance")

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(box)

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with model weights")
        if folder:
            self.folders.addItem(folder)

    def accept(self) -> None:
        self.settings.model_dirs = [self.folders.item(i).text() for i in range(self.folders.count())]
        if self.restorer_combo.count():
            self.settings.default_restorer = self.restorer_combo.currentData()
        self.settings.device = self.device_combo.currentData()
        if self.theme_combo.currentData() != self.settings.theme:
            self.settings.theme = self.theme_combo.currentData()
        super().accept()
