"""Alignment controls: overlay mode, blend opacity, and the plain-language readout."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from livemoments_app.ui.viewmodels.alignment import MODE_HELP, MODES, AlignmentModel


class OverlayPanel(QWidget):
    def __init__(self, model: AlignmentModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        title = QLabel("Alignment", self)
        title.setObjectName("SectionTitle")
        self.readout = QLabel(self)
        self.readout.setObjectName("Readout")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        grid = QGridLayout()
        grid.setSpacing(4)
        self.mode_buttons: dict[str, QToolButton] = {}
        for k, (name, label) in enumerate(MODES):
            button = QToolButton(self)
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(MODE_HELP[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(button.sizePolicy().horizontalPolicy().Expanding,
                                 button.sizePolicy().verticalPolicy())
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=name: model.set_mode(n))
            self.group.addButton(button)
            self.mode_buttons[name] = button
            grid.addWidget(button, k // 3, k % 3)

        # Caption, slider and value on one row: the panel has to fit a laptop screen without scrolling.
        self.opacity_row = QWidget(self)
        self.opacity_label = QLabel("Key photo", self.opacity_row)
        self.opacity_value = QLabel(self.opacity_row)
        self.opacity_value.setMinimumWidth(self.opacity_value.fontMetrics().horizontalAdvance("100 %") + 4)
        self.opacity_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.opacity = QSlider(Qt.Orientation.Horizontal, self.opacity_row)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(model.opacity * 100))
        self.opacity.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.opacity.setToolTip("How much of the warped key photo is laid over the frame")
        self.opacity.valueChanged.connect(lambda v: model.set_opacity(v / 100.0))
        self.help = QLabel(self)
        self.help.setObjectName("Help")
        self.help.setWordWrap(True)

        row = QHBoxLayout(self.opacity_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(self.opacity_label)
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_value)

        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        col.addWidget(title)
        col.addWidget(self.readout)
        col.addLayout(grid)
        col.addWidget(self.opacity_row)
        col.addWidget(self.help)
        model.stateChanged.connect(self.refresh)
        self.opacity.valueChanged.connect(lambda _v: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        m = self.model
        self.mode_buttons[m.mode].setChecked(True)
        self.readout.setText(m.text or "Choose a frame to see how the key photo lines up with it.")
        self.readout.setObjectName("Readout" if m.text and not m.busy else "Muted")
        self.readout.style().unpolish(self.readout)
        self.readout.style().polish(self.readout)
        blend = m.mode == "blend"
        self.opacity_row.setVisible(blend)
        self.opacity_value.setText(f"{self.opacity.value()} %")
        self.help.setText(MODE_HELP[m.mode])
