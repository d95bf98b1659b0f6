"""Restoring the chosen frame: which restorers exist here (and why not), the options, the running job with its
progress, elapsed and estimated time, Cancel, and the results kept per frame while the photo is open."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from livemoments_app.core.memory import release_freed_memory
from livemoments_app.ui.imaging import Picture, upscale_like
from livemoments_app.ui.workers import Job, Lanes

SIZES = (("full", "Key photo resolution", 1.0), ("half", "Half resolution (faster)", 0.5))
# Results whose before/after pictures stay in memory (about 100 MB a pair at 12 MP, pyramids included). Older
# results keep only the restored pixels (what export needs; 36 MB at 12 MP) and are redrawn when chosen again.
KEEP_PICTURES = 3
# Numeric precision of the diffusion restorer ("auto": half precision on a GPU, full on the CPU).
PRECISIONS = (("auto", "Automatic"), ("float32", "Full (fp32, slower)"))


@dataclass(frozen=True)
class RestorerInfo:
    name: str
    label: str
    ok: bool
    reason: str = ""


@dataclass
class RestoreResult:
    frame_index: int
    image: object            # core RestoredImage
    before: Picture | None   # the frame upscaled to the result's size (what the restorer improves on)
    after: Picture | None    # both None once evicted (see KEEP_PICTURES); RestoreModel.pictures redraws them
    size_key: str
    restorer: str
    hdr_overlay: Picture | None = None    # the HDR gain map over ``after`` (the compare view's HDR mode), on request
    key_overlay: Picture | None = None    # where ``after`` took the key photo's detail, as a tint (None: no map)


def list_restorers(model_dirs: list[str] | None = None) -> list[RestorerInfo]:
    """Every registered restorer with its availability (may import heavy modules: call off the UI thread)."""
    from livemoments_app.core.restore import registry

    return [RestorerInfo(e.name, e.label, bool(e.availability.ok), e.availability.reason)
            for e in registry.available_restorers(model_dirs=model_dirs or None)]


def _restore(live, index: int, alignment, restorer_name: str, device: str, size: float, model_dirs, options,
             progress):
    from livemoments_app.core.pipeline import restore_frame
    from livemoments_app.core.restore import registry

    restorer = registry.create(restorer_name, model_dirs=model_dirs or None)
    result, _alignment = restore_frame(live, index, restorer, alignment=alignment, device=device, size=size,
                                       options=options, progress=progress.sub(0.0, 0.95))
    progress.set(0.96, "Preparing the comparison")
    pictures = _comparison(live.clip.frame(index), result)
    release_freed_memory()          # the restorer's temporaries, freed on this thread's heap
    return (result, *pictures)


def _comparison(frame, image) -> tuple[Picture, Picture, Picture | None]:
    """Before, after and the key-photo tint of a result: drawn here, on a worker, never on the UI thread."""
    from livemoments_app.ui.viewmodels.compare import key_use_overlay

    h, w = image.pixels.shape[:2]
    tint = None if image.from_key is None else key_use_overlay(image.from_key, w, h)
    return Picture(upscale_like(frame, w, h)), Picture(image.pixels), tint


def _hdr_overlay(image) -> Picture:
    from livemoments_app.core.hdr.overlay import boost_overlay

    return Picture(boost_overlay(image.pixels, image.gain_map))


class RestoreModel(QObject):
    restorersChanged = Signal()
    stateChanged = Signal()             # running / selection / elapsed
    progressChanged = Signal(float, str)
    resultReady = Signal(int)           # frame index
    picturesReady = Signal(int)         # frame index whose evicted pictures were redrawn
    hdrOverlayReady = Signal(int)       # frame index whose HDR overlay was drawn

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.live = None
        self.restorers: list[RestorerInfo] = []
        self.restorers_loading = False
        self.selected = "classic"
        self.device = "auto"
        self.size_key = "full"
        self.precision = "auto"
        self.model_dirs: list[str] = []
        self.results: dict[int, RestoreResult] = {}
        self._shown: list[int] = []     # result indices, least recently shown first
        self._redrawing: set[int] = set()
        self._drawing_hdr: set[int] = set()
        self.job: Job | None = None
        self.job_frame = -1
        self.fraction = 0.0
        self.status = ""
        self.waiting_for = -1           # the frame whose restore waits for its alignment (the workspace starts it)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self.stateChanged)

    # Restorers ----------------------------------------------------------------------------------------------
    def load_restorers(self) -> Job:
        self.restorers_loading = True
        self.restorersChanged.emit()
        dirs = list(self.model_dirs)
        job = self.lanes.work.run(lambda _p: list_restorers(dirs), name="Checking the restorers")
        job.succeeded.connect(self._on_restorers)
        job.finished.connect(self._restorers_done)
        return job

    def _on_restorers(self, infos: list[RestorerInfo]) -> None:
        self.restorers = infos
        usable = [r.name for r in infos if r.ok]
        if self.selected not in usable and usable:
            self.selected = usable[0]

    def _restorers_done(self) -> None:
        self.restorers_loading = False
        self.restorersChanged.emit()

    def info(self, name: str) -> RestorerInfo | None:
        return next((r for r in self.restorers if r.name == name), None)

    def select(self, name: str) -> None:
        if name != self.selected:
            self.selected = name
            self.stateChanged.emit()

    # Photo --------------------------------------------------------------------------------------------------
    def set_live(self, live) -> None:
        self.cancel()
        if self.job is not None and self.job.done:
            self.job = None     # its result slot holds the previous photo
        self.live = live
        self.results = {}
        self._shown = []
        self._redrawing = set()
        self._drawing_hdr = set()
        self.job_frame = -1
        self.stateChanged.emit()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    @property
    def waiting(self) -> str:
        """Shown while the restore waits for its alignment; empty when it does not."""
        return f"Waiting for the alignment of frame {self.waiting_for + 1}…" if self.waiting_for >= 0 else ""

    def set_waiting(self, index: int) -> None:
        """The restore of frame ``index`` waits for its alignment (-1: no longer)."""
        self.waiting_for = index
        self.status = self.waiting
        self.stateChanged.emit()

    def can_start(self, index: int) -> tuple[bool, str]:
        if self.live is None:
            return False, "Open a photo first."
        if index < 0:
            return False, "Choose a frame first: press Enter on the frame you want."
        info = self.info(self.selected)
        if info is None:
            return False, "Checking which restorers are available…" if self.restorers_loading else \
                "No restorer is available."
        if not info.ok:
            return False, f"{info.label} is unavailable: {info.reason}"
        if self.running or self.waiting:
            return False, "A restore is already running."
        return True, ""

    def start(self, index: int, alignment=None) -> Job | None:
        ok, _why = self.can_start(index)
        if not ok:
            return None
        live, name, device = self.live, self.selected, self.device
        size = dict((k, v) for k, _l, v in SIZES)[self.size_key]
        dirs, size_key = list(self.model_dirs), self.size_key
        options = {"dtype": self.precision} if name != "classic" and self.precision != "auto" else {}
        job = self.lanes.work.run(
            lambda p: _restore(live, index, alignment, name, device, size, dirs, options, p),
            name=f"Restoring frame {index + 1}")
        self.job, self.job_frame, self.fraction, self.status = job, index, 0.0, "Starting…"
        job.progressed.connect(self._on_progress)
        job.succeeded.connect(lambda r, i=index, l=live: self._on_result(l, i, name, size_key, r))
        job.cancelled.connect(lambda: self._set_status("Cancelled."))
        job.failed.connect(lambda exc: self._set_status(f"Failed: {getattr(exc, 'reason', exc)}"))
        job.finished.connect(lambda l=live: self._on_finished(l))
        self._tick.start()
        self.stateChanged.emit()
        return job

    def cancel(self) -> None:
        if self.waiting_for >= 0:
            self.waiting_for = -1
            self._set_status("Cancelled.")
        if self.running:
            self.job.cancel()
            self.status = "Cancelling…"
            self.stateChanged.emit()

    def _on_progress(self, fraction: float, text: str) -> None:
        self.fraction = fraction
        if text:
            self.status = text
        self.progressChanged.emit(fraction, text)

    def _on_result(self, live, index: int, name: str, size_key: str, payload) -> None:
        if live is not self.live:
            return
        image, before, after, tint = payload
        self.results[index] = RestoreResult(index, image, before, after, size_key, name, key_overlay=tint)
        self._keep_pictures(index)
        self.fraction = 1.0
        self.status = f"Restored in {self.job.elapsed_s:.1f} s." if self.job else "Restored."
        skipped = (getattr(image, "info", None) or {}).get("hdr", {}).get("skipped")
        if skipped:     # the key photo is HDR but its gain map could not be read: the result is SDR, say why
            self.status += f" Without HDR: {skipped}"
        self.resultReady.emit(index)
        self.stateChanged.emit()

    def key_use(self, index: int) -> tuple[Picture | None, float | None]:
        """Frame ``index``'s result's key-photo tint (None while evicted: ``pictures`` redraws it) and the share
        of it restored from the key photo; (None, None) without a result or a ``from_key`` map."""
        result = self.results.get(index)
        if result is None:
            return None, None
        return result.key_overlay, getattr(result.image, "from_key_share", None)

    # Pictures of the results -------------------------------------------------------------------------------
    def pictures(self, index: int) -> tuple[Picture, Picture] | None:
        """The before/after pictures of frame ``index``'s result; None while they are redrawn (``picturesReady``
        follows) or when the frame has no result."""
        result = self.results.get(index)
        if result is None:
            return None
        if result.before is not None and result.after is not None:
            self._keep_pictures(index)
            return result.before, result.after
        if index not in self._redrawing:
            self._redrawing.add(index)
            live, image = self.live, result.image
            job = self.lanes.work.run(lambda _p: _comparison(live.clip.frame(index), image),
                                      name=f"Redrawing the comparison of frame {index + 1}")
            job.succeeded.connect(lambda pics, l=live, i=index, r=result: self._on_pictures(l, i, r, pics))
            job.finished.connect(lambda l=live, i=index: self._redrawn(l, i))
        return None

    def hdr_overlay(self, index: int) -> Picture | None:
        """The HDR overlay of frame ``index``'s result (where an HDR display brightens it); None when the result
        has no gain map, or while the overlay is drawn (``hdrOverlayReady`` follows)."""
        result = self.results.get(index)
        if result is None or getattr(result.image, "gain_map", None) is None:
            return None
        if result.hdr_overlay is not None:
            return result.hdr_overlay
        if index not in self._drawing_hdr:
            self._drawing_hdr.add(index)
            live, image = self.live, result.image
            job = self.lanes.work.run(lambda _p: _hdr_overlay(image), name=f"Drawing the HDR map of frame {index + 1}")
            job.succeeded.connect(lambda picture, l=live, i=index, r=result: self._on_hdr_overlay(l, i, r, picture))
            job.finished.connect(lambda l=live, i=index: self._drawing_hdr.discard(i) if l is self.live else None)
        return None

    def _on_hdr_overlay(self, live, index: int, result: RestoreResult, picture: Picture) -> None:
        if live is not self.live or self.results.get(index) is not result:
            return
        result.hdr_overlay = picture
        self.hdrOverlayReady.emit(index)

    def _on_pictures(self, live, index: int, result: RestoreResult, pictures) -> None:
        if live is not self.live or self.results.get(index) is not result:
            return                      # another photo, or the frame was restored again meanwhile
        result.before, result.after, result.key_overlay = pictures
        self._keep_pictures(index)
        self.picturesReady.emit(index)

    def _redrawn(self, live, index: int) -> None:
        if live is self.live:
            self._redrawing.discard(index)

    def _keep_pictures(self, index: int) -> None:
        """Marks ``index`` as just shown and lets go of the pictures of all but the KEEP_PICTURES latest."""
        if index in self._shown:
            self._shown.remove(index)
        self._shown.append(index)
        for old in self._shown[:-KEEP_PICTURES]:
            result = self.results.get(old)
            if result is not None:
                result.before = result.after = result.hdr_overlay = result.key_overlay = None

    def _set_status(self, text: str) -> None:
        self.status = text
        self.stateChanged.emit()

    def _on_finished(self, live=None) -> None:
        self._tick.stop()
        if live is not self.live:
            self.job = None     # cancelled by a photo change: do not keep the closed photo alive through it
        self.stateChanged.emit()

    def elapsed_text(self) -> str:
        if self.job is None:
            return ""
        text = f"{self.job.elapsed_s:.1f} s elapsed"
        eta = self.job.eta_s() if self.running else None
        if eta is not None:
            text += f" · about {eta:.0f} s left" if eta >= 1.5 else " · almost done"
        return text
