"""Before/after comparison state: the mode (split line, side by side, flip), the split position, which side a
flip shows, and the two pictures. Zoom and pan live in a shared ViewState so they survive mode switches."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from livemoments_app.ui.imaging import Picture
from livemoments_app.ui.viewmodels.view import ViewState

COMPARE_MODES = (("split", "Split"), ("side", "Side by side"), ("flip", "Flip"))


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

    def set_pictures(self, index: int, before: Picture | None, after: Picture | None) -> None:
        new_size = after is not None and (self.after is None or self.after.size() != after.size())
        self.frame_index, self.before, self.after = index, before, after
        self.hdr_stops, self.hdr = None, None        # the workspace says what the new result has
        if new_size:
            self.view.set_fit()
        self.picturesChanged.emit()

    @property
    def available(self) -> bool:
        return self.before is not None and self.after is not None
