"""The view-models of one window and how they feed each other; no widgets here.

open → document.opened → timeline, frames, alignment, restore reset for the new photo
timeline.current → frames.request (and, in the alignment view, alignment.request)
timeline.chosen → alignment.request (prefetched for the restore) and the comparison of that frame if it exists
    (redrawn on a worker when its pictures were let go: restore.picturesReady → compare pictures)
restore.resultReady → compare pictures → the compare view
the demo opened → its pre-chosen frame and a hint, until the first result or the next photo
frames.thumbnailsDone → moments scores every frame in the background → the filmstrip's and side panel's suggestions
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from livemoments_app.ui.viewmodels.alignment import AlignmentModel
from livemoments_app.ui.viewmodels.compare import CompareModel
from livemoments_app.ui.viewmodels.document import DocumentModel
from livemoments_app.ui.viewmodels.export import ExportModel
from livemoments_app.ui.viewmodels.frames import FramesModel
from livemoments_app.ui.viewmodels.moments import MomentsModel
from livemoments_app.ui.viewmodels.restore import RestoreModel
from livemoments_app.ui.viewmodels.settings import SettingsModel
from livemoments_app.ui.viewmodels.timeline import TimelineModel, key_time_uncertain
from livemoments_app.ui.viewmodels.view import ViewState
from livemoments_app.ui.workers import Lanes

VIEWS = (("moment", "Moment"), ("alignment", "Alignment"), ("compare", "Compare"))


class Workspace(QObject):
    viewChanged = Signal(str)
    hintChanged = Signal(str)           # a short first-steps text ("" when none)

    def __init__(self, settings: SettingsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.lanes = Lanes()
        self.document = DocumentModel(self.lanes, self)
        self.timeline = TimelineModel(self)
        self.frames = FramesModel(self.lanes, self)
        self.alignment = AlignmentModel(self.lanes, self)
        self.restore = RestoreModel(self.lanes, self)
        self.compare = CompareModel(self)
        self.compare.key_use_for = self.restore.key_use
        self.export = ExportModel(self.lanes, self)
        self.moments = MomentsModel(self.lanes, self)
        self.frame_view = ViewState(self)      # the moment and alignment views share the clip's geometry
        self.view = "moment"
        self.hint = ""

        self.restore.selected = settings.default_restorer
        self.restore.device = settings.device
        self.restore.model_dirs = settings.model_dirs
        settings.changed.connect(self._on_setting)

        self.document.opened.connect(self._on_opened)
        self.document.closed.connect(self._on_closed)
        self.timeline.currentChanged.connect(self._on_current)
        self.timeline.chosenChanged.connect(self._on_chosen)
        self.restore.resultReady.connect(self._on_result)
        self.restore.picturesReady.connect(self._on_pictures)
        self.restore.hdrOverlayReady.connect(self._on_hdr_overlay)
        self.compare.hdrToggled.connect(lambda _on: self._sync_hdr())
        self.alignment.alignmentReady.connect(self._on_alignment_ready)
        self.alignment.stateChanged.connect(self._on_alignment_state)
        # Scoring decodes the whole clip: it waits for the filmstrip's pass rather than share the cores with it.
        self.frames.thumbnailsDone.connect(lambda: self.moments.start(dict(self.alignment.cache)))

    # Views --------------------------------------------------------------------------------------------------
    def set_view(self, view: str) -> None:
        if view == self.view or view not in dict(VIEWS):
            return
        self.view = view
        if view == "alignment":
            target = self.timeline.current if self.timeline.current >= 0 else self.timeline.chosen
            self.alignment.request(target, immediately=True)
        elif self.timeline.chosen >= 0 and self.alignment.target != self.timeline.chosen:
            self.alignment.request(self.timeline.chosen, immediately=True)
        self.viewChanged.emit(view)

    # Reactions ----------------------------------------------------------------------------------------------
    def _on_opened(self, live) -> None:
        self.settings.add_recent(self.document.path)
        self.moments.set_live(live)
        self.frames.set_clip(live.clip)
        self.alignment.set_live(live)
        self.restore.set_live(live)
        self.compare.set_pictures(-1, None, None)
        self.frame_view.set_fit()
        self.timeline.set_clip(live.clip.times, live.key_frame_index, live.key_time_s, live.key_time_estimated,
                               key_time_uncertain(live))
        if self.view == "compare":
            self.set_view("moment")
        self._set_hint("")
        from livemoments_app.ui.demo import demo_frame, demo_hint, is_demo

        if is_demo(live.still_path):
            index = demo_frame(live)
            self.timeline.choose(index)
            self.timeline.set_current(index)
            self._set_hint(demo_hint(live, index))

    def _set_hint(self, text: str) -> None:
        if text != self.hint:
            self.hint = text
            self.hintChanged.emit(text)

    def _on_closed(self) -> None:
        self._set_hint("")
        self.moments.set_live(None)
        self.frames.set_clip(None)
        self.alignment.set_live(None)
        self.restore.set_live(None)
        self.compare.set_pictures(-1, None, None)
        self.timeline.clear()

    def _on_current(self, index: int) -> None:
        self.frames.request(index)
        if self.view == "alignment":
            self.alignment.request(index)

    def _on_chosen(self, index: int) -> None:
        if index < 0:
            return
        if self.view != "alignment":
            self.alignment.request(index, immediately=True)
        pictures = self.restore.pictures(index)     # None while an evicted pair is redrawn: picturesReady follows
        if pictures is not None:
            self.compare.set_pictures(index, *pictures)
            self._sync_hdr()
        else:
            self.compare.set_pictures(-1, None, None)

    def _on_result(self, index: int) -> None:
        self._set_hint("")
        self.export.prepare()
        if index != self.timeline.chosen:
            return
        self.compare.set_pictures(index, *self.restore.pictures(index))
        self._sync_hdr()
        self.set_view("compare")

    def _on_pictures(self, index: int) -> None:
        if index == self.timeline.chosen:
            self.compare.set_pictures(index, *self.restore.pictures(index))
            self._sync_hdr()

    def _sync_hdr(self) -> None:
        """Tells the comparison whether its result is HDR and, in its HDR mode, gives it the overlay (drawn on a
        worker the first time: restore.hdrOverlayReady follows)."""
        index = self.compare.frame_index
        result = self.restore.results.get(index) if index >= 0 else None
        gain_map = getattr(result.image, "gain_map", None) if result is not None else None
        if gain_map is None:
            self.compare.set_hdr(None, None)
            return
        picture = self.restore.hdr_overlay(index) if self.compare.show_hdr else None
        self.compare.set_hdr(gain_map.headroom_stops, picture)

    def _on_hdr_overlay(self, index: int) -> None:
        if index == self.compare.frame_index:
            self._sync_hdr()

    def _on_setting(self, key: str) -> None:
        if key == "models/folders":
            self.restore.model_dirs = self.settings.model_dirs
            self.restore.load_restorers()
        elif key == "restore/device":
            self.restore.device = self.settings.device
            self.restore.stateChanged.emit()
        elif key == "restore/default":
            self.restore.select(self.settings.default_restorer)

    # Commands -----------------------------------------------------------------------------------------------
    def open_demo(self):
        """Opens the bundled demo Live Photo (FileNotFoundError, naming where it was looked for, if missing)."""
        from livemoments_app.ui.demo import demo_files

        return self.document.open(*demo_files())

    def next_suggestion(self) -> int:
        """Shows the next suggested moment (in rank order, cycling); -1 while there are none."""
        index = self.moments.next_suggestion(self.timeline.current)
        if index >= 0:
            self.timeline.stop()
            self.timeline.set_current(index)
        return index

    def choose_suggestion(self, index: int) -> None:
        """Makes suggested frame ``index`` the chosen frame and shows it."""
        self.timeline.stop()
        self.timeline.choose(index)
        self.timeline.set_current(index)

    def start_restore(self):
        """Restores the chosen frame; if its alignment is still being computed, the restore starts when it is
        ready instead of aligning a second time on the same two cores."""
        index = self.timeline.chosen
        ok, _why = self.restore.can_start(index)
        if not ok:
            return None
        alignment = self.alignment.cache.get(index)
        if alignment is None and self.alignment.target == index and self.alignment.busy:
            self.restore.set_waiting(index)
            return None
        return self.restore.start(index, alignment)

    def _on_alignment_ready(self, index: int, alignment) -> None:
        # restore.waiting_for is -1 once the user cancelled the wait.
        if self.restore.waiting_for == index:
            self.restore.set_waiting(-1)
            if self.timeline.chosen == index:
                self.restore.start(index, alignment)

    def _on_alignment_state(self) -> None:
        # The alignment the restore waited for failed or was replaced: stop waiting (the error is already shown).
        waiting = self.restore.waiting_for
        if waiting >= 0 and not self.alignment.busy and waiting not in self.alignment.cache:
            self.restore.set_waiting(-1)

    def current_result(self):
        return self.restore.results.get(self.timeline.chosen)

    @property
    def can_export(self) -> bool:
        """A comparison is shown (so the chosen frame has a result) and no export is running."""
        return self.compare.available and not self.export.running

    def shutdown(self) -> None:
        self.timeline.stop()
        self.lanes.cancel_all()
        # Cancellation is cooperative: a diffusion step may take seconds to reach its next check.
        self.lanes.shutdown(15000)
        if self.document.live is not None:
            self.document.live.close()
