"""The side panel's "Best moments" section: the top suggested frames, each on a compact row (thumbnail, frame,
score and its two main reasons, every reason in the tooltip) so the panel still fits a 1280 x 800 window; clicking
one makes it the chosen frame."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.frames import FramesModel
from livemoments_app.ui.viewmodels.moments import MomentsModel
from livemoments_app.ui.widgets.elided_label import ElidedLabel

_THUMB_H = 42


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
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # never widens the panel
        self.reasons = [ElidedLabel(self), ElidedLabel(self)]
        lines = QVBoxLayout()
        lines.setContentsMargins(0, 0, 0, 0)
        lines.setSpacing(0)
        lines.addWidget(self.text)
        for label in self.reasons:
            label.setObjectName("Muted")
            lines.addWidget(label)
        lines.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(8)
        row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(lines, 1)
        self._chosen = False
        self._styled = None
        self._style(False)

    def _style(self, chosen: bool) -> None:
        """A row's border: the panel's rule colour, the highlight colour under the mouse and for the chosen frame
        (in the theme's colours: a theme chosen while the app runs restyles the row, see changeEvent)."""
        c = theme.colours()
        state = (chosen, c["highlight"], c["border"])
        self._chosen = chosen
        if state == self._styled:
            return
        self._styled = state
        border = c["highlight"] if chosen else c["border"]
        width = 2 if chosen else 1
        self.setStyleSheet(f"QFrame#SuggestionRow {{ border: {width}px solid {border}; border-radius: 6px; }}"
                           f"QFrame#SuggestionRow:hover {{ border-color: {c['highlight']}; }}")

    def show_frame(self, rank: int, frame, thumbnail, chosen: bool) -> None:
        self.index = frame.index
        muted = theme.colours()["muted"]
        if thumbnail is not None:
            pix = QPixmap.fromImage(thumbnail).scaledToHeight(_THUMB_H, Qt.TransformationMode.SmoothTransformation)
            self.thumb.setPixmap(pix)
            self.thumb.setFixedWidth(pix.width())
        self._style(chosen)
        tag = f" <span style='color:{muted}'>· chosen</span>" if chosen else ""
        self.text.setText(f"<b>{rank} · Frame {frame.index + 1}</b> · {frame.time_s:.2f} s · "
                          f"{frame.score * 100:.0f}/100{tag}")
        tip = MomentsModel.tooltip(frame, rank) + "\n\nClick to use this frame"
        for k, label in enumerate(self.reasons):
            label.set_full_text(frame.reasons[k] if k < len(frame.reasons) else "", tip)
        self.setToolTip(tip)
        self.setAccessibleName(f"Suggestion {rank}: frame {frame.index + 1}")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.index >= 0:
            self.clicked.emit(self.index)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:      # the theme changed: a no-op unless its colours did
            self._style(self._chosen)


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
        title.setToolTip("Frames scored for sharpness, faces (eyes open, looking, smiling), how much the key photo "
                         "can restore, and exposure. Press S to step through them; click one to use it.")
        self.rows = [SuggestionRow(self) for _ in range(3)]
        self.in_view = True          # the side panel shows this section in the Moment view only
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        col.addWidget(title)
        col.addWidget(self.status)
        for row in self.rows:
            row.clicked.connect(self.chooseRequested)
            col.addWidget(row)
        self.notes = ElidedLabel(self)
        self.notes.setObjectName("Muted")
        col.addWidget(self.notes)
        moments.suggestionsChanged.connect(self.refresh)
        moments.stateChanged.connect(self.refresh)
        timeline.chosenChanged.connect(lambda _i: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        m = self.moments
        tip = ""
        if m.busy:
            text = f"Finding the best moments… {m.fraction * 100:.0f} %"
        elif m.error:
            text = m.error
        elif m.live is not None and m.suggestions is None:
            text = "Suggestions appear once the filmstrip is ready."
        elif m.key_frame is not None:
            key = m.key_frame
            text = f"Key photo: {key.score * 100:.0f}/100" + (", the best of the clip" if m.key_is_best else "")
            tip = "\n".join(f"• {r}" for r in key.reasons[:4])
        else:
            text = ""
        self.status.setText(text)
        self.status.setToolTip(tip)
        self.status.setVisible(bool(self.status.text()))
        for k, row in enumerate(self.rows):
            if k < len(m.top):
                f = m.top[k]
                row.show_frame(k + 1, f, self.frames.thumbnails.get(f.index), f.index == self.timeline.chosen)
                row.show()
            else:
                row.index = -1
                row.hide()
        notes = [n[0].upper() + n[1:] for n in (m.suggestions.notes if m.suggestions is not None else [])]
        self.notes.set_full_text("; ".join(notes), "\n".join(notes))
        self.notes.setVisible(bool(notes))
        self.setVisible(m.live is not None and self.in_view)
