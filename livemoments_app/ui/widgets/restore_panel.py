"""Restore controls: restorer (unavailable ones disabled with the reason), device, output size, and ``action``:
the Restore / Cancel buttons, the progress bar with elapsed and estimated time, which the side panel pins below
its scrolling sections so the main command is in sight at any window height."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.restore import PRECISIONS, SIZES, RestoreModel
from livemoments_app.ui.viewmodels.settings import DEVICES
from livemoments_app.ui.viewmodels.timeline import TimelineModel
from livemoments_app.ui.widgets.elided_label import ElidedLabel

_DEVICE_LABELS = {"auto": "Automatic", "cpu": "CPU", "cuda": "NVIDIA GPU", "mps": "Apple GPU"}


def _short_name(label: str) -> str:
    """ "LiveMoments (diffusion)" → "Diffusion": what tells the restorers apart, for a one-line note."""
    kind = re.fullmatch(r".*\((\w+)\)", label)
    return kind.group(1).capitalize() if kind else label


class RestorePanel(QWidget):
    restoreRequested = Signal()

    def __init__(self, model: RestoreModel, timeline: TimelineModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.timeline = timeline
        title = QLabel("Restore", self)
        title.setObjectName("SectionTitle")
        self.restorer_combo = QComboBox(self)
        self.restorer_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.device_combo = QComboBox(self)
        self.device_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for name in DEVICES:
            self.device_combo.addItem(_DEVICE_LABELS[name], name)
        self.size_combo = QComboBox(self)
        self.size_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for key, label, _v in SIZES:
            self.size_combo.addItem(label, key)
        self.precision_combo = QComboBox(self)
        self.precision_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.precision_combo.setToolTip("Numeric precision of the diffusion model")
        for key, label in PRECISIONS:
            self.precision_combo.addItem(label, key)
        for combo in (self.restorer_combo, self.device_combo, self.size_combo, self.precision_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        # One short line however long the reasons are: the panel must fit a laptop screen; the tooltip has it all.
        self.reason = ElidedLabel(self)
        self.reason.setObjectName("Help")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(5)
        form.addRow("Restorer", self.restorer_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Output", self.size_combo)
        form.addRow("Precision", self.precision_combo)
        self.form = form

        self.action = QWidget(self)
        self.restore_button = QPushButton(theme.icon("restore", "#ffffff"), "  Restore frame", self.action)
        self.restore_button.setProperty("primary", True)
        self.restore_button.setToolTip("Restore the chosen frame with the key photo's detail (Ctrl+R)")
        self.restore_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button = QPushButton("  Cancel", self.action)
        theme.bind_icon(self.cancel_button, "cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.setToolTip("Stop the restore (Esc)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.restore_button, 1)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar(self.action)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.status = QLabel(self.action)
        self.status.setWordWrap(True)
        self.timing = QLabel(self.action)
        self.timing.setObjectName("Muted")

        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        col.addWidget(title)
        col.addLayout(form)
        col.addWidget(self.reason)
        col.addWidget(self.action)      # until a container places it elsewhere
        act = QVBoxLayout(self.action)
        act.setContentsMargins(0, 0, 0, 0)
        act.setSpacing(6)
        act.addLayout(buttons)
        act.addWidget(self.progress)
        act.addWidget(self.status)
        act.addWidget(self.timing)

        self.restorer_combo.activated.connect(
            lambda i: model.select(self.restorer_combo.itemData(i)))
        self.device_combo.activated.connect(lambda i: setattr(model, "device", self.device_combo.itemData(i)))
        self.size_combo.activated.connect(lambda i: setattr(model, "size_key", self.size_combo.itemData(i)))
        self.precision_combo.activated.connect(
            lambda i: setattr(model, "precision", self.precision_combo.itemData(i)))
        self.restore_button.clicked.connect(self.restoreRequested)
        self.cancel_button.clicked.connect(model.cancel)
        model.restorersChanged.connect(self._fill_restorers)
        model.stateChanged.connect(self.refresh)
        model.progressChanged.connect(lambda _f, _t: self.refresh())
        model.resultReady.connect(lambda _i: self.refresh())
        timeline.chosenChanged.connect(lambda _i: self.refresh())
        self._fill_restorers()

    def _fill_restorers(self) -> None:
        combo = self.restorer_combo
        combo.clear()
        if not self.model.restorers:
            combo.addItem("Checking…" if self.model.restorers_loading else "None available", "")
        items: QStandardItemModel = combo.model()
        for info in self.model.restorers:
            label = info.label if info.ok else f"{info.label} — unavailable"
            combo.addItem(label, info.name)
            item = items.item(combo.count() - 1)
            item.setEnabled(info.ok)
            item.setToolTip(info.reason if not info.ok else "")
        index = combo.findData(self.model.selected)
        if index >= 0:
            combo.setCurrentIndex(index)
        self.refresh()

    def refresh(self) -> None:
        m = self.model
        device_index = self.device_combo.findData(m.device)
        if device_index >= 0:
            self.device_combo.setCurrentIndex(device_index)
        # The first clause of the reason is what to do ("weights not found — Settings › Models"); the rest,
        # often a long path, goes to the tooltip.
        unavailable = [f"{_short_name(r.label)}: {r.reason.split(' (')[0]}" for r in m.restorers if not r.ok]
        self.reason.set_full_text(" · ".join(unavailable),
                                  "\n".join(f"{r.label}: {r.reason}" for r in m.restorers if not r.ok))
        info = m.info(m.selected)
        gpu_capable = info is not None and info.name != "classic"
        self.device_combo.setEnabled(gpu_capable and not m.running)
        # Device and precision mean nothing to the classic restorer (CPU only): their rows go, and the panel
        # keeps Restore in sight on a laptop screen.
        self.form.setRowVisible(self.device_combo, gpu_capable)
        self.form.setRowVisible(self.precision_combo, gpu_capable)
        self.precision_combo.setEnabled(not m.running)
        self.device_combo.setToolTip("" if gpu_capable else "The classic restorer runs on the CPU")
        self.restorer_combo.setEnabled(not m.running)
        self.size_combo.setEnabled(not m.running)
        self.reason.setVisible(bool(unavailable))
        ok, why = m.can_start(self.timeline.chosen)
        self.restore_button.setEnabled(ok)
        done = self.timeline.chosen in m.results
        self.restore_button.setText("  Restore again" if done else "  Restore frame")
        self.cancel_button.setVisible(m.running or bool(m.waiting))
        self.progress.setVisible(m.running)
        self.progress.setValue(round(m.fraction * 1000))
        self.status.setText(m.status if (m.running or m.status) else why)
        if not ok and not m.running and why:
            self.status.setText(why)
        self.status.setVisible(bool(self.status.text()))      # no empty line in the pinned area
        self.timing.setText(m.elapsed_text())
        self.timing.setVisible(m.running)
