"""core.batch: reserved output names, the journal, resuming (triage) and the driver on the local engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from livemoments_app.core.batch.engine_local import LocalEngine
from livemoments_app.core.batch.item import checksum
from livemoments_app.core.batch.journal import JOURNAL_NAME, FolderLock, Journal, JournalError, JournalMismatchError
from livemoments_app.core.batch.plan import BatchSettings, FrameChoice, describe_identity, names_in, reserve_names
from livemoments_app.core.batch.runner import item_of, open_batch, preview_rows, run_batch, summary, triage
from livemoments_app.core.errors import RestoreError
from tests.support.batch import write_photos

CLASSIC = BatchSettings(FrameChoice("index", 3), "classic")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    return write_photos(tmp_path_factory.mktemp("photos"), 3)


def _run(out: Path, sources: list[Path], settings: BatchSettings = CLASSIC, *, retry_failed=False, jobs=1):
    out.mkdir(exist_ok=True)
    journal, rows = open_batch(out, settings, sources)
    with journal:
        triaged = triage(rows, out, retry_failed=retry_failed, journal=journal)
        counts = run_batch(journal, [item_of(r) for r in triaged.todo], settings, out, LocalEngine(jobs))
        return triaged, counts, {r.source.name: r for r in journal.rows()}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def test_reserved_names_skip_taken_names_and_each_other(tmp_path):
    (tmp_path / "IMG_1_LM.jpg").write_bytes(b"someone else's")
    sources = [Path("a/IMG_1.HEIC"), Path("b/IMG_1.HEIC"), Path("c/img_1.jpg"), Path("d/IMG_2.HEIC")]
    assert reserve_names(sources, False, names_in(tmp_path)) == [
        ("IMG_1_LM_2", "_LM_2"), ("IMG_1_LM_3", "_LM_3"), ("img_1_LM_4", "_LM_4"), ("IMG_2_LM", "_LM")]
    # A Pixel motion photo written back keeps .MP last, as the writer names it.
    assert reserve_names([Path("PXL_1.MP.jpg"), Path("x/PXL_1.MP.jpg")], True, set()) == [
        ("PXL_1_LM.MP", "_LM"), ("PXL_1_LM_2.MP", "_LM_2")]


def test_the_journal_keeps_rows_and_settings_across_opens(tmp_path):
    with Journal(tmp_path) as journal:
        journal.check_identity(CLASSIC.identity())
        a, b, c = journal.add([(Path("/p/a.heic"), "a_LM", "_LM"), (Path("/p/b.heic"), "b_LM", "_LM"),
                               (Path("/p/c.heic"), "c_LM", "_LM")])
        journal.mark_running(a.id, "host:1")
        journal.mark_done(a.id, [("a_LM.HEIC", "ab" * 32)], seconds=1.5, frame=3, key_frame=8, restorer="classic",
                          notes=["GPS"])
        journal.mark_running(b.id, "host:2")
        journal.mark_failed(b.id, "b.heic: truncated", seconds=0.1)
    with Journal(tmp_path, readonly=True) as journal:
        assert journal.identity == CLASSIC.identity()
        rows = journal.rows()
        assert [(r.state, r.attempts) for r in rows] == [("done", 1), ("failed", 1), ("pending", 0)]
        assert rows[0].outputs == [("a_LM.HEIC", "ab" * 32)] and rows[0].notes == ["GPS"]
        assert (rows[0].frame, rows[0].key_frame, rows[0].worker) == (3, 8, "host:1")
        assert rows[1].error == "b.heic: truncated"
        with pytest.raises(JournalMismatchError, match=r"frame: frame 3 -> -0.3 s from the key photo"):
            journal.check_identity(BatchSettings(FrameChoice("offset", -0.3), "classic").identity())


def test_a_journal_in_a_relative_folder_opens_read_only(tmp_path, monkeypatch):
    """A dry run over ``--out restored`` (relative) read the journal through a file URI, which a relative path
    cannot be: a ValueError traceback instead of the plan."""
    monkeypatch.chdir(tmp_path)
    Path("restored").mkdir()
    with Journal(Path("restored")) as journal:
        journal.check_identity(CLASSIC.identity())
    with Journal(Path("restored"), readonly=True) as journal:
        assert journal.identity == CLASSIC.identity()


def test_a_damaged_journal_is_a_clear_error(tmp_path):
    (tmp_path / JOURNAL_NAME).write_bytes(b"not a database, just bytes" * 100)
    with pytest.raises(JournalError, match="cannot be read"):
        Journal(tmp_path)


def test_a_journal_that_cannot_be_written_is_a_clear_error(tmp_path):
    """A full disk or a share gone away mid-batch: one line naming the journal, not an sqlite3 traceback."""
    with Journal(tmp_path) as journal:
        journal.check_identity(CLASSIC.identity())
        [row] = journal.add([(Path("/p/a.heic"), "a_LM", "_LM")])
        journal._db.execute("PRAGMA query_only = ON")          # every write now fails, as on a full disk
        with pytest.raises(JournalError, match=r"^\.livemoments-batch\.sqlite: the batch journal cannot be written"):
            journal.mark_running(row.id)


def test_a_second_batch_is_kept_out_of_a_folder_in_use(tmp_path):
    with FolderLock(tmp_path):
        with pytest.raises(JournalError, match="another batch"):
            with FolderLock(tmp_path):
                pass
    with FolderLock(tmp_path):      # released
        pass


def test_the_best_moment_is_a_frame_choice_without_a_value():
    best = FrameChoice("best")
    assert best.job_fields() == {"moment": "best"} and best.describe() == "the best moment"
    assert describe_identity(BatchSettings(best, "classic").identity())["frame"] == "the best moment"
    with pytest.raises(RestoreError, match="takes no value"):
        FrameChoice("best", 3)


def test_a_batch_runs_resumes_and_redoes_what_was_damaged(photos, tmp_path):
    out = tmp_path / "out"
    triaged, counts, rows = _run(out, photos, jobs=2)
    assert (counts.restored, counts.failed, len(triaged.done)) == (3, 0, 0)
    first = _files(out)
    assert sorted(first) == ["IMG_0000_LM.HEIC", "IMG_0001_LM.HEIC", "IMG_0002_LM.HEIC"]
    for row in rows.values():
        assert row.state == "done" and row.frame == 3 and row.key_frame == 8 and row.restorer == "classic"
        [(name, digest)] = row.outputs
        assert checksum(out / name) == digest

    # Resume: all done, nothing rewritten.
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    triaged, counts, _ = _run(out, photos)
    assert (counts.restored, len(triaged.done)) == (0, 3)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if not p.name.startswith(".")} == {
        k: v for k, v in stamps.items() if not k.startswith(".")}

    # A damaged output, a missing one and a temporary file a killed writer left behind.
    damaged = bytearray((out / "IMG_0001_LM.HEIC").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (out / "IMG_0001_LM.HEIC").write_bytes(bytes(damaged))
    (out / "IMG_0002_LM.HEIC").unlink()
    (out / ".IMG_0002_LM.HEIC.0123abcd.part").write_bytes(b"half")
    triaged, counts, _ = _run(out, photos)
    assert triaged.redo == {rows["IMG_0001.HEIC"].id: "IMG_0001_LM.HEIC was changed or damaged",
                            rows["IMG_0002.HEIC"].id: "IMG_0002_LM.HEIC is missing"}
    assert (counts.restored, len(triaged.done)) == (2, 1)
    assert _files(out) == first                                  # redone byte for byte, under the same names
    assert not list(out.glob(".*.part"))


def test_an_interrupted_photo_is_redone_and_its_leftovers_removed(photos, tmp_path):
    out = tmp_path / "out"
    _run(out, photos[:1])
    reference = _files(out)
    with Journal(out) as journal:
        [row] = journal.rows()
        journal.mark_running(row.id, "gone:1")       # as a killed driver leaves it
    (out / ".IMG_0000_LM.HEIC.deadbeef.part").write_bytes(b"partial")
    triaged, counts, rows = _run(out, photos[:1])
    assert triaged.redo == {row.id: "interrupted"} and counts.restored == 1
    assert rows["IMG_0000.HEIC"].attempts == 3           # done, the killed attempt, the redo
    assert _files(out) == reference and not list(out.glob(".*.part"))


def test_failures_are_recorded_and_retried_only_when_asked(photos, tmp_path):
    bad = tmp_path / "src" / "IMG_BAD.HEIC"
    bad.parent.mkdir()
    bad.write_bytes(photos[0].read_bytes()[:2000])          # truncated
    out = tmp_path / "out"
    _, counts, rows = _run(out, [bad, photos[0]])
    assert (counts.restored, counts.failed) == (1, 1)
    assert rows["IMG_BAD.HEIC"].state == "failed" and "IMG_BAD.HEIC" in rows["IMG_BAD.HEIC"].error
    assert "\n" not in rows["IMG_BAD.HEIC"].error
    triaged, counts, rows = _run(out, [bad, photos[0]])
    assert [r.source.name for r in triaged.failed] == ["IMG_BAD.HEIC"] and counts.failed == 0
    assert rows["IMG_BAD.HEIC"].attempts == 1
    triaged, counts, rows = _run(out, [bad, photos[0]], retry_failed=True)
    assert counts.failed == 1 and rows["IMG_BAD.HEIC"].attempts == 2


def test_other_settings_need_a_restart_which_replaces_the_outputs(photos, tmp_path):
    out = tmp_path / "out"
    _run(out, photos[:2])
    before = _files(out)
    other = BatchSettings(FrameChoice("key"), "classic")
    with pytest.raises(JournalMismatchError, match="frame: frame 3 -> the key frame"):
        open_batch(out, other, photos[:2])
    with pytest.raises(JournalMismatchError):
        preview_rows(out, other, photos[:2])                # a dry run says so too
    (out / "IMG_0001_LM.HEIC").write_bytes(b"the user's edit")   # no longer ours: kept
    # A dry run of the restart names what the restart will write (the unchanged output's name is free again).
    assert [r.name for r in preview_rows(out, other, photos[:2], restart=True)] == ["IMG_0000_LM", "IMG_0001_LM_2"]
    journal, rows = open_batch(out, other, photos[:2], restart=True)
    with journal:
        assert journal.identity == other.identity() and all(r.state == "pending" for r in rows)
        assert [r.name for r in rows] == ["IMG_0000_LM", "IMG_0001_LM_2"]
        counts = run_batch(journal, [item_of(r) for r in rows], other, out, LocalEngine())
        assert counts.restored == 2
        final = {r.source.name: r for r in journal.rows()}
    after = _files(out)
    assert after["IMG_0001_LM.HEIC"] == b"the user's edit"
    assert after["IMG_0000_LM.HEIC"] != before["IMG_0000_LM.HEIC"]    # the key frame (8), not frame 3
    assert final["IMG_0000.HEIC"].frame == final["IMG_0000.HEIC"].key_frame == 8


def test_summary_counts_states_and_time_per_photo(photos, tmp_path):
    out = tmp_path / "out"
    bad = tmp_path / "broken.HEIC"
    bad.write_bytes(b"\x00" * 64)
    _run(out, [photos[0], bad])
    journal, rows = open_batch(out, CLASSIC, [photos[0], bad, photos[1]])
    with journal:
        triaged = triage(rows, out, journal=journal)
        counts = run_batch(journal, [item_of(r) for r in triaged.todo], CLASSIC, out, LocalEngine())
        numbers = summary(journal, [r.id for r in rows], wall_s=2.0, triaged=triaged, counts=counts)
    assert numbers["photos"] == 3
    assert numbers["states"] == {"done": 2, "failed": 1, "pending": 0, "running": 0}
    assert numbers["this_run"]["restored"] == 1 and numbers["this_run"]["skipped_done"] == 1
    assert numbers["this_run"]["skipped_failed"] == 1
    per_photo = numbers["seconds"]["per_photo"]
    assert per_photo["count"] == 2 and 0 < per_photo["p50"] <= per_photo["p90"] <= per_photo["max"]
    assert numbers["failures"][0]["input"] == "broken.HEIC" and numbers["failures"][0]["path"] == str(bad)
