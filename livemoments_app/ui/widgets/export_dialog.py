"""Export dialog: format, quality, metadata and location options, and where the file will go. It never offers
to overwrite the source: an empty name means a free ``_LM`` name chosen by the export core."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QVBoxLayout, QWidget)

from livemoments_app.ui import hdr_text
from livemoments_app.ui.viewmodels.export import DEFAULT_QUALITY, FORMATS, ExportChoice, hdr_note


class ExportDialog(QDialog):
    def __init__(self, folder: str, source_name: str, size: tuple[int, int], parent: QWidget | None = None,
                 default_format: str = "jpeg", write_back_possible: bool = False, hdr: str | None = None) -> None:
        """``hdr``: a sentence on the restored photo's gain map (ui.hdr_text.describe), None for an SDR photo."""
        super().__init__(parent)
        self.setWindowTitle("Export the restored photo")
        self.setMinimumWidth(500)
        self.source_name = source_name
        self.hdr_available = hdr is not None
        intro = QLabel(f"{size[0]} × {size[1]} pixels, from {source_name}. The original files are never changed.",
                       self)
        intro.setObjectName("Muted")
        intro.setWordWrap(True)
        self.badge = QLabel(hdr_text.badge_html(), self)
        self.badge.setTextFormat(Qt.TextFormat.RichText)
        self.badge.setToolTip(hdr or "")
        self.badge.setVisible(self.hdr_available)
        intro_row = QHBoxLayout()
        intro_row.addWidget(intro, 1)
        intro_row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        self.hdr = QCheckBox("Keep HDR (the gain map that brightens highlights on HDR screens)", self)
        self.hdr.setChecked(self.hdr_available)
        self._keep_hdr = self.hdr_available
        self.hdr.setToolTip(hdr or "")
        self.hdr_note = QLabel(self)
        self.hdr_note.setObjectName("Muted")
        self.hdr_note.setWordWrap(True)

        self.format_combo = QComboBox(self)
        for key, label in FORMATS:
            self.format_combo.addItem(label, key)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(default_format)))
        self.quality = QSlider(Qt.Orientation.Horizontal, self)
        self.quality.setRange(50, 100)
        self.quality_label = QLabel(self)
        self.quality_label.setMinimumWidth(64)
        quality_row = QHBoxLayout()
        quality_row.addWidget(self.quality, 1)
        quality_row.addWidget(self.quality_label)
        self.keep_metadata = QCheckBox("Keep the key photo's metadata (date, camera, lens, colour profile)", self)
        self.keep_metadata.setChecked(True)
        self.strip_location = QCheckBox("Remove location (GPS)", self)
        self.write_back = QCheckBox("Also save a new Live Photo with this frame as its key photo", self)
        self.write_back.setEnabled(write_back_possible)
        if not write_back_possible:
            self.write_back.setToolTip("Only Apple Live Photos and Google/Samsung Motion Photos can be written back")

        self.folder_edit = QLineEdit(folder, self)
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("automatic (a new name; nothing is replaced)")
        self.where = QLabel(self)
        self.where.setObjectName("Muted")
        self.where.setWordWrap(True)

        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(10)
        form.addRow("Format", self.format_combo)
        form.addRow("Quality", quality_row)
        if self.hdr_available:
            form.addRow("", self.hdr)
            form.addRow("", self.hdr_note)
        else:                       # an SDR photo: nothing to keep, nothing to say
            self.hdr.hide()
            self.hdr_note.hide()
        form.addRow("", self.keep_metadata)
        form.addRow("", self.strip_location)
        form.addRow("", self.write_back)
        form.addRow("Folder", folder_row)
        form.addRow("File name", self.name_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(intro_row)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.where)
        layout.addWidget(buttons)

        self.format_combo.currentIndexChanged.connect(self._on_format)
        self.quality.valueChanged.connect(lambda v: self.quality_label.setText(str(v)))
        self.keep_metadata.toggled.connect(self.strip_location.setEnabled)
        self.hdr.toggled.connect(lambda _on: self._refresh_hdr())
        self.folder_edit.textChanged.connect(self._refresh)
        self.name_edit.textChanged.connect(self._refresh)
        self._on_format()

    def _on_format(self) -> None:
        fmt = self.format_combo.currentData()
        self.quality.setValue(DEFAULT_QUALITY[fmt])
        self.quality.setEnabled(fmt != "png")
        self.quality_label.setText(str(self.quality.value()) if fmt != "png" else "lossless")
        self._refresh_hdr()
        self._refresh()

    def _refresh_hdr(self) -> None:
        if not self.hdr_available:
            return
        fmt = self.format_combo.currentData()
        holds = fmt != "png"
        if holds != self.hdr.isEnabled():
            # PNG shows the box cleared (the file will be SDR); the user's own choice comes back with HEIC/JPEG
            self.hdr.blockSignals(True)
            if holds:
                self.hdr.setChecked(self._keep_hdr)
            else:
                self._keep_hdr = self.hdr.isChecked()
                self.hdr.setChecked(False)
            self.hdr.blockSignals(False)
            self.hdr.setEnabled(holds)
        note = hdr_note(fmt, self.hdr.isChecked())
        self.hdr_note.setText(note)
        self.hdr_note.setVisible(bool(note))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _refresh(self) -> None:
        folder = self.folder_edit.text().strip()
        ok = bool(folder) and os.path.isdir(folder)
        name = self.name_edit.text().strip()
        if not ok:
            self.where.setText("That folder does not exist.")
        elif name:
            self.where.setText(f"Will write {os.path.join(folder, name)}")
        else:
            stem = os.path.splitext(self.source_name)[0]
            self.where.setText(f"Will write {stem}_LM.{self.choice().format.replace('jpeg', 'jpg')} (or the next "
                               f"free name) in {folder}")
        self.export_button.setEnabled(ok)

    def choice(self) -> ExportChoice:
        return ExportChoice(folder=self.folder_edit.text().strip(), filename=self.name_edit.text().strip(),
                            format=self.format_combo.currentData(), quality=self.quality.value(),
                            keep_metadata=self.keep_metadata.isChecked(),
                            strip_location=self.keep_metadata.isChecked() and self.strip_location.isChecked(),
                            write_back=self.write_back.isEnabled() and self.write_back.isChecked(),
                            hdr=self.hdr_available and self.hdr.isEnabled() and self.hdr.isChecked())
