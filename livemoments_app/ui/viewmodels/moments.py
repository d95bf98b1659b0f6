"""Suggested moments: every frame of the open photo scored in the background (core.moments), the best few offered
on the filmstrip and in the side panel. The UI never waits for it: scoring starts once the filmstrip's pass is
done, on the same lane (the background pass over the clip: the two decodes never share the cores, and the work
lane stays free for aligning and restoring), and is cancelled when another photo opens."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from livemoments_app.ui.workers import Job, Lanes

TOP = 3


def _score(live, alignments, progress, known):
    found = known(live) if known is not None else None
    if found is not None:
        return found
    from livemoments_app.core.moments import suggest

    return suggest(live, progress, alignments=alignments)


class MomentsModel(QObject):
    suggestionsChanged = Signal()       # new suggestions, or none (another photo, cleared)
    stateChanged = Signal()             # busy / progress / error

    def __init__(self, lanes: Lanes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lanes = lanes
        self.live = None
        self.suggestions = None         # core.moments.Suggestions of the open photo, once scored
        self.top: list = []             # its best TOP moments other than the key photo (FrameScore), best first
        self.busy = False
        self.fraction = 0.0
        self.status = ""
        self.error = ""
        self._job: Job | None = None
        self.generation = 0
        # A ranking already made for a photo (the library's cache: LibraryModel.cached_suggestions), asked on the
        # scoring's worker before scoring: live -> Suggestions | None.
        self.known = None

    def set_live(self, live) -> None:
        """Forget the previous photo's scores (cancelling its job); scoring of ``live`` starts with :meth:`start`."""
        self.generation += 1
        if self._job is not None:
            self._job.cancel()
            self._job = None
        self.live = live
        self.suggestions = None
        self.top = []
        self.busy = False
        self.fraction = 0.0
        self.error = ""
        self.status = ""
        self.suggestionsChanged.emit()
        self.stateChanged.emit()

    def start(self, alignments: dict | None = None) -> Job | None:
        """Score the open photo's frames (``alignments``: full alignments already made, frame -> Alignment)."""
        live, generation = self.live, self.generation
        if live is None or self.busy or self.suggestions is not None:
            return None
        known = self.known
        job = self.lanes.thumbs.run(lambda progress: _score(live, dict(alignments or {}), progress, known),
                                    name="Finding the best moments")
        self._job = job
        self.busy, self.fraction, self.status, self.error = True, 0.0, "Finding the best moments…", ""
        job.progressed.connect(lambda f, _t, g=generation: self._on_progress(g, f))
        job.succeeded.connect(lambda result, g=generation: self._on_result(g, result))
        job.failed.connect(lambda exc, g=generation: self._on_failed(g, exc))
        job.finished.connect(lambda g=generation: self._on_end(g))
        self.stateChanged.emit()
        return job

    def _on_progress(self, generation: int, fraction: float) -> None:
        if generation == self.generation:
            self.fraction = fraction
            self.stateChanged.emit()

    def _on_result(self, generation: int, result) -> None:
        if generation != self.generation:
            return
        self.suggestions = result
        # The key photo is on the filmstrip already, and the photo opens on it: the list offers other moments.
        self.top = result.top(TOP, key=False)
        self.status = ""
        self.suggestionsChanged.emit()

    def _on_failed(self, generation: int, exc) -> None:
        if generation == self.generation:
            self.error = f"Could not score the frames: {exc}"

    def _on_end(self, generation: int) -> None:
        if generation != self.generation:
            return
        self._job = None
        self.busy = False
        if self.suggestions is None and not self.error:
            self.status = ""
        self.stateChanged.emit()

    # Queries ------------------------------------------------------------------------------------------------
    def rank_of(self, index: int) -> int:
        """1-based rank of frame ``index`` among the top suggestions, 0 when it is not one."""
        for rank, f in enumerate(self.top, 1):
            if f.index == index:
                return rank
        return 0

    @property
    def key_frame(self):
        """The key photo's FrameScore, once scored (None before, or for a clip without one)."""
        s = self.suggestions
        return s.frames[s.key_index] if s is not None and s.key_index is not None else None

    @property
    def key_is_best(self) -> bool:
        best = self.suggestions.best() if self.suggestions is not None else None
        return best is not None and best.is_key

    def score_of(self, index: int):
        if self.suggestions is None or not 0 <= index < len(self.suggestions.frames):
            return None
        return self.suggestions.frames[index]

    def next_suggestion(self, current: int) -> int:
        """The suggestion after ``current`` in rank order (the best when ``current`` is none of them), cycling;
        -1 while there are none."""
        if not self.top:
            return -1
        rank = self.rank_of(current)
        return self.top[rank % len(self.top)].index

    @staticmethod
    def tooltip(frame, rank: int) -> str:
        """Plain text: the suggestion's rank, frame, score and reasons."""
        head = f"Suggestion {rank} · frame {frame.index + 1} · {frame.time_s:.2f} s · score {frame.score * 100:.0f}"
        return "\n".join([head] + [f"• {r}" for r in frame.reasons[:4]])
