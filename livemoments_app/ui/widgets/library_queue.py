"""The restore queue beside the library grid: one row per photo with its progress, a button to cancel it (or, once
it is done, to show the file), the result's thumbnail as soon as it is written, and Cancel all."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QToolButton,
                               QVBoxLayout, QWidget)

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.library import square_tile
from livemoments_app.ui.viewmodels.library_queue import (CANCELLED, DONE, FAILED, RUNNING, SKIPPED, WAITING,
                                                         QueueItem, RestoreQueueModel)
from livemoments_app.ui.widgets.elided_label import ElidedLabel

_THUMB = 56


_NOT_SHOWN = object()


class QueueRow(QFrame):
    cancelRequested = Signal(object)     # QueueItem

    def __init__(self, item: QueueItem, parent=None) -> None:
        super().__init__(parent)
        self.item = item
        self.setObjectName("QueueRow")
        self.thumb = QLabel(self)
        self.thumb.setFixedSize(_THUMB, _THUMB)
        self.name = ElidedLabel(self)
        self.name.set_full_text(item.entry.name, str(item.entry.path))
        self.name.setObjectName("Readout")
        self.status = QLabel(self)
        self.status.setObjectName("Help")
        self.status.setWordWrap(True)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.button = QToolButton(self)
        self.button.setAutoRaise(True)
        self.button.clicked.connect(self._on_button)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.name)
        text.addWidget(self.status)
        text.addWidget(self.bar)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 8, 6, 8)
        row.setSpacing(10)
        row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        self._shown_result = _NOT_SHOWN
        self.refresh()

    def refresh(self) -> None:
        item = self.item
        self.status.setText(item.text)
        self.status.setToolTip(item.error or item.text)
        self.bar.setVisible(item.state == RUNNING)
        self.bar.setValue(int(item.fraction * 1000))
        if item.state in (WAITING, RUNNING):
            theme.bind_icon(self.button, "cancel")
            self.button.setToolTip(f"Cancel {item.entry.name}")
            self.button.setEnabled(True)
        elif item.state == DONE:
            theme.bind_icon(self.button, "open")
            self.button.setToolTip("Show the restored photo in its folder")
        else:
            theme.bind_icon(self.button, *(("warning", "#e0a040") if item.state == FAILED else ("cancel",)))
            self.button.setEnabled(False)
            self.button.setToolTip("")
        self.setProperty("state", item.state)
        preview = item.result.preview if item.result is not None and item.result.preview else None
        if preview is not self._shown_result:          # decoded once per picture, not on every progress tick
            self._shown_result = preview
            source = preview or item.entry.thumbnail
            ratio = self.devicePixelRatioF()
            image = square_tile(source, QSize(round(_THUMB * ratio), round(_THUMB * ratio))) if source else None
            if image is not None:
                image.setDevicePixelRatio(ratio)
                self.thumb.setPixmap(QPixmap.fromImage(image))
        faded = item.state in (CANCELLED, FAILED, SKIPPED)
        self.thumb.setEnabled(not faded)

    def _on_button(self) -> None:
        item = self.item
        if item.state == DONE and item.result is not None and item.result.written:
            reveal(os.fspath(item.result.written[0]))
        elif item.state in (WAITING, RUNNING):
            self.cancelRequested.emit(item)


def reveal(path: str) -> None:
    """Shows ``path``'s folder in the system file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


class QueuePanel(QFrame):
    def __init__(self, queue: RestoreQueueModel, parent=None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.setObjectName("Panel")
        self.setMinimumWidth(300)
        self.setMaximumWidth(420)
        title = QLabel("Restore queue", self)
        title.setObjectName("SectionTitle")
        self.summary = QLabel(self)
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        self.cancel_all = QPushButton("Cancel all", self)
        self.clear = QPushButton("Clear finished", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_all)
        buttons.addWidget(self.clear)
        buttons.addStretch(1)
        self.rows_box = QWidget(self)
        self.rows = QVBoxLayout(self.rows_box)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setSpacing(1)
        self.rows.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.rows_box)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setStyleSheet("QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }")
        self.scroll = scroll
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 6, 8)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 1)
        self._rows: dict[int, QueueRow] = {}
        self.cancel_all.clicked.connect(queue.cancel_all)
        self.clear.clicked.connect(queue.clear_finished)
        queue.rowsInserted.connect(lambda _p, first, last: self._insert(first, last))
        queue.modelReset.connect(self._rebuild)
        queue.dataChanged.connect(lambda a, b, *_: self._refresh(a.row(), b.row()))
        queue.stateChanged.connect(self._update_summary)
        self._rebuild()

    def row_widgets(self) -> list[QueueRow]:
        return [self._rows[id(item)] for item in self.queue.items if id(item) in self._rows]

    def _insert(self, first: int, last: int) -> None:
        for row in range(first, last + 1):
            item = self.queue.items[row]
            widget = QueueRow(item, self.rows_box)
            widget.cancelRequested.connect(self.queue.cancel)
            self._rows[id(item)] = widget
            self.rows.insertWidget(row, widget)
        self._update_summary()

    def _rebuild(self) -> None:
        for widget in self._rows.values():
            widget.setParent(None)
            widget.deleteLater()
        self._rows.clear()
        if self.queue.items:
            self._insert(0, len(self.queue.items) - 1)
        self._update_summary()

    def _refresh(self, first: int, last: int) -> None:
        for row in range(first, last + 1):
            if 0 <= row < len(self.queue.items):
                widget = self._rows.get(id(self.queue.items[row]))
                if widget is not None:
                    widget.refresh()

    def _update_summary(self) -> None:
        q = self.queue
        parts = []
        for states, label in (((RUNNING,), "restoring"), ((WAITING,), "waiting"), ((DONE,), "done"),
                              ((SKIPPED,), "nothing to do"), ((FAILED,), "failed"), ((CANCELLED,), "cancelled")):
            n = q.count(*states)
            if n:
                parts.append(f"{n} {label}")
        self.summary.setText(" · ".join(parts) if parts else "Nothing queued")
        self.cancel_all.setEnabled(q.active)
        self.clear.setEnabled(any(i.finished for i in q.items))
