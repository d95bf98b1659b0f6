"""Closing a photo lets it go: the view models keep no reference to a LivePhoto after ``set_live(None)``, so its
still, its decoders and the aligner's per-photo cache (hundreds of MB) are freed."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

pytest.importorskip("pytestqt")

from livemoments_app.ui.viewmodels import alignment as alignment_vm  # noqa: E402
from livemoments_app.ui.workers import Lanes  # noqa: E402

pytestmark = pytest.mark.gui


class _FakeLive:
    """Stands in for a LivePhoto: only its identity and lifetime matter here."""


class _FakeAlignment:
    aligned_share = 0.9


def _no_overlays(monkeypatch) -> None:
    """The alignment model draws no overlay (there is no real photo to draw it from)."""
    monkeypatch.setattr(alignment_vm, "_render", lambda live, index, alignment, mode, opacity, cache, progress: None)


def _let_go(qtbot, *refs) -> None:
    """Waits (at most 3 s) for the weakly referenced objects to be collected. Lanes let go of a job one event-loop
    turn after it ends and the pool thread a moment later; on a busy machine that takes more than a fixed 50 ms.
    What is never freed still fails the caller's assertions."""
    def freed() -> bool:
        gc.collect()
        return all(ref() is None for ref in refs)

    try:
        qtbot.waitUntil(freed, timeout=3000)
    except qtbot.TimeoutError:
        pass


def test_alignment_model_forgets_a_closed_photo(qtbot, monkeypatch):
    monkeypatch.setattr(alignment_vm, "_align", lambda live, index, progress: _FakeAlignment())
    _no_overlays(monkeypatch)
    lanes = Lanes()
    model = alignment_vm.AlignmentModel(lanes)
    live = _FakeLive()
    gone = weakref.ref(live)
    model.set_live(live)
    with qtbot.waitSignal(model.alignmentReady, timeout=5000):
        model.request(3, immediately=True)
    qtbot.waitUntil(lambda: not lanes.work.active, timeout=5000)
    model.set_live(None)
    del live
    _let_go(qtbot, gone)
    assert gone() is None, "the alignment view model still holds the closed photo"
    assert lanes.shutdown(2000)


