"""The one place errors are shown: a non-modal bar under the toolbar with the message, a "Details" part that
can be selected and copied, and a Dismiss button. Later errors replace the text; a counter says how many came."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QApplication, QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from livemoments_app.ui import theme
from livemoments_app.ui.errors import ErrorReport, ErrorReporter


class MessageBar(QFrame):
    def __init__(self, reporter: ErrorReporter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.report: ErrorReport | None = None
        self.count = 0
        icon = QLabel(self)
        icon.setPixmap(theme.icon("warning", "#fbeaea").pixmap(QSize(18, 18)))
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details", self)
        self.details_button.setCheckable(True)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the message and its details to the clipboard")
        self.dismiss_button = QPushButton("Dismiss", self)
        for b in (self.details_button, self.copy_button, self.dismiss_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.details = QPlainTextEdit(self)
        self.details.setObjectName("Details")
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(160)
        self.details.hide()

        row = QHBoxLayout()
        row.setContentsMargins(14, 8, 10, 8)
        row.setSpacing(10)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.message_label, 1)
        row.addWidget(self.details_button)
        row.addWidget(self.copy_button)
        row.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(row)
        layout.addWidget(self.details)

        self.details_button.toggled.connect(self.details.setVisible)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.dismiss_button.clicked.connect(self.dismiss)
        reporter.reported.connect(self.show_report)
        self.hide()

    def show_report(self, report: ErrorReport) -> None:
        self.report = report
        self.count = self.count + 1 if self.isVisible() else 1
        suffix = f"  ({self.count} errors, showing the latest)" if self.count > 1 else ""
        self.message_label.setText(report.message + suffix)
        self.details.setPlainText(report.details)
        self.show()

    def text_for_clipboard(self) -> str:
        if self.report is None:
            return ""
        return f"{self.report.message}\n\n{self.report.details}"

    def copy_to_clipboard(self) -> None:
        QApplication.clipboard().setText(self.text_for_clipboard())

    def dismiss(self) -> None:
        self.count = 0
        self.details_button.setChecked(False)
        self.hide()
