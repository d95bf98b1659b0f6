"""The middle of the window: the moment (current frame), the alignment overlay, or the before/after compare."""

from __future__ import annotations

from PySide6.QtWidgets import QStackedWidget, QWidget

from livemoments_app.ui.widgets.canvas import ImageCanvas
from livemoments_app.ui.widgets.compare_view import CompareView
from livemoments_app.ui.workspace import VIEWS, Workspace


class ViewerArea(QStackedWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.frame_canvas = ImageCanvas(workspace.frame_view, self)
        self.frame_canvas.setAccessibleName("Frame viewer")
        self.overlay_canvas = ImageCanvas(workspace.frame_view, self)
        self.overlay_canvas.setAccessibleName("Alignment overlay")
        self.overlay_canvas.empty_text = "Aligning the key photo to this frame…"
        self.compare_view = CompareView(workspace.compare, self)
        self.addWidget(self.frame_canvas)
        self.addWidget(self.overlay_canvas)
        self.addWidget(self.compare_view)

        workspace.frames.frameReady.connect(self._on_frame)
        workspace.alignment.overlayReady.connect(self.overlay_canvas.set_picture)
        workspace.alignment.stateChanged.connect(self._on_alignment_state)
        workspace.viewChanged.connect(self.show_view)
        workspace.restore.stateChanged.connect(self._on_restore_state)
        workspace.restore.progressChanged.connect(lambda _f, _t: self._on_restore_state())
        workspace.document.closed.connect(self._clear)
        workspace.document.opened.connect(lambda _live: self._clear())
        self.show_view(workspace.view)

    def _on_frame(self, index: int, picture) -> None:
        self.frame_canvas.set_picture(picture)
        # Until the overlay of this frame is ready, the alignment view shows the frame itself under "Aligning…".
        if self.workspace.alignment.busy or self.overlay_canvas.picture is None:
            self.overlay_canvas.set_picture(picture)

    def _on_alignment_state(self) -> None:
        model = self.workspace.alignment
        self.overlay_canvas.set_busy("Aligning…" if model.busy else "")

    def _on_restore_state(self) -> None:
        """While a restore runs, every view says so at the bottom, so the panel need not be in sight."""
        m = self.workspace.restore
        if m.running:
            text = f"Restoring frame {m.job_frame + 1} · {m.fraction * 100:.0f} %"
            eta = m.job.eta_s() if m.job is not None else None
            if eta is not None and eta >= 1.5:
                text += f" · about {eta:.0f} s left"
        else:
            text = m.waiting
        self.frame_canvas.set_busy(text)
        self.compare_view.single.set_busy(text)
        if not self.workspace.alignment.busy:
            self.overlay_canvas.set_busy(text)

    def _clear(self) -> None:
        self.frame_canvas.set_picture(None)
        self.overlay_canvas.set_picture(None)

    def show_view(self, view: str) -> None:
        self.setCurrentIndex([name for name, _label in VIEWS].index(view))

    def active_canvas(self) -> ImageCanvas:
        if self.currentIndex() == 0:
            return self.frame_canvas
        if self.currentIndex() == 1:
            return self.overlay_canvas
        return self.compare_view.active_canvas()
