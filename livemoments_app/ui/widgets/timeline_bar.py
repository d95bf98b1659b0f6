"""The bottom bar: transport buttons, the frame's index and time, the filmstrip, and "Use this frame"."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.frames import FramesModel
from livemoments_app.ui.viewmodels.timeline import TimelineModel
from livemoments_app.ui.widgets.filmstrip import CHOSEN_COLOUR, KEY_COLOUR, Filmstrip


UNCERTAIN_KEY_HELP = ("This clip does not record when the key photo was taken, and several frames match the photo "
                      "about equally well, so the marked frame is a guess. Step through the clip to check it.")


def _dot(colour) -> str:
    return f"<span style='color:{colour.name()}'>&#9679;</span>"


class FittingLabel(QLabel):
    """Rich text in several lengths, longest first: shows the longest that fits the width the row leaves it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._variants: list[str] = [""]
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Takes the room the row has left instead of pushing the buttons off the bar.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_variants(self, *variants: str) -> None:
        self._variants = list(variants) or [""]
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        doc = QTextDocument()
        doc.setDefaultFont(self.font())
        doc.setDocumentMargin(0)
        for text in self._variants:
            doc.setHtml(text)
            if doc.idealWidth() <= self.width():
                break
        if text != self.text():
            super().setText(text)


class TimelineBar(QFrame):
    def __init__(self, timeline: TimelineModel, frames: FramesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TimelineBar")
        self.timeline = timeline
        self.filmstrip = Filmstrip(timeline, frames, self)

        self.back_button = self._tool("step-back", "Previous frame (← or ,)", lambda: timeline.step(-1))
        self.play_button = self._tool("play", "Play / pause (Space)", timeline.toggle_play)
        self.forward_button = self._tool("step-forward", "Next frame (→ or .)", lambda: timeline.step(1))
        self.position_label = QLabel(self)
        self.position_label.setMinimumWidth(190)
        self.position_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label = FittingLabel(self)
        self.legend_label.setObjectName("Muted")
        self.use_button = QPushButton(theme.icon("key-frame", "#ffffff"), "  Use this frame", self)
        self.use_button.setProperty("primary", True)
        self.use_button.setToolTip("Make the current frame the new key photo (Enter)")
        self.use_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.use_button.clicked.connect(timeline.choose_current)

        row = QHBoxLayout()
        row.setContentsMargins(12, 8, 12, 0)
        row.setSpacing(6)
        for w in (self.back_button, self.play_button, self.forward_button):
            row.addWidget(w)
        row.addSpacing(10)
        row.addWidget(self.position_label)
        row.addWidget(self.legend_label, 1)
        row.addSpacing(14)
        row.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.filmstrip)

        timeline.currentChanged.connect(lambda _i: self.refresh())
        timeline.chosenChanged.connect(lambda _i: self.refresh())
        timeline.clipChanged.connect(self.refresh)
        timeline.playingChanged.connect(self._on_playing)
        self.refresh()

    def _tool(self, icon_name: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        theme.bind_icon(button, icon_name)
        button.setIconSize(QSize(18, 18))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    def _on_playing(self, playing: bool) -> None:
        theme.bind_icon(self.play_button, "pause" if playing else "play")

    def refresh(self) -> None:
        tl = self.timeline
        if tl.frame_count == 0:
            self.position_label.setText("")
            self.legend_label.set_variants("")
            self.use_button.setEnabled(False)
            return
        i = tl.current
        self.position_label.setText(
            f"<b>Frame {i + 1}</b> of {tl.frame_count} &nbsp;·&nbsp; {tl.time_of(i):.3f} s")
        key = f"{_dot(KEY_COLOUR)} Key photo: frame {tl.key_index + 1} ({tl.key_time_s:.3f} s"
        if tl.key_time_uncertain:
            key += ", <b>estimated — uncertain</b>)"
        else:
            key += ", estimated)" if tl.key_time_estimated else ")"
        self.legend_label.setToolTip(UNCERTAIN_KEY_HELP if tl.key_time_uncertain else "")
        if tl.chosen >= 0:
            chosen = f"&nbsp;&nbsp;&nbsp;{_dot(CHOSEN_COLOUR)} Chosen: frame {tl.chosen + 1}"
            self.legend_label.set_variants(key + chosen)
        else:
            # The hint is also the "Use this frame" button's tooltip: it goes first when the window is narrow.
            self.legend_label.set_variants(key + "&nbsp;&nbsp;&nbsp;Press Enter to choose a frame", key)
        self.use_button.setEnabled(i != tl.chosen)
        self.use_button.setText("  Chosen" if i == tl.chosen else "  Use this frame")
