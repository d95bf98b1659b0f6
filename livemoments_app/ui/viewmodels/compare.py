"""Before/after comparison state: the mode (split line, side by side, flip), the split position, which side a
flip shows, the two pictures and, on request, where the after-picture's detail came from the key photo (the
restorer's ``from_key`` map, tinted over the after-picture). Zoom and pan live in a shared ViewState so they
survive mode switches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from livemoments_app.ui.imaging import Picture
from livemoments_app.ui.viewmodels.view import ViewState

if TYPE_CHECKING:
    import numpy as np

COMPARE_MODES = (("split", "Split"), ("side", "Side by side"), ("flip", "Flip"))
KEY_TINT = (40, 200, 170)        # teal: detail from the key photo (the clip frame's own pixels stay untinted)
KEY_TINT_OPACITY = 0.45


def key_use_overlay(from_key: np.ndarray, width: int, height: int) -> Picture:
    """The ``from_key`` map (frame resolution, 0..1) as a translucent tint to lay over a ``width`` x ``height``
    after-picture: premultiplied RGBA at the map's own resolution, stretched (smoothly) when painted. Drawn on a
    worker with the comparison pictures (restore.py): on the UI thread a 1440 x 1920 map took 40-60 ms."""
    import numpy as np

    a = np.clip(np.nan_to_num(np.asarray(from_key, np.float32)), 0.0, 1.0) * np.float32(KEY_TINT_OPACITY)
    h, w = a.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    for c, value in enumerate(KEY_TINT):
        rgba[..., c] = np.rint(a * value)
    rgba[..., 3] = np.rint(a * 255.0)
    image = QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888_Premultiplied).copy()
    return Picture.placeholder(image, width, height)


class CompareModel(QObject):
    changed = Signal()
    picturesChanged = Signal()
    hdrToggled = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mode = "split"
        self.split = 0.5
        self.showing_before = False     # flip mode: which image is up
        self.before: Picture | None = None
        self.after: Picture | None = None
        self.frame_index = -1
        self.view = ViewState(self)
        # HDR: the result's gain map over it in colour, in place of "after" (a preference kept across results).
        self.show_hdr = False
        self.hdr_stops: float | None = None     # the result's headroom in stops; None: an SDR result
        self.hdr: Picture | None = None         # the overlay, once drawn
        self.show_key_use = False
        self.key_overlay: Picture | None = None     # the tint, when the result has a from_key map
        self.key_share: float | None = None        # the share of the picture restored from the key photo
        # frame index -> its result's tint and share from the key photo (set by the workspace; None, None: no
        # result, or a result without a from_key map)
        self.key_use_for: Callable[[int], tuple[Picture | None, float | None]] = lambda _index: (None, None)

    def set_show_hdr(self, on: bool) -> None:
        if bool(on) != self.show_hdr:
            self.show_hdr = bool(on)
            self.hdrToggled.emit(self.show_hdr)
            self.changed.emit()

    def set_hdr(self, stops: float | None, picture: Picture | None) -> None:
        """What the shown result has: its headroom in stops (None for SDR) and, once drawn, its overlay."""
        self.hdr_stops, self.hdr = stops, picture
        self.changed.emit()

    @property
    def showing_hdr(self) -> bool:
        return self.show_hdr and self.hdr_stops is not None and self.hdr is not None

    def set_mode(self, mode: str) -> None:
        if mode in dict(COMPARE_MODES) and mode != self.mode:
            self.mode = mode
            self.changed.emit()

    def set_split(self, fraction: float) -> None:
        self.split = min(max(float(fraction), 0.0), 1.0)
        self.changed.emit()

    def flip(self) -> None:
        """The flip key: in flip mode toggles the image; in the other modes switches to flip showing "before"."""
        if self.mode != "flip":
            self.mode = "flip"
            self.showing_before = True
        else:
            self.showing_before = not self.showing_before
        self.changed.emit()

    def set_show_key_use(self, on: bool) -> None:
        """Tints the after-picture where its detail came from the key photo (when the result says where)."""
        if bool(on) != self.show_key_use:
            self.show_key_use = bool(on)
            self.changed.emit()

    def set_pictures(self, index: int, before: Picture | None, after: Picture | None) -> None:
        new_size = after is not None and (self.after is None or self.after.size() != after.size())
        self.frame_index, self.before, self.after = index, before, after
        self.hdr_stops, self.hdr = None, None        # the workspace says what the new result has
        self.key_overlay, self.key_share = self.key_use_for(index) if after is not None else (None, None)
        if new_size:
            self.view.set_fit()
        self.picturesChanged.emit()

    @property
    def overlay(self) -> Picture | None:
        """What to lay over the after-picture now: the tint when asked for and known."""
        return self.key_overlay if self.show_key_use else None

    @property
    def available(self) -> bool:
        return self.before is not None and self.after is not None
