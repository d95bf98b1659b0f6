"""Asked before "Restore best moments": where the restored photos go and in which form. Nothing is ever written
over an original; names are free ``_LM`` names chosen by the export core."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

FORMATS = (("auto", "Same as the original"), ("jpeg", "JPEG"), ("heic", "HEIC"), ("png", "PNG"))
_KEY_FOLDER, _KEY_FORMAT, _KEY_WRITE_BACK = "library/out_dir", "library/format", "library/write_back"


def default_out_dir() -> str:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation) \
        or os.path.expanduser("~")
    return os.path.join(pictures, "LiveMoments")


class RestoreDialog(QDialog):
    def __init__(self, count: int, restorer_label: str, qsettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.qsettings = qsettings
        self.setWindowTitle("Restore best moments")
        self.setMinimumWidth(520)
        photos = f"{count} photo{'s' if count != 1 else ''}"
        intro = QLabel(f"The best moment of each of the {photos} is restored with the {restorer_label} restorer "
                       f"and saved as a new file. The originals are never changed.", self)
        intro.setObjectName("Muted")
        intro.setWordWrap(True)
        self.folder_edit = QLineEdit(str(qsettings.value(_KEY_FOLDER, default_out_dir())), self)
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.format_combo = QComboBox(self)
        for key, label in FORMATS:
            self.format_combo.addItem(label, key)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(qsettings.value(_KEY_FORMAT, "auto"))))
        self.write_back = QCheckBox("Save new Live Photos / Motion Photos (the restored frame becomes the key "
                                    "photo)", self)
        self.write_back.setChecked(str(qsettings.value(_KEY_WRITE_BACK, "false")).lower() == "true")
        self.note = QLabel(self)
        self.note.setObjectName("Muted")
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(10)
        form.addRow("Save to", folder_row)
        form.addRow("Format", self.format_combo)
        form.addRow("", self.write_back)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = buttons.addButton(f"Restore {photos}", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.folder_edit.textChanged.connect(self._refresh)
        self._refresh()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save restored photos to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def out_dir(self) -> Path:
        """The folder typed or chosen, ``~`` expanded. A relative path would land wherever the app was started
        from (perhaps the photos' own folder): it is not accepted."""
        return Path(os.path.expanduser(self.folder_edit.text().strip()))

    def _refresh(self) -> None:
        folder = self.out_dir() if self.folder_edit.text().strip() else None
        ok = folder is not None and folder.is_absolute() and (folder.is_dir() or folder.parent.is_dir())
        self.note.setText("" if ok else "Choose a folder that exists (or a new one inside a folder that does).")
        self.ok_button.setEnabled(ok)

    def accept(self) -> None:
        self.qsettings.setValue(_KEY_FOLDER, str(self.out_dir()))
        self.qsettings.setValue(_KEY_FORMAT, self.format_combo.currentData())
        self.qsettings.setValue(_KEY_WRITE_BACK, "true" if self.write_back.isChecked() else "false")
        super().accept()

    def settings(self, restorer: str, device: str, model_dirs: list[str]):
        from livemoments_app.core.library.restore import RestoreSettings

        return RestoreSettings(out_dir=self.out_dir(), restorer=restorer, device=device,
                               model_dirs=list(model_dirs), format=self.format_combo.currentData(),
                               write_back=self.write_back.isChecked(), encoder_process=True)
