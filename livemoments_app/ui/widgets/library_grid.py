"""The library's grid of photos: square thumbnails as a photo app shows them, the format badge, the date, each
photo's best moment, a check circle to mark several, and broken files as tiles that say what is wrong."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from livemoments_app.ui import theme
from livemoments_app.ui.viewmodels.library import EntryRole, LibraryModel, best_text, format_date
from livemoments_app.ui.widgets.filmstrip import SUGGESTION_COLOUR

BEST_COLOUR = SUGGESTION_COLOUR          # the filmstrip's colour for suggested moments
MIN_TILE, MAX_TILE, DEFAULT_TILE = 120, 320, 184
_GAP = 14                                 # between tiles
_TEXT_H = 38                              # two lines under the thumbnail
_RADIUS = 8.0
_CHECK = 22                               # the check circle's diameter
_MARGIN = 12                              # around the grid


def _check_rect(thumb: QRect) -> QRect:
    return QRect(thumb.left() + 8, thumb.top() + 8, _CHECK, _CHECK)


class TileDelegate(QStyledItemDelegate):
    def __init__(self, view: "LibraryGrid") -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt)
        return self.view.cell_size()

    def thumb_rect(self, cell: QRect) -> QRect:
        side = self.view.shown_tile
        return QRect(cell.left() + (cell.width() - side) // 2, cell.top() + _GAP // 2, side, side)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        entry = index.data(EntryRole)
        if entry is None:
            return
        c = theme.colours()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        thumb = self.thumb_rect(option.rect)
        rounded = QRectF(thumb)

        # The tile comes decoded with its corners rounded (no clip path here: it cost a third of a paint).
        ratio = self.view.devicePixelRatioF()
        image = self.view.library.tile(index.row(), QSize(round(thumb.width() * ratio), round(thumb.height() * ratio)),
                                       _RADIUS * ratio)
        painter.setPen(Qt.PenStyle.NoPen)
        if image is not None:
            image.setDevicePixelRatio(ratio)
            painter.drawImage(thumb.topLeft(), image)
        else:
            painter.setBrush(QColor(c["alt"]))
            painter.drawRoundedRect(rounded, _RADIUS, _RADIUS)
            if not entry.thumbnail:             # else it is being decoded: there in a moment
                self._paint_missing(painter, thumb, entry)
        if hovered and not selected:
            painter.setBrush(QColor(255, 255, 255, 18))
            painter.drawRoundedRect(rounded, _RADIUS, _RADIUS)

        if entry.ok:
            self._paint_badge(painter, thumb, entry.badge[0])
            self._paint_best(painter, thumb, entry)
        if selected:
            pen = QPen(theme.ACCENT, 3)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(thumb).adjusted(1.5, 1.5, -1.5, -1.5), _RADIUS - 1, _RADIUS - 1)
        if selected or hovered or self.view.marking:
            self._paint_check(painter, _check_rect(thumb), selected)
        self._paint_text(painter, option.rect, thumb, entry, c)
        painter.restore()

    def _paint_missing(self, painter: QPainter, thumb: QRect, entry) -> None:
        c = theme.colours()
        if entry.error:
            icon = theme.icon("warning", "#e0a040")
            side = max(24, thumb.width() // 5)
            icon.paint(painter, QRect(thumb.center().x() - side // 2, thumb.top() + thumb.height() // 5, side, side))
            text = entry.error.split(": ", 1)[-1]
            painter.setPen(QColor(c["muted"]))
            font = QFont(painter.font())
            font.setPointSizeF(max(7.5, font.pointSizeF() - 1.5))
            painter.setFont(font)
            box = QRect(thumb.left() + 10, thumb.top() + thumb.height() // 5 + side + 8, thumb.width() - 20,
                        thumb.height() - thumb.height() // 5 - side - 16)
            painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                             "Can't be read: " + text)
        else:
            painter.setPen(QColor(c["muted"]))
            painter.drawText(thumb, Qt.AlignmentFlag.AlignCenter, entry.still_type or "?")

    def _paint_badge(self, painter: QPainter, thumb: QRect, label: str) -> None:
        if not label:
            return
        font = QFont(painter.font())
        font.setPointSizeF(7.5)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 0.6)
        metrics = QFontMetrics(font)
        w = metrics.horizontalAdvance(label) + 22
        h = metrics.height() + 4
        rect = QRectF(thumb.right() - 8 - w, thumb.top() + 8, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 130))
        painter.drawRoundedRect(rect, h / 2, h / 2)
        # A small "live" mark (two rings), as the photo apps draw it.
        centre = QRectF(rect.left() + 6, rect.center().y() - 4, 8, 8)
        painter.setPen(QPen(QColor("white"), 1.1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(centre)
        painter.setBrush(QColor("white"))
        painter.drawEllipse(centre.adjusted(2.8, 2.8, -2.8, -2.8))
        painter.setFont(font)
        painter.drawText(rect.adjusted(16, 0, -5, 0), Qt.AlignmentFlag.AlignCenter, label)

    def _paint_best(self, painter: QPainter, thumb: QRect, entry) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(8)
        font.setBold(entry.best is not None)
        metrics = QFontMetrics(font)
        library = self.view.library
        if entry.best is not None:
            text, fill, colour = "★ " + best_text(entry.best), BEST_COLOUR, QColor("white")
        elif library.scoring_path == entry.path:
            text, fill, colour = "finding best moment…", QColor(0, 0, 0, 150), QColor("white")
        elif entry.path in library.score_errors:
            text, fill, colour = "can't score", QColor(120, 40, 40, 190), QColor(255, 225, 225)
        else:
            text, fill, colour = "not scored", QColor(0, 0, 0, 120), QColor(235, 235, 235, 200)
        w = metrics.horizontalAdvance(text) + 14
        h = metrics.height() + 4
        rect = QRectF(thumb.left() + 8, thumb.bottom() - 8 - h, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, h / 2, h / 2)
        painter.setPen(colour)
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_check(self, painter: QPainter, rect: QRect, checked: bool) -> None:
        r = QRectF(rect)
        if checked:
            painter.setPen(QPen(QColor("white"), 1.6))
            painter.setBrush(theme.ACCENT)
            painter.drawEllipse(r)
            tick = QPainterPath()
            tick.moveTo(r.left() + r.width() * 0.28, r.top() + r.height() * 0.52)
            tick.lineTo(r.left() + r.width() * 0.44, r.top() + r.height() * 0.68)
            tick.lineTo(r.left() + r.width() * 0.73, r.top() + r.height() * 0.36)
            painter.setPen(QPen(QColor("white"), 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(tick)
        else:
            painter.setPen(QPen(QColor(255, 255, 255, 230), 1.6))
            painter.setBrush(QColor(0, 0, 0, 60))
            painter.drawEllipse(r)

    def _paint_text(self, painter: QPainter, cell: QRect, thumb: QRect, entry, c: dict) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(9)
        metrics = QFontMetrics(font)
        line1 = QRect(thumb.left(), thumb.bottom() + 6, thumb.width(), metrics.height())
        painter.setFont(font)
        painter.setPen(QColor(c["text"]))
        title = format_date(entry.taken) if entry.taken else entry.name
        painter.drawText(line1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(title, Qt.TextElideMode.ElideMiddle, line1.width()))
        small = QFont(font)
        small.setPointSizeF(8)
        small_metrics = QFontMetrics(small)
        line2 = QRect(thumb.left(), line1.bottom() + 1, thumb.width(), small_metrics.height())
        detail = f"{entry.name} · {entry.still_type}" if entry.taken else entry.still_type
        painter.setFont(small)
        painter.setPen(QColor(c["muted"]))
        painter.drawText(line2, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         small_metrics.elidedText(detail, Qt.TextElideMode.ElideMiddle, line2.width()))


class LibraryGrid(QListView):
    """Click selects, Ctrl/Shift-click or the check circle marks several, double-click or Enter opens."""

    openRequested = Signal(int)          # row
    contextRequested = Signal(QPoint)    # global position
    tileSizeChanged = Signal(int)

    def __init__(self, library: LibraryModel, parent=None) -> None:
        super().__init__(parent)
        self.library = library
        self.tile = DEFAULT_TILE            # the size asked for (slider, Ctrl + wheel)
        self.shown_tile = DEFAULT_TILE      # the size drawn: columns fill the width, as in photo apps
        self.setModel(library)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setViewportMargins(_MARGIN, 4, _MARGIN, 4)
        self.setStyleSheet("QListView { background: palette(base); }")
        self.setItemDelegate(TileDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAccessibleName("Photos")
        self.verticalScrollBar().setSingleStep(24)
        self.customContextMenuRequested.connect(lambda pos: self.contextRequested.emit(self.viewport().mapToGlobal(pos)))
        self.doubleClicked.connect(lambda index: self.openRequested.emit(index.row()))
        self.marking = False             # more than one tile marked: every tile shows its check circle
        self.selectionModel().selectionChanged.connect(self._on_selection)
        self._apply_size()

    def _on_selection(self, *_args) -> None:
        self.marking = len(self.selectionModel().selectedIndexes()) > 1
        self.viewport().update()

    def _layout_width(self) -> int:
        """The width QListView lays items out in: it keeps room for a vertical scroll bar that may appear."""
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar())
        return self.maximumViewportSize().width() - bar - 1

    def cell_size(self) -> QSize:
        width = self._layout_width()
        columns = max(1, width // (self.tile + _GAP))
        cell = max(MIN_TILE // 2 + _GAP, width // columns) if width > 0 else self.tile + _GAP
        self.shown_tile = cell - _GAP
        return QSize(cell, self.shown_tile + _GAP + _TEXT_H)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        size = self.cell_size()
        if size != self.gridSize():
            self.setGridSize(size)

    def set_tile_size(self, side: int) -> None:
        side = max(MIN_TILE, min(MAX_TILE, int(side)))
        if side != self.tile:
            self.tile = side
            self._apply_size()
            self.tileSizeChanged.emit(side)

    def _apply_size(self) -> None:
        self.setGridSize(self.cell_size())
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.selectionModel().selectedIndexes())

    # Marking with the check circle, opening with Enter -----------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt)
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            thumb = self.itemDelegate().thumb_rect(self.visualRect(index))
            if _check_rect(thumb).adjusted(-4, -4, 4, 4).contains(event.position().toPoint()):
                self.selectionModel().select(index, QItemSelectionModel.SelectionFlag.Toggle)
                self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.openRequested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def viewportEvent(self, event) -> bool:  # noqa: N802 (Qt)
        if event.type() == QEvent.Type.Leave:
            self.viewport().update()
        return super().viewportEvent(event)

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt)
        # Ctrl + wheel resizes the tiles, as in photo apps.
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_tile_size(self.tile + (16 if event.angleDelta().y() > 0 else -16))
            return
        super().wheelEvent(event)
