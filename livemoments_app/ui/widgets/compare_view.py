"""Before/after: a split line you drag, side by side with synchronised zoom and pan, or flip with a key (\\).
All canvases share one ViewState, so the zoom stays when switching modes. A toggle tints the after-picture where
its detail came from the key photo, so what was left to the clip frame (new content, moving people) shows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QLabel, QSplitter, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from livemoments_app.ui.viewmodels.compare import COMPARE_MODES, CompareModel
from livemoments_app.ui.widgets.canvas import ImageCanvas

BEFORE = "Before · frame upscaled"
AFTER = "After · restored"
KEY_USE = "Where the key photo was used"
AFTER_HDR = "After · HDR boost"
HDR_HELP = ("Show where an HDR screen brightens the restored photo: its gain map in colour over the photo in grey, "
            "from dark violet (no boost) to pale yellow (the full headroom).")


class HdrLegend(QWidget):
    """The HDR overlay's colour scale: "none" ... "+1.75 stops"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QLabel(self)
        self.low = QLabel("no boost", self)
        self.high = QLabel(self)
        for label in (self.low, self.high):
            label.setObjectName("Muted")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.low)
        row.addWidget(self.bar)
        row.addWidget(self.high)
        self._stops: float | None = None

    def set_stops(self, stops: float) -> None:
        if stops == self._stops:
            return
        import numpy as np

        from livemoments_app.core.hdr.overlay import boost_colours
        from livemoments_app.ui.imaging import qimage_from_rgb

        self._stops = stops
        ramp = boost_colours(np.linspace(0.0, stops, 96, dtype=np.float32)[None, :].repeat(10, 0), stops)
        self.bar.setPixmap(QPixmap.fromImage(qimage_from_rgb(ramp)))
        self.high.setText(f"+{stops:.2f} stops ({2 ** stops:.1f}×)")


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
        self.hdr_button = QToolButton(self)
        self.hdr_button.setText("HDR")
        self.hdr_button.setCheckable(True)
        self.hdr_button.setToolTip(HDR_HELP)
        self.hdr_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hdr_button.toggled.connect(model.set_show_hdr)
        self.legend = HdrLegend(self)
        bar.addSpacing(10)
        bar.addWidget(self.hdr_button)
        bar.addWidget(self.legend)
        self.key_button = QToolButton(self)
        self.key_button.setText(KEY_USE)
        self.key_button.setCheckable(True)
        self.key_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.key_button.setToolTip("Tint the restored picture where its detail comes from the key photo; "
                                   "untinted parts keep the clip frame's own pixels (new content, moving people)")
        self.key_button.toggled.connect(model.set_show_key_use)
        bar.addSpacing(10)
        bar.addWidget(self.key_button)
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
        hdr = m.hdr_stops is not None
        self.hdr_button.setVisible(hdr)
        self.hdr_button.setChecked(m.show_hdr)
        self.legend.setVisible(hdr and m.show_hdr)
        if hdr:
            self.legend.set_stops(m.hdr_stops)
        after = m.hdr if m.showing_hdr else m.after
        after_label = AFTER_HDR if m.showing_hdr else AFTER
        busy = "Drawing the HDR map…" if hdr and m.show_hdr and m.hdr is None else ""
        for canvas in (self.single, self.right):
            canvas.set_busy(busy)
        self.left.set_picture(m.before)
        self.right.set_picture(after)
        self.right.labels = ("", after_label)
        self.key_button.setEnabled(m.key_overlay is not None)
        self.key_button.setChecked(m.show_key_use)
        self.right.set_overlay(m.overlay)
        self.single.set_overlay(m.overlay if m.mode == "split" or not m.showing_before else None)
        if m.mode == "side":
            self.stack.setCurrentIndex(1)
        else:
            self.stack.setCurrentIndex(0)
            if m.mode == "split":
                self.single.set_picture(after)
                self.single.set_before(m.before)
                self.single.set_split(m.split)
                self.single.labels = (BEFORE, after_label)
            else:
                shown = m.before if m.showing_before else after
                self.single.set_before(None)
                self.single.set_split(None)
                self.single.set_picture(shown)
                self.single.labels = (BEFORE if m.showing_before else after_label, "")
        self.single.update()
        if m.available:
            text = f"Frame {m.frame_index + 1} · {m.after.width} × {m.after.height}" + (" · HDR" if hdr else "")
            if m.key_share is not None:
                text += f" · {m.key_share:.0%} from the key photo"
            self.caption.setText(text)
        else:
            self.caption.setText("")