def test_finished_jobs_and_their_closures_are_freed(qtbot):
    from livemoments_app.ui.workers import Lane, Latest

    lane = Lane("release", 1)
    held = _FakeLive()
    gone = weakref.ref(held)
    job = lane.run(lambda _p, h=held: 1, name="plain")
    job_gone = weakref.ref(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    latest = Latest(lane, "latest")
    got = []
    latest.resultReady.connect(lambda key, value: got.append(key))
    latest.request("k", lambda _p, h=held: 2)
    qtbot.waitUntil(lambda: got == ["k"] and not latest.busy, timeout=5000)
    del job, held
    _let_go(qtbot, job_gone, gone)
    assert job_gone() is None, "a finished job is kept alive by its own connections"
    assert gone() is None, "a finished job's closure still holds what it captured"
    assert lane.shutdown(2000)


def test_restore_model_forgets_a_closed_photo(qtbot, monkeypatch):
    from livemoments_app.ui.viewmodels import restore as restore_vm

    monkeypatch.setattr(restore_vm, "_restore", lambda live, index, *rest: (object(), None, None, None))
    lanes = Lanes()
    model = restore_vm.RestoreModel(lanes)
    model.restorers = [restore_vm.RestorerInfo("classic", "Classic", True)]
    live = _FakeLive()
    gone = weakref.ref(live)
    model.set_live(live)
    job = model.start(2, alignment=_FakeAlignment())
    assert job is not None
    with qtbot.waitSignal(model.resultReady, timeout=5000):
        pass
    qtbot.waitUntil(lambda: not model.running and not lanes.work.active, timeout=5000)
    del job
    model.set_live(None)
    del live
    _let_go(qtbot, gone)
    assert gone() is None, "the restore view model still holds the closed photo"
    assert lanes.shutdown(2000)


def test_scrubbing_back_to_the_frame_being_aligned_does_not_restart_it(qtbot, monkeypatch):
    gate = threading.Event()
    calls = []

    def slow_align(live, index, progress):
        calls.append(index)
        gate.wait(5)
        progress.check()
        return _FakeAlignment()

    monkeypatch.setattr(alignment_vm, "_align", slow_align)
    _no_overlays(monkeypatch)
    lanes = Lanes()
    model = alignment_vm.AlignmentModel(lanes)
    model.set_live(_FakeLive())
    model.request(5, immediately=True)
    qtbot.waitUntil(lambda: calls == [5], timeout=5000)
    model.request(5, immediately=True)        # e.g. scrubbed to 6 and back within the debounce
    qtbot.wait(100)
    with qtbot.waitSignal(model.alignmentReady, timeout=5000):
        gate.set()
    qtbot.waitUntil(lambda: not lanes.work.active, timeout=5000)
    assert calls == [5]
    assert 5 in model.cache
    assert lanes.shutdown(2000)


def test_every_finished_slot_runs_when_nobody_keeps_the_job(qtbot):
    # The lane frees finished jobs; it must not free one before the slots queued behind its own have run
    # (PySide drops them with their sender), e.g. RestoreModel.load_restorers' "done" whose job nobody keeps.
    from livemoments_app.ui.workers import Lane

    lane = Lane("slots", 2)
    done = []
    for i in range(300):
        job = lane.run(lambda _p: None, name="quick")
        job.finished.connect(lambda i=i: done.append(i))
        del job
    qtbot.waitUntil(lambda: len(done) == 300, timeout=10000)
    assert lane.shutdown(2000)


@pytest.mark.parametrize("cancel_the_wait", [False, True])
def test_a_restore_asked_while_its_frame_aligns_starts_once_aligned_unless_cancelled(qtbot, monkeypatch, tmp_path,
                                                                                  cancel_the_wait):
    import numpy as np
    from PySide6.QtCore import QSettings

    from livemoments_app.ui.imaging import Picture
    from livemoments_app.ui.viewmodels import restore as restore_vm
    from livemoments_app.ui.viewmodels.settings import SettingsModel
    from livemoments_app.ui.workspace import Workspace

    gate = threading.Event()

    def slow_align(live, index, progress):
        gate.wait(5)
        return _FakeAlignment()

    restored = []

    def fake_restore(live, index, *rest):
        restored.append(index)
        tiny = Picture(np.zeros((4, 4, 3), np.uint8))
        return object(), tiny, tiny, None

    monkeypatch.setattr(alignment_vm, "_align", slow_align)
    _no_overlays(monkeypatch)
    monkeypatch.setattr(restore_vm, "_restore", fake_restore)
    ws = Workspace(SettingsModel(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    ws.restore.restorers = [restore_vm.RestorerInfo("classic", "Classic", True)]
    ws.restore.selected = "classic"
    live = _FakeLive()
    ws.alignment.set_live(live)
    ws.restore.set_live(live)
    ws.timeline.set_clip([0.0, 0.1, 0.2, 0.3, 0.4], 0)
    ws.timeline.choose(3)                     # starts aligning frame 3
    assert ws.alignment.busy and ws.alignment.target == 3
    assert ws.start_restore() is None         # waits for that alignment instead of aligning again
    assert ws.restore.waiting_for == 3 and "frame 4" in ws.restore.waiting
    assert not ws.restore.can_start(3)[0]
    if cancel_the_wait:
        ws.restore.cancel()
        assert ws.restore.waiting == "" and ws.restore.status == "Cancelled."
    with qtbot.waitSignal(ws.alignment.alignmentReady, timeout=5000):
        gate.set()
    if cancel_the_wait:
        qtbot.wait(100)
        assert restored == [] and ws.restore.job is None
    else:
        with qtbot.waitSignal(ws.restore.resultReady, timeout=5000):
            pass
        assert restored == [3]
    assert ws.restore.waiting_for == -1
    qtbot.waitUntil(lambda: not ws.restore.running and not ws.lanes.work.active, timeout=5000)
    qtbot.wait(50)                            # the jobs' queued "finished" slots
    ws.shutdown()
