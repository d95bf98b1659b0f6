"""The right-hand panel: facts about the photo, its best moments (in the Moment view, where a frame is picked) or
the alignment controls (in the other views, where the overlay they control is shown), the restore options, and --
pinned below them, so they are in sight at any window height -- the Restore button with its progress, and Export."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from livemoments_app.ui import hdr_text, theme
from livemoments_app.ui.viewmodels.timeline import key_time_uncertain
from livemoments_app.ui.widgets.overlay_panel import OverlayPanel
from livemoments_app.ui.widgets.restore_panel import RestorePanel
from livemoments_app.ui.widgets.suggestions_panel import SuggestionsPanel
from livemoments_app.ui.workspace import Workspace

_FORMAT_NAMES = {
    "apple_live_photo": "Apple Live Photo",
    "google_motion_photo": "Google Motion Photo",
    "google_micro_video": "Google Motion Photo (MicroVideo)",
    "samsung_motion_photo": "Samsung Motion Photo",
    "still_and_video": "Still + video",
}
_KEY_SOURCES = {
    "apple_still_image_time": "from the clip's still-image time",
    "xmp_presentation_timestamp": "from the photo's metadata",
    "spec_fallback_midpoint": "assumed at the clip's middle",
    "image_similarity": "estimated by matching the still to the frames",
}


def _rule(parent: QWidget) -> QFrame:
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setStyleSheet(f"color: {theme.colours()['border']};")
    return line


class SidePanel(QFrame):
    exportRequested = Signal()

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Panel")
        self.setMinimumWidth(330)
        self.setMaximumWidth(420)
        self.workspace = workspace
        title = QLabel("Photo", self)
        title.setObjectName("SectionTitle")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.suggestions_panel = SuggestionsPanel(workspace.moments, workspace.frames, workspace.timeline, self)
        self.suggestions_panel.chooseRequested.connect(workspace.choose_suggestion)
        self.overlay_panel = OverlayPanel(workspace.alignment, self)
        self.restore_panel = RestorePanel(workspace.restore, workspace.timeline, self)
        self.restore_panel.restoreRequested.connect(workspace.start_restore)
        self.export_button = QPushButton("  Export…", self)
        theme.bind_icon(self.export_button, "export")
        self.export_button.setToolTip("Save the restored photo (Ctrl+E)")
        self.export_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.export_button.clicked.connect(self.exportRequested)
        self.export_status = QLabel(self)
        self.export_status.setObjectName("Muted")
        self.export_status.setWordWrap(True)
        self.export_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        body = QWidget(self)
        col = QVBoxLayout(body)
        col.setContentsMargins(16, 6, 16, 4)
        col.setSpacing(6)
        self._suggestions_rule, self._overlay_rule = _rule(body), _rule(body)
        for w in (title, self.info, self._suggestions_rule, self.suggestions_panel, self._overlay_rule,
                  self.overlay_panel, _rule(body), self.restore_panel):
            col.addWidget(w)
        col.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = scroll
        # Restore and Export are the two commands of the panel and must never scroll out of sight (a 13" laptop
        # leaves a window about 680 px high): they sit below the scrolling sections.
        footer = QWidget(self)
        footer.setObjectName("PanelFooter")
        foot = QVBoxLayout(footer)
        foot.setContentsMargins(16, 8, 16, 10)
        foot.setSpacing(4)
        self.hint = QLabel(self)
        self.hint.setObjectName("Hint")
        self.hint.setWordWrap(True)
        self.hint.hide()
        foot.addWidget(self.hint)
        foot.addWidget(self.restore_panel.action)
        foot.addSpacing(6)
        foot.addWidget(self.export_button)
        foot.addWidget(self.export_status)
        self.footer = footer
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(scroll, 1)
        outer.addWidget(_rule(self))
        outer.addWidget(footer)

        workspace.hintChanged.connect(self._show_hint)
        workspace.viewChanged.connect(self._show_sections)
        workspace.document.opened.connect(lambda _l: self._show_sections(workspace.view))
        workspace.document.closed.connect(lambda: self._show_sections(workspace.view))
        self._show_sections(workspace.view)
        workspace.document.opened.connect(lambda _l: self.refresh())
        workspace.document.closed.connect(self.refresh)
        workspace.compare.picturesChanged.connect(self.refresh)
        workspace.export.stateChanged.connect(self.refresh)
        self.refresh()

    def _show_sections(self, view: str) -> None:
        """Best moments while picking a frame, the alignment controls where their overlay is shown: both at once
        would not fit a 1280 x 800 window without scrolling."""
        moment = view == "moment"
        self.suggestions_panel.in_view = moment
        self.suggestions_panel.refresh()
        self._suggestions_rule.setVisible(self.suggestions_panel.isVisibleTo(self))
        self.overlay_panel.setVisible(not moment)
        self._overlay_rule.setVisible(not moment)

    def _show_hint(self, text: str) -> None:
        # styled when shown, in the theme's colour of the moment (the theme may have changed since the start)
        self.hint.setStyleSheet(f"QLabel#Hint {{ border: 1px solid {theme.colours()['highlight']}; border-radius: 6px;"
                                " padding: 6px 8px; }")
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    @staticmethod
    def _key_moment_line(live, source: str, muted: str) -> str:
        if key_time_uncertain(live):
            return ("<b>Key moment estimated — uncertain.</b> "
                    f"<span style='color:{muted}'>The photo matches several frames about equally well, so the "
                    "marked frame is a guess: check it.</span>")
        return f"<span style='color:{muted}'>Key moment {_KEY_SOURCES.get(source, source)}</span>"

    def refresh(self) -> None:
        ws = self.workspace
        live = ws.document.live
        if live is None:
            self.info.setText("")
        else:
            clip = live.clip
            fmt = getattr(live.format, "value", str(live.format))
            source = getattr(live.key_time_source, "value", str(live.key_time_source))
            name = os.path.basename(ws.document.path or str(live.still_path))
            name = self.info.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, 250)
            hdr = getattr(live.still, "hdr", None)
            tip = ws.document.path or ""
            if hdr is not None:
                tip += ("\n" if tip else "") + hdr_text.describe(hdr) + " Restored frames keep it."
            self.info.setToolTip(tip)
            muted = theme.colours()["muted"]
            badge = f" {hdr_text.badge_html()}" if hdr is not None else ""
            video_hdr = f" HDR ({clip.colour['transfer'].upper()})" if getattr(clip, "is_hdr", False) else ""
            self.info.setText(
                f"<b>{html.escape(name)}</b>{badge}<br><span style='color:{muted}'>{_FORMAT_NAMES.get(fmt, fmt)}"
                f"</span><br>Key photo {live.still.width} × {live.still.height} · clip {clip.width} × "
                f"{clip.height}{video_hdr}, {clip.frame_count} frames, {clip.duration_s:.2f} s"
                f"<br>{self._key_moment_line(live, source, muted)}")
        self.export_button.setEnabled(ws.can_export)
        self.export_status.setText(ws.export.status or
                                   ("" if ws.compare.available else "Restore a frame to export it."))
        self.export_status.setVisible(bool(self.export_status.text()))
