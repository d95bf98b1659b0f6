"""Zoom and pan shared by every canvas that shows the same image (side-by-side compare, split, flip), so the
zoom stays when switching between them."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

MIN_ZOOM = 0.02
MAX_ZOOM = 32.0


class ViewState(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fit = True
        self.zoom = 1.0          # device pixels per image pixel when not fitting (1.0 is 100 %, pixel-exact)
        self.cx = 0.5            # image point at the centre of the canvas, as a fraction of width and height
        self.cy = 0.5
        self.fit_zoom = 1.0      # last zoom a canvas computed for "fit", so zooming from fit starts there

    def set_fit(self) -> None:
        self.fit, self.cx, self.cy = True, 0.5, 0.5
        self.changed.emit()

    def set_zoom(self, zoom: float, cx: float | None = None, cy: float | None = None) -> None:
        self.fit = False
        self.zoom = min(max(float(zoom), MIN_ZOOM), MAX_ZOOM)
        if cx is not None:
            self.cx = min(max(cx, 0.0), 1.0)
        if cy is not None:
            self.cy = min(max(cy, 0.0), 1.0)
        self.changed.emit()

    def set_center(self, cx: float, cy: float) -> None:
        self.cx, self.cy = min(max(cx, 0.0), 1.0), min(max(cy, 0.0), 1.0)
        if not self.fit:
            self.changed.emit()

    @property
    def effective_zoom(self) -> float:
        return self.fit_zoom if self.fit else self.zoom

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.effective_zoom * factor)
