"""The side panel's "Best moments" section: the top suggested frames with a thumbnail and their reasons; clicking
one makes it the chosen frame."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.frames import FramesModel
from livemoments_app.ui.viewmodels.moments import MomentsModel

_THUMB_H = 52


class SuggestionRow(QFrame):
    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SuggestionRow")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.index = -1
        self.thumb = QLabel(self)
        self.thumb.setFixedHeight(_THUMB_H)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(8)
        row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        border = theme.colours()["border"]
        self.setStyleSheet(f"QFrame#SuggestionRow {{ border: 1px solid {border}; border-radius: 6px; }}"
                           f"QFrame#SuggestionRow:hover {{ border-color: {theme.colours()['highlight']}; }}")

    def show_frame(self, rank: int, frame, thumbnail, key_index: int, chosen: bool) -> None:
        self.index = frame.index
        muted = theme.colours()["muted"]
        if thumbnail is not None:
            pix = QPixmap.fromImage(thumbnail).scaledToHeight(_THUMB_H, Qt.TransformationMode.SmoothTransformation)
            self.thumb.setPixmap(pix)
            self.thumb.setFixedWidth(pix.width())
        tags = []
        if frame.index == key_index:
            tags.append("key photo")
        if chosen:
            tags.append("chosen")
        tag = f" <span style='color:{muted}'>({', '.join(tags)})</span>" if tags else ""
        reasons = "<br>".join(html.escape(r) for r in frame.reasons[:2])
        self.text.setText(f"<b>{rank} · Frame {frame.index + 1}</b> · {frame.time_s:.2f} s · "
                          f"score {frame.score * 100:.0f}{tag}<br><span style='color:{muted}'>{reasons}</span>")
        self.setToolTip(MomentsModel.tooltip(frame, rank) + "\n\nClick to use this frame")
        self.setAccessibleName(f"Suggestion {rank}: frame {frame.index + 1}")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.index >= 0:
            self.clicked.emit(self.index)


class SuggestionsPanel(QWidget):
    chooseRequested = Signal(int)

    def __init__(self, moments: MomentsModel, frames: FramesModel, timeline, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moments = moments
        self.frames = frames
        self.timeline = timeline
        title = QLabel("Best moments", self)
        title.setObjectName("SectionTitle")
        self.status = QLabel(self)
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.rows = [SuggestionRow(self) for _ in range(3)]
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        col.addWidget(title)
        col.addWidget(self.status)
        for row in self.rows:
            row.clicked.connect(self.chooseRequested)
            col.addWidget(row)
        self.notes = QLabel(self)
        self.notes.setObjectName("Muted")
        self.notes.setWordWrap(True)
        col.addWidget(self.notes)
        moments.suggestionsChanged.connect(self.refresh)
        moments.stateChanged.connect(self.refresh)
        timeline.chosenChanged.connect(lambda _i: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        m = self.moments
        if m.busy:
            self.status.setText(f"Finding the best moments… {m.fraction * 100:.0f} %")
        elif m.error:
            self.status.setText(m.error)
        elif m.live is not None and not m.top:
            self.status.setText("Suggestions appear once the filmstrip is ready.")
        else:
            self.status.setText("Press S to step through them; click one to use it." if m.top else "")
        self.status.setVisible(bool(self.status.text()))
        key = self.timeline.key_index
        for k, row in enumerate(self.rows):
            if k < len(m.top):
                f = m.top[k]
                row.show_frame(k + 1, f, self.frames.thumbnails.get(f.index), key, f.index == self.timeline.chosen)
                row.show()
            else:
                row.index = -1
                row.hide()
        notes = m.suggestions.notes if m.suggestions is not None else []
        self.notes.setText("<br>".join(html.escape(n[0].upper() + n[1:]) for n in notes))
        self.notes.setVisible(bool(notes))
        self.setVisible(m.live is not None)
