"""Shown when nothing is open: what the app does, "Open…", "Try the demo", and the recent files."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.settings import SettingsModel


class StartScreen(QWidget):
    openRequested = Signal()
    folderRequested = Signal()
    demoRequested = Signal()
    recentRequested = Signal(str)

    def __init__(self, settings: SettingsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        logo = QLabel(self)
        logo.setPixmap(theme.icon("moment", theme.colours()["highlight"]).pixmap(QSize(64, 64)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Pick another moment", self)
        title.setObjectName("Headline")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        blurb = QLabel(
            "Open a Live Photo or Motion Photo, choose any frame of its clip,\n"
            "and restore it to full quality using the key photo as a reference.", self)
        blurb.setObjectName("Muted")
        blurb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton(theme.icon("open", "#ffffff"), "  Open…", self)
        self.open_button.setProperty("primary", True)
        self.open_button.setMinimumWidth(150)
        self.open_button.setToolTip("Open a Live Photo pair (still + MOV), a Motion Photo, or a still and a video "
                                    "(Ctrl+O)")
        self.folder_button = QPushButton("  Open Folder…", self)
        theme.bind_icon(self.folder_button, "library")
        self.folder_button.setMinimumWidth(150)
        self.folder_button.setToolTip("Show every Live Photo of a folder (and its subfolders) with its best moment "
                                      "(Ctrl+Shift+O)")
        self.demo_button = QPushButton("  Try the demo", self)
        theme.bind_icon(self.demo_button, "demo")
        self.demo_button.setMinimumWidth(150)
        self.demo_button.setToolTip("Open a real iPhone Live Photo that comes with the app")
        hint = QLabel("…or drop files or a folder anywhere in this window", self)
        hint.setObjectName("Muted")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.folder_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)

        self.recent_box = QFrame(self)
        self.recent_layout = QVBoxLayout(self.recent_box)
        self.recent_layout.setContentsMargins(0, 0, 0, 0)
        self.recent_layout.setSpacing(2)

        column = QVBoxLayout(self)
        column.addStretch(3)
        column.addWidget(logo)
        column.addSpacing(8)
        column.addWidget(title)
        column.addSpacing(4)
        column.addWidget(blurb)
        column.addSpacing(24)
        column.addLayout(buttons)
        column.addSpacing(10)
        column.addWidget(hint)
        column.addSpacing(28)
        column.addWidget(self.recent_box, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(4)

        self.open_button.clicked.connect(self.openRequested)
        self.folder_button.clicked.connect(self.folderRequested)
        self.demo_button.clicked.connect(self.demoRequested)
        settings.recentChanged.connect(self.refresh_recent)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        while self.recent_layout.count():
            item = self.recent_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        recent = [p for p in self.settings.recent_files if os.path.exists(p)][:5]
        if not recent:
            self.recent_box.hide()
            return
        header = QLabel("Recent", self.recent_box)
        header.setObjectName("SectionTitle")
        header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent_layout.addWidget(header)
        for path in recent:
            button = QPushButton(os.path.basename(path), self.recent_box)
            button.setFlat(True)
            button.setToolTip(path)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, p=path: self.recentRequested.emit(p))
            self.recent_layout.addWidget(button)
        self.recent_box.show()
