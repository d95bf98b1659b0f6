"""The alignment preview: the key photo's alignment onto a frame, computed in the background and cached per
frame, rendered as an overlay in one of six modes, with a plain-language readout of how much of the frame aligned.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QTimer, Signal

from livemoments_app.ui.imaging import Picture
from livemoments_app.ui.workers import Job, Lanes, Latest

MODES = (
    ("blend", "Blend"),
    ("difference", "Difference"),
    ("checkerboard", "Checkerboard"),
    ("edges", "Edges"),
    ("flow", "Flow"),
    ("confidence", "Confidence"),
)
MODE_HELP = {
    "blend": "The key photo, warped onto the frame, laid over it. Ghosting shows where they disagree.",
    "difference": "Bright where the warped key photo and the frame differ; dark where they match.",
    "checkerboard": "Alternating squares of the frame and the warped key photo: edges should continue across.",
    "edges": "Edges of the frame in magenta and of the key photo in green: white where they line up.",
    "flow": "How each pixel moved between the key moment and this frame (colour = direction, strength = distance).",
    "confidence": "Where the key photo can be trusted: green is aligned, yellow uncertain, red not (motion, "
                  "occlusion, or outside the key photo).",
}
_CACHE = 6
_DEBOUNCE_MS = 120


def readout(alignment) -> str:
    """"92 % of the frame aligned", with a word on what that means."""
    share = float(alignment.aligned_share)
    pct = round(share * 100)
    if share >= 0.85:
        verdict = "details from the key photo can be used almost everywhere"
    elif share >= 0.6:
        verdict = "moving parts keep the frame's own pixels"
    elif share >= 0.3:
        verdict = "much of the scene moved; expect a modest improvement"
    else:
        verdict = "the key photo hardly matches this frame"
    return f"{pct} % of the frame aligned — {verdict}"


def _align(live, index: int, progress):
    from livemoments_app.core.align import align

    return align(live, index, progress=progress)


def _render(live, index: int, alignment, mode: str, opacity: float, warped_cache: dict, progress):
    from livemoments_app.core.align import overlays

    frame = live.clip.frame(index)
    progress.check()
    if mode in ("flow", "confidence"):
        return Picture(overlays.render(mode, alignment, live.still.pixels, frame, opacity=opacity))
    # The warp of the 12 MP still is the slow part; keep it so dragging the opacity slider only re-blends.
    hit = warped_cache.get("entry")
    if hit is None or hit[0] is not alignment:
        warped, valid = alignment.warp_still(live.still.pixels, scale=1.0)
        warped_cache["entry"] = hit = (alignment, warped, valid)
    _a, warped, valid = hit
    progress.check()
    return Picture(overlays.render(mode, alignment, live.still.pixels, frame, opacity=opacity,
                                   warped=(warped, valid)))


class AlignmentModel(QObject):
    stateChanged = Signal()            # busy / readout / error
    overlayReady = Signal(object)      # Picture
    alignmentReady = Signal(int, object)

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.live = None
        self.mode = "blend"
        self.opacity = 0.5
        self.target = -1
        self.cache: OrderedDict[int, object] = OrderedDict()
        self.busy = False
        self.text = ""
        self.picture: Picture | None = None
        self._warped: dict = {}
        self._align_job: Job | None = None
        self._align_index = -1
        self._renderer = Latest(lanes.work, "Drawing the alignment overlay", self)
        self._renderer.resultReady.connect(self._on_overlay)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start)

    def set_live(self, live) -> None:
        self.live = live
        self.cache.clear()
        self.target = -1
        self.picture = None
        self._warped = {}
        self._renderer.reset()
        if self._align_job is not None:
            # Its work closure and result slot hold the previous photo (and so the aligner's per-photo cache).
            self._align_job.cancel()
            self._align_job = None
        self._set_state(False, "")

    # Requests -----------------------------------------------------------------------------------------------
    def request(self, index: int, immediately: bool = False) -> None:
        """Aligns (or reuses) frame ``index``; rapid requests while scrubbing are debounced."""
        if self.live is None or index < 0:
            return
        self.target = index
        if index in self.cache:
            self._debounce.stop()
            self._on_aligned(index, self.cache[index])
            return
        self._set_state(True, f"Aligning the key photo to frame {index + 1}…")
        if immediately:
            self._start()
        else:
            self._debounce.start()

    def _start(self) -> None:
        index, live = self.target, self.live
        if live is None or index < 0:
            return
        if self._align_job is not None and not self._align_job.done:
            if self._align_index == index and not self._align_job.is_cancelled:
                return      # already aligning this frame (scrubbed away and back): let it finish
            self._align_job.cancel()
        job = self.lanes.work.run(lambda p: _align(live, index, p), name=f"Aligning frame {index + 1}")
        self._align_job, self._align_index = job, index
        job.progressed.connect(lambda f, _t, i=index: self._on_progress(i, f))
        job.succeeded.connect(lambda a, i=index, l=live: self._store(l, i, a))
        job.failed.connect(lambda exc, i=index: self._on_failed(i, exc))

    def _on_progress(self, index: int, fraction: float) -> None:
        if index == self.target and self.busy:
            self._set_state(True, f"Aligning the key photo to frame {index + 1}… {fraction * 100:.0f} %")

    def _store(self, live, index: int, alignment) -> None:
        if live is not self.live:
            return
        self.cache[index] = alignment
        while len(self.cache) > _CACHE:
            self.cache.popitem(last=False)
        self.alignmentReady.emit(index, alignment)
        if index == self.target:
            self._on_aligned(index, alignment)

    def _on_failed(self, index: int, exc) -> None:
        if index == self.target:
            self.picture = None
            self._set_state(False, f"Could not align frame {index + 1}: {getattr(exc, 'reason', exc)}")

    def _on_aligned(self, index: int, alignment) -> None:
        self._set_state(True, readout(alignment))
        self._render()

    # Overlay ------------------------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode != self.mode and mode in dict(MODES):
            self.mode = mode
            self.stateChanged.emit()
            self._render()

    def set_opacity(self, opacity: float) -> None:
        opacity = min(max(float(opacity), 0.0), 1.0)
        if opacity != self.opacity:
            self.opacity = opacity
            if self.mode == "blend":
                self._render()

    def _render(self) -> None:
        index = self.target
        alignment = self.cache.get(index)
        if alignment is None or self.live is None:
            return
        live, mode, opacity, cache = self.live, self.mode, self.opacity, self._warped
        self._renderer.request((index, mode, opacity),
                               lambda p: _render(live, index, alignment, mode, opacity, cache, p))

    def _on_overlay(self, key, picture: Picture) -> None:
        index, mode, _opacity = key
        if index != self.target or mode != self.mode:
            return
        self.picture = picture
        self.busy = False
        self.stateChanged.emit()
        self.overlayReady.emit(picture)

    def _set_state(self, busy: bool, text: str) -> None:
        self.busy, self.text = busy, text
        self.stateChanged.emit()
