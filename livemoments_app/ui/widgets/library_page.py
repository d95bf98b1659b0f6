"""The library page: the folder's name and what the scan found, its progress and Cancel, the tile size, "Restore
best moments" for the marked photos, the grid, and the restore queue beside it once something is queued."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QSlider, QSplitter,
                               QStackedWidget, QVBoxLayout, QWidget)

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.library import LibraryModel
from livemoments_app.ui.viewmodels.library_queue import RestoreQueueModel
from livemoments_app.ui.widgets.library_grid import DEFAULT_TILE, MAX_TILE, MIN_TILE, LibraryGrid
from livemoments_app.ui.widgets.library_queue import QueuePanel, reveal


RESTORER_LABELS = {"auto": "best available", "classic": "classic", "livemoments": "LiveMoments diffusion"}


class LibraryPage(QWidget):
    openRequested = Signal(str)                  # a photo to open in the editor

    def __init__(self, library: LibraryModel, queue: RestoreQueueModel, settings, parent=None) -> None:
        super().__init__(parent)
        self.library = library
        self.queue = queue
        self.settings = settings

        icon = QLabel(self)
        icon.setPixmap(theme.icon("open").pixmap(QSize(22, 22)))
        self.title = QLabel(self)
        self.title.setObjectName("Headline")
        self.title.setStyleSheet("font-size: 18px;")
        self.summary = QLabel(self)
        self.summary.setObjectName("Muted")
        self.scores_note = QLabel(self)
        self.scores_note.setObjectName("Help")
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedSize(160, 6)
        self.cancel_button = QPushButton("Stop", self)
        self.cancel_button.setToolTip("Stop reading the folder or finding best moments (what is shown stays)")
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.size_slider.setRange(MIN_TILE, MAX_TILE)
        self.size_slider.setValue(DEFAULT_TILE)
        self.size_slider.setFixedWidth(110)
        self.size_slider.setToolTip("Thumbnail size (Ctrl + mouse wheel)")
        self.restore_button = QPushButton("Restore best moments", self)
        self.restore_button.setProperty("primary", True)
        theme.bind_icon(self.restore_button, "restore")

        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(icon)
        top.addWidget(self.title)
        top.addSpacing(8)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        small = QLabel(self)
        small.setPixmap(theme.icon("zoom-fit").pixmap(QSize(14, 14)))
        top.addWidget(small)
        top.addWidget(self.size_slider)
        top.addSpacing(12)
        top.addWidget(self.restore_button)
        lines = QVBoxLayout()
        lines.setSpacing(2)
        lines.addWidget(self.summary)
        lines.addWidget(self.scores_note)
        header = QFrame(self)
        header.setObjectName("LibraryHeader")
        header_layout = QVBoxLayout(header)
        header_layout.setContentsMargins(18, 12, 18, 10)
        header_layout.setSpacing(4)
        header_layout.addLayout(top)
        header_layout.addLayout(lines)

        self.grid = LibraryGrid(library, self)
        self.empty = QLabel(self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("Muted")
        self.empty.setWordWrap(True)
        self.body = QStackedWidget(self)
        self.body.addWidget(self.grid)
        self.body.addWidget(self.empty)
        self.queue_panel = QueuePanel(queue, self)
        self.queue_panel.hide()
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.body)
        splitter.addWidget(self.queue_panel)
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(splitter, 1)

        self.cancel_button.clicked.connect(library.cancel)
        self.size_slider.valueChanged.connect(self.grid.set_tile_size)
        self.grid.tileSizeChanged.connect(self.size_slider.setValue)
        self.restore_button.clicked.connect(self.restore_selected)
        self.grid.openRequested.connect(self._open_row)
        self.grid.contextRequested.connect(self._context_menu)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        library.stateChanged.connect(self._update)
        library.folderChanged.connect(lambda _f: self._update())
        # rows added or reset always come with stateChanged (the scan's flush, close): _update covers them
        queue.stateChanged.connect(self._on_queue)
        self._update()

    # State --------------------------------------------------------------------------------------------------
    def _update(self) -> None:
        lib = self.library
        self.title.setText(lib.root.name or str(lib.root) if lib.root is not None else "")
        self.title.setToolTip(str(lib.root) if lib.root is not None else "")
        busy = lib.scanning or (lib.scoring and not lib.scoring_held)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.progress.setValue(int(lib.fraction * 1000))
        self.summary.setText(lib.status)
        self.scores_note.setText(lib.scores_status)
        self.scores_note.setVisible(bool(lib.scores_status))
        self._update_body()
        self._update_buttons()

    def _update_body(self) -> None:
        lib = self.library
        if lib.entries or lib.scanning:
            self.body.setCurrentWidget(self.grid)
            return
        if lib.root is None:
            self.empty.setText("")
        elif lib.cancelled:
            self.empty.setText("Stopped before any Live Photo was found.")
        else:
            self.empty.setText(f"No Live Photos or Motion Photos in {lib.root.name or lib.root}.\n"
                               + (lib.summary_text() if lib.summary is not None else ""))
        self.body.setCurrentWidget(self.empty)

    def selected_entries(self) -> list:
        return [e for e in (self.library.entry(r) for r in self.grid.selected_rows()) if e is not None and e.ok]

    def _update_buttons(self) -> None:
        chosen = self.selected_entries()
        self.restore_button.setEnabled(bool(chosen))
        count = f" ({len(chosen)})" if len(chosen) > 1 else ""
        self.restore_button.setText(f"Restore best moment{'s' if len(chosen) != 1 else ''}{count}")
        if not chosen:
            self.restore_button.setToolTip("Mark photos (click their circle, or Ctrl/Shift-click) to restore their "
                                           "best moments")
        else:
            self.restore_button.setToolTip("Restore the best moment of each marked photo")

    def _on_queue(self) -> None:
        if self.queue.items and not self.queue_panel.isVisible():
            self.queue_panel.show()

    # Commands -----------------------------------------------------------------------------------------------
    def restore_selected(self) -> None:
        """Asks where to save, then queues the marked photos' best moments."""
        from livemoments_app.ui.widgets.library_dialog import RestoreDialog

        entries = self.selected_entries()
        if not entries or not self.restore_button.isEnabled():
            return
        s = self.settings
        restorer = s.default_restorer
        dialog = RestoreDialog(len(entries), RESTORER_LABELS.get(restorer, restorer), s.qsettings, self)
        if dialog.exec():
            self.queue.cache = self.library.cache
            self.queue.add(entries, dialog.settings(restorer, s.device, s.model_dirs))

    def _open_row(self, row: int) -> None:
        entry = self.library.entry(row)
        if entry is not None:
            self.openRequested.emit(os.fspath(entry.path))

    def _context_menu(self, pos) -> None:
        index = self.grid.indexAt(self.grid.viewport().mapFromGlobal(pos))
        menu = QMenu(self)
        if index.isValid():
            if not self.grid.selectionModel().isSelected(index):
                self.grid.setCurrentIndex(index)
            entry = self.library.entry(index.row())
            menu.addAction("Open in the Editor", lambda: self._open_row(index.row()))
            restore = menu.addAction(self.restore_button.text(), self.restore_selected)
            restore.setEnabled(self.restore_button.isEnabled())
            menu.addAction("Show in Folder", lambda: reveal(os.fspath(entry.path)))
            menu.addSeparator()
        menu.addAction("Select All", self.grid.selectAll)
        menu.exec(pos)
