"""Before/after: a split line you drag, side by side with synchronised zoom and pan, or flip with a key (\\).
All canvases share one ViewState, so the zoom stays when switching modes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QLabel, QSplitter, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from livemoments_app.ui.viewmodels.compare import COMPARE_MODES, CompareModel
from livemoments_app.ui.widgets.canvas import ImageCanvas

BEFORE = "Before · frame upscaled"
AFTER = "After · restored"


class CompareView(QWidget):
    def __init__(self, model: CompareModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.single = ImageCanvas(model.view, self)
        self.left = ImageCanvas(model.view, self)
        self.right = ImageCanvas(model.view, self)
        for canvas in (self.single, self.left, self.right):
            canvas.empty_text = "Restore the chosen frame to compare it with the original frame."
        self.left.labels = (BEFORE, "")
        self.right.labels = ("", AFTER)
        pair = QSplitter(Qt.Orientation.Horizontal, self)
        pair.addWidget(self.left)
        pair.addWidget(self.right)
        pair.setChildrenCollapsible(False)
        pair.setHandleWidth(2)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.single)
        self.stack.addWidget(pair)

        bar = QHBoxLayout()
        bar.setContentsMargins(10, 6, 10, 6)
        bar.setSpacing(4)
        self.group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for name, label in COMPARE_MODES:
            button = QToolButton(self)
            button.setText(label)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=name: model.set_mode(n))
            self.group.addButton(button)
            self.mode_buttons[name] = button
            bar.addWidget(button)
        self.flip_button = QToolButton(self)
        self.flip_button.setText("Before ⇄ After   \\")
        self.flip_button.setToolTip("Flip between before and after (\\)")
        self.flip_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.flip_button.clicked.connect(model.flip)
        bar.addSpacing(10)
        bar.addWidget(self.flip_button)
        bar.addStretch(1)
        self.caption = QLabel(self)
        self.caption.setObjectName("Muted")
        bar.addWidget(self.caption)

        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addLayout(bar)
        col.addWidget(self.stack, 1)

        self.single.splitMoved.connect(model.set_split)
        model.changed.connect(self.refresh)
        model.picturesChanged.connect(self.refresh)
        self.refresh()

    def active_canvas(self) -> ImageCanvas:
        return self.single if self.model.mode != "side" else self.right

    def refresh(self) -> None:
        m = self.model
        self.mode_buttons[m.mode].setChecked(True)
        self.left.set_picture(m.before)
        self.right.set_picture(m.after)
        if m.mode == "side":
            self.stack.setCurrentIndex(1)
        else:
            self.stack.setCurrentIndex(0)
            if m.mode == "split":
                self.single.set_picture(m.after)
                self.single.set_before(m.before)
                self.single.set_split(m.split)
                self.single.labels = (BEFORE, AFTER)
            else:
                shown = m.before if m.showing_before else m.after
                self.single.set_before(None)
                self.single.set_split(None)
                self.single.set_picture(shown)
                self.single.labels = (BEFORE if m.showing_before else AFTER, "")
        self.single.update()
        if m.available:
            self.caption.setText(f"Frame {m.frame_index + 1} · {m.after.width} × {m.after.height}")
        else:
            self.caption.setText("")
