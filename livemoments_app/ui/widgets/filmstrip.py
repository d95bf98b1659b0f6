"""The filmstrip: thumbnails laid out on a time axis, a playhead that follows the mouse, one tick per frame
(variable frame rate shows as uneven ticks), markers for the original key moment and the chosen frame, and numbered
badges on the suggested moments (their reasons as the tooltip)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from livemoments_app.ui.viewmodels.frames import FramesModel
from livemoments_app.ui.viewmodels.timeline import TimelineModel

KEY_COLOUR = QColor(245, 197, 66)       # the original key photo
CHOSEN_COLOUR = QColor(64, 156, 255)    # the frame the user picked
SUGGESTION_COLOUR = QColor(72, 199, 116)  # the suggested moments (numbered badges under the strip)

_MARGIN = 14
_TICKS_H = 8
_STRIP_TOP = 16
_BADGE_R = 7


class Filmstrip(QWidget):
    def __init__(self, timeline: TimelineModel, frames: FramesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.frames = frames
        self.restored: set[int] = set()      # frames with a restored result (drawn as dots under the ticks)
        self.moments = None                  # MomentsModel: its top suggestions are drawn as numbered badges
        self.setMinimumHeight(96)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Timeline")
        self._scrubbing = False
        # The strip's background, thumbnails and ticks, drawn once per change of any of them: scrubbing and playing
        # move only the playhead, and drawing ~27 smoothly scaled thumbnails on every step took 5-7 ms of the UI
        # thread per frame shown.
        self._strip: QPixmap | None = None        # None: draw it again
        self._strip_key: tuple | None = None        # the size and colours it was drawn for
        timeline.currentChanged.connect(lambda _i: self.update())
        timeline.chosenChanged.connect(lambda _i: self.update())
        timeline.clipChanged.connect(self._strip_changed)
        frames.thumbnailReady.connect(lambda _i, _img: self._strip_changed())

    # Geometry -----------------------------------------------------------------------------------------------
    def _strip_rect(self) -> QRectF:
        return QRectF(_MARGIN, _STRIP_TOP, self.width() - 2 * _MARGIN, self.height() - _STRIP_TOP - _TICKS_H - 6)

    def _x_of_time(self, t: float) -> float:
        rect = self._strip_rect()
        times = self.timeline.times
        start, end = (float(times[0]), float(times[-1])) if len(times) else (0.0, 1.0)
        span = max(end - start, 1e-6)
        return rect.left() + (t - start) / span * rect.width()

    def _time_at_x(self, x: float) -> float:
        rect = self._strip_rect()
        times = self.timeline.times
        start, end = (float(times[0]), float(times[-1])) if len(times) else (0.0, 1.0)
        return start + (x - rect.left()) / max(rect.width(), 1.0) * (end - start)

    def index_at(self, x: float) -> int:
        return self.timeline.nearest_index(self._time_at_x(x))

    def x_of_index(self, index: int) -> float:
        return self._x_of_time(self.timeline.time_of(index))

    # Painting -----------------------------------------------------------------------------------------------
    def _strip_changed(self) -> None:
        self._strip = None
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._strip_pixmap())
        if self.timeline.frame_count == 0:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = self._strip_rect()
        self._paint_restored(painter, rect)
        self._paint_marker(painter, self.timeline.key_index, KEY_COLOUR)
        if self.timeline.chosen >= 0:
            self._paint_marker(painter, self.timeline.chosen, CHOSEN_COLOUR)
        self._paint_playhead(painter, rect)
        self._paint_suggestions(painter, rect)

    def _strip_pixmap(self) -> QPixmap:
        palette = self.palette()
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), ratio, palette.color(self.backgroundRole()).rgba(),
               palette.color(self.foregroundRole()).rgba())
        if self._strip is None or key != self._strip_key:
            self._strip = self._render_strip(ratio)
            self._strip_key = key
        return self._strip

    def _render_strip(self, ratio: float) -> QPixmap:
        pixmap = QPixmap(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))
        pixmap.setDevicePixelRatio(ratio)
        base = self.palette().color(self.backgroundRole())
        pixmap.fill(base)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = self._strip_rect()
        path = QPainterPath()
        path.addRoundedRect(rect, 6, 6)
        painter.fillPath(path, base.darker(150))
        if self.timeline.frame_count:
            self._paint_thumbnails(painter, rect, path)
            self._paint_ticks(painter, rect)
        painter.end()
        return pixmap

    def _paint_thumbnails(self, painter: QPainter, rect: QRectF, clip_path: QPainterPath) -> None:
        thumbs = self.frames.thumbnails
        sample: QImage | None = next(iter(thumbs.values()), None)
        aspect = (sample.width() / sample.height()) if sample is not None else 0.75
        tile_w = max(8.0, rect.height() * aspect)
        count = max(1, int(rect.width() // tile_w) + 1)
        painter.save()
        painter.setClipPath(clip_path)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for k in range(count):
            x = rect.left() + k * tile_w
            index = self.index_at(x + tile_w / 2)
            thumb = thumbs.get(index)
            target = QRectF(x, rect.top(), tile_w, rect.height())
            if thumb is None:
                painter.fillRect(target.adjusted(1, 1, -1, -1), self.palette().color(self.backgroundRole()).darker(125))
                continue
            # Crop the thumbnail to the tile (centre), like a video editor's filmstrip.
            tw, th = thumb.width(), thumb.height()
            scale = max(tile_w / tw, rect.height() / th)
            sw, sh = tile_w / scale, rect.height() / scale
            painter.drawImage(target, thumb, QRectF((tw - sw) / 2, (th - sh) / 2, sw, sh))
        painter.restore()

    def _paint_ticks(self, painter: QPainter, rect: QRectF) -> None:
        painter.setPen(QPen(self.palette().color(self.foregroundRole()).darker(160), 1))
        y0 = rect.bottom() + 3
        for t in self.timeline.times:
            x = round(self._x_of_time(float(t))) + 0.5
            painter.drawLine(QPointF(x, y0), QPointF(x, y0 + _TICKS_H - 3))

    def _paint_restored(self, painter: QPainter, rect: QRectF) -> None:
        y0 = rect.bottom() + 3
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(CHOSEN_COLOUR)
        for index in self.restored:
            painter.drawEllipse(QPointF(self.x_of_index(index), y0 + 2), 3, 3)

    def set_moments(self, moments) -> None:
        self.moments = moments
        moments.suggestionsChanged.connect(self.update)
        self.update()

    def suggestion_at(self, x: float) -> int:
        """The frame of the suggestion badge under ``x`` (within a badge's width), else -1."""
        if self.moments is None:
            return -1
        best, best_d = -1, _BADGE_R + 2
        for f in self.moments.top:
            d = abs(self.x_of_index(f.index) - x)
            if d <= best_d:
                best, best_d = f.index, d
        return best

    def _paint_suggestions(self, painter: QPainter, rect: QRectF) -> None:
        if self.moments is None or not self.moments.top:
            return
        painter.save()
        font = painter.font()
        font.setPixelSize(10)
        font.setBold(True)
        painter.setFont(font)
        cy = rect.bottom() - _BADGE_R - 3
        # worst rank first, so the best badge is drawn on top where two overlap
        for rank, f in reversed(list(enumerate(self.moments.top, 1))):
            centre = QPointF(self.x_of_index(f.index), cy)
            painter.setPen(QPen(QColor(0, 0, 0, 150), 1.5))
            painter.setBrush(SUGGESTION_COLOUR)
            painter.drawEllipse(centre, _BADGE_R, _BADGE_R)
            painter.setPen(QColor(10, 40, 20))
            painter.drawText(QRectF(centre.x() - _BADGE_R, cy - _BADGE_R, 2 * _BADGE_R, 2 * _BADGE_R),
                             Qt.AlignmentFlag.AlignCenter, str(rank))
        painter.restore()

    def set_restored(self, indices) -> None:
        self.restored = set(indices)
        self.update()

    def _paint_marker(self, painter: QPainter, index: int, colour: QColor) -> None:
        if index < 0:
            return
        x = self.x_of_index(index)
        rect = self._strip_rect()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        tri = QPainterPath()
        tri.moveTo(x - 6, 2)
        tri.lineTo(x + 6, 2)
        tri.lineTo(x, _STRIP_TOP - 3)
        tri.closeSubpath()
        painter.drawPath(tri)
        painter.setPen(QPen(colour, 2))
        painter.drawLine(QPointF(x, _STRIP_TOP - 2), QPointF(x, rect.bottom() + _TICKS_H))

    def _paint_playhead(self, painter: QPainter, rect: QRectF) -> None:
        if self.timeline.current < 0:
            return
        x = self.x_of_index(self.timeline.current)
        painter.setPen(QPen(QColor(0, 0, 0, 120), 4))
        painter.drawLine(QPointF(x, rect.top() - 2), QPointF(x, rect.bottom() + 2))
        playhead = self.palette().color(self.foregroundRole())
        painter.setPen(QPen(playhead, 2))
        painter.drawLine(QPointF(x, rect.top() - 2), QPointF(x, rect.bottom() + 2))
        painter.setBrush(playhead)
        painter.drawEllipse(QPointF(x, rect.bottom() + 2), 4, 4)

    # Scrubbing ----------------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.timeline.frame_count:
            self._scrubbing = True
            self.timeline.stop()
            self.timeline.set_current(self.index_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if not self.timeline.frame_count:
            return
        index = self.index_at(event.position().x())
        if self._scrubbing:
            self.timeline.set_current(index)
        QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_at(event.position().x()), self)

    def tooltip_at(self, x: float) -> str:
        """The frame under ``x``; over a suggestion's badge, the suggestion with its reasons."""
        suggested = self.suggestion_at(x)
        if suggested >= 0:
            return self.moments.tooltip(self.moments.score_of(suggested), self.moments.rank_of(suggested))
        index = self.index_at(x)
        return f"Frame {index + 1} · {self.timeline.time_of(index):.3f} s"

    def mouseReleaseEvent(self, _event) -> None:
        self._scrubbing = False

    def mouseDoubleClickEvent(self, event) -> None:
        if self.timeline.frame_count:
            self.timeline.choose(self.index_at(event.position().x()))
