"""The image canvas: zoom (wheel, pinch), pan (drag), fit / 100 %, and an optional before/after split line.

Geometry is computed in device pixels, and at 100 % one image pixel is one device pixel with the image offset
rounded to whole pixels and no smoothing, so what is shown is exactly the image. Below 100 % the Picture's pyramid
gives a small level to scale from, which keeps every paint a few milliseconds even for 12 MP images.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QPinchGesture, QSizePolicy, QWidget

from livemoments_app.ui.imaging import Picture
from livemoments_app.ui.viewmodels.view import MAX_ZOOM, MIN_ZOOM, ViewState

_SPLIT_GRAB_PX = 10
_WHEEL_STEP = 1.2


class ImageCanvas(QWidget):
    splitMoved = Signal(float)

    def __init__(self, view: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.picture: Picture | None = None
        self.before: Picture | None = None
        self.split: float | None = None           # fraction of the width, or None for no split line
        self.overlay: Picture | None = None       # drawn over ``picture`` (never over ``before``), same geometry
        self.labels: tuple[str, str] = ("", "")   # drawn in the top corners (left, right)
        self.empty_text = ""
        self.busy_text = ""
        self._drag_origin: QPointF | None = None
        self._drag_center = (0.5, 0.5)
        self._dragging_split = False
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.grabGesture(Qt.GestureType.PinchGesture)
        view.changed.connect(self.update)

    # Content ------------------------------------------------------------------------------------------------
    def set_picture(self, picture: Picture | None) -> None:
        self.picture = picture
        self.update()

    def set_before(self, picture: Picture | None) -> None:
        self.before = picture
        self.update()

    def set_overlay(self, picture: Picture | None) -> None:
        self.overlay = picture
        self.update()

    def set_split(self, fraction: float | None) -> None:
        self.split = None if fraction is None else min(max(fraction, 0.0), 1.0)
        self.update()

    def set_busy(self, text: str) -> None:
        self.busy_text = text
        self.update()

    # Geometry (device pixels) -------------------------------------------------------------------------------
    def _dpr(self) -> float:
        return float(self.devicePixelRatioF()) or 1.0

    def _device_size(self) -> tuple[float, float]:
        dpr = self._dpr()
        return self.width() * dpr, self.height() * dpr

    def fit_zoom(self) -> float:
        if self.picture is None:
            return 1.0
        dw, dh = self._device_size()
        return max(1e-4, min(dw / self.picture.width, dh / self.picture.height))

    def zoom(self) -> float:
        if self.view.fit:
            self.view.fit_zoom = self.fit_zoom()
        return self.view.effective_zoom

    def offset(self) -> tuple[float, float]:
        """Device position of image pixel (0, 0)."""
        pic = self.picture
        dw, dh = self._device_size()
        z = self.zoom()
        ox = dw / 2 - self.view.cx * pic.width * z
        oy = dh / 2 - self.view.cy * pic.height * z
        return float(round(ox)), float(round(oy))

    def image_point(self, pos: QPointF) -> tuple[float, float]:
        """Image coordinates (pixels) under a widget position."""
        dpr = self._dpr()
        ox, oy = self.offset()
        z = self.zoom()
        return (pos.x() * dpr - ox) / z, (pos.y() * dpr - oy) / z

    # Painting -----------------------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        bg = self.palette().color(self.backgroundRole()).darker(135)
        painter.fillRect(self.rect(), bg)
        if self.picture is None:
            self._draw_center_text(painter, self.busy_text or self.empty_text)
            return
        dpr = self._dpr()
        painter.save()
        painter.scale(1 / dpr, 1 / dpr)
        dw, _dh = self._device_size()
        if self.split is not None and self.before is not None:
            split_x = round(self.split * dw)
            self._draw_picture(painter, self.before, QRectF(0, 0, split_x, self._device_size()[1]))
            after = QRectF(split_x, 0, dw - split_x, self._device_size()[1])
            self._draw_picture(painter, self.picture, after)
            if self.overlay is not None:
                self._draw_picture(painter, self.overlay, after)
            painter.restore()
            self._draw_split_handle(painter, self.split * self.width())
        else:
            self._draw_picture(painter, self.picture, QRectF(0, 0, *self._device_size()))
            if self.overlay is not None:
                self._draw_picture(painter, self.overlay, QRectF(0, 0, *self._device_size()))
            painter.restore()
        left, right = self.labels
        if left:
            self._draw_pill(painter, left, QPointF(12, 12), Qt.AlignmentFlag.AlignLeft)
        if right:
            self._draw_pill(painter, right, QPointF(self.width() - 12, 12), Qt.AlignmentFlag.AlignRight)
        if self.busy_text:
            self._draw_pill(painter, self.busy_text, QPointF(self.width() / 2, self.height() - 40),
                            Qt.AlignmentFlag.AlignHCenter)

    def _draw_picture(self, painter: QPainter, picture: Picture, clip: QRectF) -> None:
        # Both pictures of a comparison share the geometry of ``self.picture``; a different-sized "before" is
        # stretched onto it so the same scene point sits under the same screen point.
        z = self.zoom()
        ox, oy = self.offset()
        sx = self.picture.width / picture.width
        sy = self.picture.height / picture.height
        x0 = max(0.0, (clip.left() - ox) / z)
        y0 = max(0.0, (clip.top() - oy) / z)
        x1 = min(float(self.picture.width), (clip.right() - ox) / z)
        y1 = min(float(self.picture.height), (clip.bottom() - oy) / z)
        if x1 <= x0 or y1 <= y0:
            return
        # Whole image pixels at and above 100 % so each one maps to an exact block of device pixels.
        x0, y0, x1, y1 = math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)
        image, factor = picture.level_for(z * min(sx, sy))
        source = QRectF(x0 / sx * factor, y0 / sy * factor, (x1 - x0) / sx * factor, (y1 - y0) / sy * factor)
        target = QRectF(ox + x0 * z, oy + y0 * z, (x1 - x0) * z, (y1 - y0) * z)
        painter.save()
        painter.setClipRect(clip)
        smooth = z * min(sx, sy) / factor < 0.999 or picture.is_placeholder
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(target, image, source)
        painter.restore()

    def _draw_split_handle(self, painter: QPainter, x: float) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        center = QPointF(x, self.height() / 2)
        painter.setBrush(QColor(30, 30, 32, 220))
        painter.drawEllipse(center, 14, 14)
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        for sign in (-1, 1):
            path = QPainterPath()
            path.moveTo(center + QPointF(sign * 3, -5))
            path.lineTo(center + QPointF(sign * 8, 0))
            path.lineTo(center + QPointF(sign * 3, 5))
            painter.drawPath(path)

    def _draw_pill(self, painter: QPainter, text: str, anchor: QPointF, align: Qt.AlignmentFlag) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 20, metrics.height() + 8
        x = anchor.x() - (w if align == Qt.AlignmentFlag.AlignRight else
                          w / 2 if align == Qt.AlignmentFlag.AlignHCenter else 0)
        rect = QRectF(x, anchor.y(), w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 22, 190))
        painter.drawRoundedRect(rect, h / 2, h / 2)
        painter.setPen(QColor(240, 240, 240))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _draw_center_text(self, painter: QPainter, text: str) -> None:
        if not text:
            return
        painter.setPen(self.palette().color(self.foregroundRole()).darker(140))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    # Interaction --------------------------------------------------------------------------------------------
    def zoom_at(self, factor: float, pos: QPointF) -> None:
        """Zooms keeping the image point under ``pos`` where it is."""
        if self.picture is None:
            return
        ix, iy = self.image_point(pos)
        z = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM)
        dpr = self._dpr()
        dw, dh = self._device_size()
        cx = (ix * z - (pos.x() * dpr - dw / 2)) / (self.picture.width * z)
        cy = (iy * z - (pos.y() * dpr - dh / 2)) / (self.picture.height * z)
        self.view.set_zoom(z, cx, cy)

    def set_actual_pixels(self, pos: QPointF | None = None) -> None:
        if pos is None:
            self.view.set_zoom(1.0)
        else:
            self.zoom_at(1.0 / self.zoom(), pos)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0 or self.picture is None:
            return
        self.zoom_at(_WHEEL_STEP ** steps, event.position())
        event.accept()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.zoom_at(1.0 + event.value(), event.position())
            return True
        if event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                center = self.mapFromGlobal(pinch.centerPoint().toPoint())
                self.zoom_at(pinch.scaleFactor(), QPointF(center))
                return True
        return super().event(event)

    def _near_split(self, pos: QPointF) -> bool:
        return (self.split is not None and self.before is not None
                and abs(pos.x() - self.split * self.width()) <= _SPLIT_GRAB_PX)

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.picture is None:
            return super().mousePressEvent(event)
        if self._near_split(event.position()):
            self._dragging_split = True
        else:
            self._drag_origin = event.position()
            self._drag_center = (self.view.cx, self.view.cy)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        if self._dragging_split:
            self.split = min(max(pos.x() / max(1, self.width()), 0.0), 1.0)
            self.splitMoved.emit(self.split)
            self.update()
            return
        if self._drag_origin is not None and self.picture is not None:
            if self.view.fit:
                self.view.set_zoom(self.zoom())
            dpr, z = self._dpr(), self.zoom()
            dx = (pos.x() - self._drag_origin.x()) * dpr / (z * self.picture.width)
            dy = (pos.y() - self._drag_origin.y()) * dpr / (z * self.picture.height)
            self.view.set_center(self._drag_center[0] - dx, self._drag_center[1] - dy)
            return
        shape = Qt.CursorShape.SplitHCursor if self._near_split(pos) else Qt.CursorShape.OpenHandCursor
        self.setCursor(shape if self.picture is not None else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event) -> None:
        self._dragging_split = False
        self._drag_origin = None
        self.setCursor(Qt.CursorShape.OpenHandCursor if self.picture is not None else Qt.CursorShape.ArrowCursor)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.picture is None:
            return
        if self.view.fit:
            self.set_actual_pixels(event.position())
        else:
            self.view.set_fit()
