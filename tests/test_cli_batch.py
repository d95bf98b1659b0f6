"""`livemoments restore` over many inputs: folders and globs, failures reported without stopping the batch,
a non-zero exit listing them, dry runs that write nothing, nothing written next to the originals, and a batch
that resumes where it was killed."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from livemoments_app.cli import batch, main
from livemoments_app.core.batch.inputs import expand_inputs
from livemoments_app.core.batch.item import preview_item
from livemoments_app.core.batch.journal import JOURNAL_NAME, LOCK_NAME, Journal
from livemoments_app.core.batch.plan import BatchSettings, FrameChoice, PlanItem
from livemoments_app.core.pipeline import KEY_PHOTO_IS_BEST
from tests.conftest import ROOT, sample
from tests.support.batch import write_photos

EXPECTED_FAILURES = {"pixel4xl_motionphoto_v2_truncated.jpg", "samsung_s20ultra_microvideo_v1_truncated.jpg",
                     "iphone14pro_dolbyvision_hlg_notlive.MOV"}


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _restore_args(argv: list[str]) -> argparse.Namespace:
    from livemoments_app.cli import build_parser

    return build_parser().parse_args(["restore", *argv])


def test_expand_inputs_takes_folders_globs_and_pairs_once(samples_dir, tmp_path):
    paths, missing = expand_inputs([str(samples_dir), str(samples_dir / "apple_*.HEIC"),
                                    str(tmp_path / "nothing.jpg"), str(tmp_path / "*.heic")])
    names = [p.name for p in paths]
    assert "apple_iphone15pro_IMG_4394.HEIC" in names and names.count("apple_iphone15pro_IMG_4394.HEIC") == 1
    assert "apple_iphone15pro_IMG_4394.mov" not in names           # the MOV comes with its still
    assert "apple_iphone6s_0FFBE909_3.mov" not in names
    assert "iphone14pro_dolbyvision_hlg_notlive.MOV" in names      # a lone video is tried (and will fail)
    assert "SOURCES.md" not in names
    assert [m.error for m in missing] == ["nothing.jpg: no such file", f"{tmp_path / '*.heic'}: no photo matches"]


def test_expand_inputs_lists_each_folder_once(tmp_path, monkeypatch):
    """Pairing goes through one listing per folder: listing it again for every still made a folder of 2,000
    pairs take a minute before the first photo."""
    from livemoments_app.core.livephoto import open as open_mod

    for i in range(5):
        (tmp_path / f"IMG_{i}.HEIC").write_bytes(b"x")
        (tmp_path / f"IMG_{i}.MOV").write_bytes(b"x")
    (tmp_path / "lone.MOV").write_bytes(b"x")
    listed = []
    real = open_mod.folder_listing
    monkeypatch.setattr(open_mod, "folder_listing", lambda folder: listed.append(folder) or real(folder))
    paths, missing = expand_inputs([str(tmp_path), str(tmp_path / "IMG_1.HEIC")])
    assert [p.name for p in paths] == [f"IMG_{i}.HEIC" for i in range(5)] + ["lone.MOV"] and not missing
    assert listed == [tmp_path]


def test_single_photo_form_is_not_a_batch(tmp_path):
    single = _restore_args(["x.jpg", "--frame", "3", "-o", str(tmp_path / "o.jpg")])
    pair = _restore_args(["x.jpg", "x.mov", "--frame", "3", "-o", str(tmp_path / "o.jpg")])
    plain = _restore_args(["--reference", "a.png", "--target", "b.png", "-o", str(tmp_path / "o.jpg")])
    assert not batch.wants_batch(single) and not batch.wants_batch(pair) and not batch.wants_batch(plain)
    assert batch.wants_batch(_restore_args(["a.jpg", "b.jpg", "--frame", "3", "-o", str(tmp_path)]))
    assert batch.wants_batch(_restore_args(["a.jpg", "--frame", "3"]))              # no -o: default folder
    assert batch.wants_batch(_restore_args(["a.jpg", "--frame", "3", "--write-back", "-o", str(tmp_path)]))
    assert batch.wants_batch(_restore_args(["a.jpg", "--frame", "3", "--engine", "ray", "-o", str(tmp_path)]))
    assert batch.wants_batch(_restore_args(["a.jpg", "--frame", "3", "--retry-failed", "-o", str(tmp_path)]))


def test_dry_run_plans_and_writes_nothing(samples_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = _listing(samples_dir)
    rc = main(["restore", str(samples_dir), "--offset", "-0.3", "--dry-run", "--write-back"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert list(tmp_path.iterdir()) == []                   # not even the output folder
    assert _listing(samples_dir) == before
    assert "apple_iphone15pro_IMG_4394_LM.HEIC" in out and "apple_iphone15pro_IMG_4394_LM.mov" in out
    assert "planned" in out and "37->28" in out            # key frame 37, 0.3 s earlier is frame 28
    assert "3 of 7 failed" in err
    for name in EXPECTED_FAILURES:
        assert name in err


@pytest.mark.slow
def test_batch_over_the_samples_reports_the_broken_files(samples_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = _listing(samples_dir)
    rc = main(["restore", str(samples_dir), "--offset", "-0.2", "--restorer", "classic", "--scale", "0.25",
               "--jobs", "2"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert _listing(samples_dir) == before                  # nothing written next to the originals
    written = sorted(p.name for p in (tmp_path / batch.DEFAULT_OUT).iterdir() if not p.name.startswith("."))
    assert written == ["apple_iphone15pro_IMG_4394_LM.HEIC", "apple_iphone6s_0FFBE909_LM.jpeg",
                       "libmphoto_heic_motionphoto_pixel4video_LM.heic", "samsung_s22_oneui6_motionphoto_LM.heic"]
    assert [p.name for p in tmp_path.iterdir()] == [batch.DEFAULT_OUT]
    failed_lines = [line for line in out.splitlines() if "FAILED" in line]
    assert {line.split()[0] for line in failed_lines} == EXPECTED_FAILURES
    assert "3 of 7 failed" in err and "truncated" in err


def test_write_back_batch_of_one_pair(tmp_path, capsys):
    still = sample("apple_iphone6s_0FFBE909.jpeg")
    rc = main(["restore", str(still), "--frame", "40", "--restorer", "classic", "--scale", "0.25", "--write-back",
               "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [LOCK_NAME, JOURNAL_NAME,
                                                                   "apple_iphone6s_0FFBE909_LM.jpeg",
                                                                   "apple_iphone6s_0FFBE909_LM.mov"]
    from livemoments_app.core.livephoto import open_live_photo

    with open_live_photo(tmp_path / "out" / "apple_iphone6s_0FFBE909_LM.jpeg") as back:
        assert back.key_frame_index == 40
        assert back.details.get("pairing") == "content_identifier"
    assert "30->40" in out


def test_an_unwritable_output_folder_fails_cleanly(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["restore", str(tmp_path / "missing.jpg"), "--frame", "1", "--out", str(blocker / "sub")])
    assert rc == 1
    assert "cannot create the output folder" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["file"]


def test_interrupt_stops_the_batch_without_starting_the_rest(tmp_path, monkeypatch, capsys):
    from livemoments_app.core.batch import engine_local

    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (tmp_path / name).write_bytes(b"\xff\xd8\xff")
    started = []

    def interrupted(item, *args, **kwargs):
        started.append(item.source.name)
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_local, "restore_item", interrupted)
    rc = main(["restore", str(tmp_path), "--frame", "1", "--out", str(tmp_path / "out")])
    assert rc == 130 and started == ["a.jpg"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [LOCK_NAME, JOURNAL_NAME]
    with Journal(tmp_path / "out", readonly=True) as journal:       # all still to do, the first one interrupted
        assert [(r.source.name, r.state, r.error) for r in journal.rows()] == [
            ("a.jpg", "pending", "interrupted"), ("b.jpg", "pending", ""), ("c.jpg", "pending", "")]


def test_a_file_name_as_batch_output_is_refused(tmp_path, capsys):
    rc = main(["restore", str(tmp_path / "a.jpg"), "--frame", "1", "--write-back", "-o", str(tmp_path / "x.jpg")])
    assert rc == 2 and "folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_dry_run_names_the_write_back_format_that_write_back_uses(tmp_path, monkeypatch):
    """A high-bit-depth HEIC key photo is written back as HEIC (a Motion Photo cannot hold a PNG); the dry run
    used to plan a .png name for it."""
    import dataclasses

    import numpy as np

    import livemoments_app.core.livephoto as livephoto
    from livemoments_app.core.export import write_back

    path = sample("samsung_s22_oneui6_motionphoto.heic")
    real_open = livephoto.open_live_photo

    def open_16bit(p, partner=None, **kw):
        lp = real_open(p, partner, **kw)
        pixels = lp.still.pixels.astype(np.uint16) * 257
        return dataclasses.replace(lp, still=dataclasses.replace(lp.still, pixels=pixels, bit_depth=10))

    monkeypatch.setattr(livephoto, "open_live_photo", open_16bit)
    settings = BatchSettings(FrameChoice("index", 5), "classic", write_back=True)
    planned = preview_item(PlanItem(1, path, "samsung_s22_oneui6_motionphoto_LM", "_LM"), settings, tmp_path)
    assert planned.ok, planned.error
    with open_16bit(path) as lp:
        written = write_back(lp, lp.still.pixels[::8, ::8], 5, tmp_path)
    assert [Path(name).suffix for name, _ in planned.outputs] == [p.suffix for p in written] == [".heic"]


def test_dry_run_names_a_pixel_motion_photo_as_write_back_names_it(tmp_path, capsys):
    """Write-back keeps Pixel's ``.MP`` last (PXL_1_LM.MP.jpg); the dry run used to plan PXL_1.MP_LM.jpg."""
    from tests.support import synth

    src = tmp_path / "src"
    src.mkdir()
    path = synth.write_motion_photo_jpeg(src / "PXL_1.MP.jpg")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["restore", str(path), "--frame", "2", "--write-back", "--restorer", "classic", "--out", str(out),
                 "--dry-run"]) == 0
    planned = capsys.readouterr().out
    assert main(["restore", str(path), "--frame", "2", "--write-back", "--restorer", "classic",
                 "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["PXL_1_LM.MP.jpg"]
    assert str(out / "PXL_1_LM.MP.jpg") in planned


# ------------------------------------------------------------------------------------------------ resumable


@pytest.fixture(scope="module")
def six_photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("six")
    write_photos(folder, 6)
    return folder


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def _states(folder: Path) -> list[str]:
    with Journal(folder, readonly=True) as journal:
        return [row.state for row in journal.rows()]


def _done_count(folder: Path) -> int:
    import sqlite3

    from livemoments_app.core.batch.journal import JournalError

    if not (folder / JOURNAL_NAME).is_file():
        return 0
    try:
        return _states(folder).count("done")
    except (JournalError, sqlite3.Error):      # created but no tables yet, or busy
        return 0


def test_a_batch_killed_mid_way_resumes_to_the_same_outputs(six_photos, tmp_path):
    """SIGKILL at a random moment after a random number of photos: nothing half-written is left under a final
    name, and the same command finishes the rest with outputs byte-identical to an uninterrupted run."""
    import random
    import signal
    import subprocess
    import sys
    import time

    command = ["restore", str(six_photos), "--frame", "3", "--restorer", "classic"]
    assert main([*command, "--out", str(tmp_path / "reference")]) == 0
    reference = _outputs(tmp_path / "reference")
    assert len(reference) == 6
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kill_after = rng.randint(1, 4)
    out = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, "-m", "livemoments_app", *command, "--out", str(out)],
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    try:
        while _done_count(out) < kill_after:
            assert child.poll() is None, f"the batch ended before it was killed (seed {seed})"
            assert time.monotonic() < deadline, f"no progress (seed {seed})"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))              # somewhere inside the next photo
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    left = _outputs(out)
    assert kill_after <= len(left) < 6, f"seed {seed}"
    for name, data in left.items():                     # atomic writes: a final name holds a whole file
        assert data == reference[name], f"{name} (seed {seed})"
    assert main([*command, "--out", str(out)]) == 0
    assert _outputs(out) == reference, f"seed {seed}"
    assert not list(out.glob(".*.part"))
    assert _states(out) == ["done"] * 6


def test_a_damaged_output_is_redone_and_the_others_left_alone(six_photos, tmp_path, capsys):
    out = tmp_path / "out"
    command = ["restore", str(six_photos), "--frame", "3", "--restorer", "classic", "--jobs", "2", "--out", str(out)]
    assert main(command) == 0
    first = _outputs(out)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if not p.name.startswith(".")}
    victim = out / "IMG_0004_LM.HEIC"
    data = bytearray(victim.read_bytes())
    data[100] ^= 0x01
    victim.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(command) == 0
    captured = capsys.readouterr()
    assert "IMG_0004.HEIC: redone (IMG_0004_LM.HEIC was changed or damaged)" in captured.err
    assert "1 restored, 0 failed, 5 already done (outputs checked)" in captured.out
    assert _outputs(out) == first
    assert {n: t for n, t in stamps.items() if n != victim.name} == {
        p.name: p.stat().st_mtime_ns for p in out.iterdir() if not p.name.startswith(".") and p != victim}


def test_a_bad_input_is_recorded_as_failed_and_the_batch_goes_on(six_photos, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("IMG_0000.HEIC", "IMG_0000.MOV", "IMG_0001.HEIC", "IMG_0001.MOV"):
        (src / name).write_bytes((six_photos / name).read_bytes())
    (src / "IMG_0001.MOV").write_bytes((six_photos / "IMG_0001.MOV").read_bytes()[:3000])     # truncated clip
    out = tmp_path / "out"
    rc = main(["restore", str(src), "--frame", "3", "--restorer", "classic", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    summary = json.loads(captured.out)
    assert summary["states"] == {"done": 1, "failed": 1, "pending": 0, "running": 0}
    assert summary["failures"][0]["input"] == "IMG_0001.HEIC" and "IMG_0001" in summary["failures"][0]["error"]
    assert summary["failures"][0]["path"] == str(src / "IMG_0001.HEIC")     # two folders may hold an IMG_0001
    assert "1 of 2 failed" in captured.err
    assert _outputs(out).keys() == {"IMG_0000_LM.HEIC"}
    # Run again: the summary line counts the failure skipped, not "0 failed" above "1 of 2 failed".
    assert main(["restore", str(src), "--frame", "3", "--restorer", "classic", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "0 restored, 0 failed, 1 already done (outputs checked), 1 failed before (not retried)" in captured.out
    assert "1 of 2 failed (--retry-failed tries them again)" in captured.err


def test_json_summary_and_progress_lines(six_photos, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["restore", str(six_photos / "IMG_000[0-2].HEIC"), "--frame", "key", "--restorer", "classic",
               "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0
    summary = json.loads(captured.out)                  # stdout is the JSON alone
    assert summary["photos"] == 3 and summary["states"]["done"] == 3
    assert summary["this_run"]["restored"] == 3 and summary["seconds"]["per_photo"]["count"] == 3
    assert summary["photos_per_minute"] > 0
    lines = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in lines] == ["[1/3", "[2/3", "[3/3"]
    assert all("photos/min, ETA" in line for line in lines)
    with Journal(out, readonly=True) as journal:
        assert {(r.frame, r.key_frame) for r in journal.rows()} == {(8, 8)}


def test_the_progress_bar_on_a_terminal_counts_photos_with_rate_and_eta():
    import io

    from livemoments_app.core.batch.item import ItemResult

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = batch.TerminalProgress(5, 2, stream=stream)
    for i in range(2):
        item = PlanItem(i, Path(f"IMG_{i}.HEIC"), f"IMG_{i}_LM", "_LM")
        progress.finished(item, ItemResult(i, item.source, ok=i == 0, error="broken"))
    progress.close()
    text = stream.getvalue()
    assert "4/5 photos" in text and "ETA" in text and "photo/s" in text and "1 failed" in text


def test_the_progress_bar_shows_on_a_terminal_that_reports_no_size(monkeypatch):
    """A fresh pseudo-terminal reports 0x0 (docker exec -t, some CI runners): the bar drew nothing at all there,
    so a batch of days showed no progress."""
    import pty
    import sys

    from livemoments_app.core.batch.item import ItemResult

    master, child = pty.openpty()
    assert os.get_terminal_size(child) == (0, 0)
    with os.fdopen(child, "w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)         # as the command runs it: tqdm asks stderr's size
        progress = batch.TerminalProgress(5, 2)
        item = PlanItem(1, Path("IMG_1.HEIC"), "IMG_1_LM", "_LM")
        progress.finished(item, ItemResult(1, item.source, ok=True))
        progress.close()
        stream.flush()
    chunks = []
    while True:             # the terminal side is closed: read what it wrote until EIO (one read may get a part)
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    text = b"".join(chunks).decode()
    assert "3/5 photos" in text and "ETA" in text, repr(text)


def test_changed_settings_are_refused_unless_restart(six_photos, tmp_path, capsys):
    out = tmp_path / "out"
    photo = str(six_photos / "IMG_0000.HEIC")
    assert main(["restore", photo, "--frame", "3", "--restorer", "classic", "--out", str(out)]) == 0
    first = _outputs(out)
    capsys.readouterr()
    assert main(["restore", photo, "--frame", "5", "--restorer", "classic", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "frame: frame 3 -> frame 5" in err and "--restart" in err
    assert err.startswith("livemoments: error: out: the batch in this folder was made with other settings")
    assert _outputs(out) == first
    assert main(["restore", photo, "--frame", "5", "--restorer", "classic", "--out", str(out), "--restart"]) == 0
    assert _outputs(out).keys() == first.keys() and _outputs(out) != first


def test_frame_best_restores_the_frame_the_scorer_ranks_first(tmp_path, capsys, monkeypatch):
    """--frame best: each photo's top-ranked frame (core.moments) -- here not the key photo's, whose moment is
    motion-blurred -- in a batch, in its dry run and in the single-photo form. A photo the library has ranked is
    not scored again: the ranking comes from the library's cache (an edited one there is the one followed)."""
    import numpy as np

    from livemoments_app.core.library import FileKey, LibraryCache
    from livemoments_app.core.library.best import scorer_version

    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.moments import suggest
    from tests.support import synth
    from tests.support.damage import motion_blur

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    frames = synth.pattern_frames(12, (320, 240), seed=3)
    still = np.repeat(np.repeat(frames[8], 2, axis=0), 2, axis=1)
    for k in (7, 8, 9):
        frames[k] = motion_blur(frames[k], 15, 0)
    photo, video = synth.write_apple_pair(tmp_path / "src", stem="IMG_BLUR", frames=frames, still=still,
                                          key_index=8)
    with open_live_photo(photo) as live:
        best = suggest(live).best().index
    assert best not in (7, 8, 9)
    command = ["restore", str(photo), "--frame", "best", "--restorer", "classic"]
    assert main([*command, "--out", str(tmp_path / "out"), "--dry-run"]) == 0
    assert f"8->{best} " in capsys.readouterr().out
    assert main([*command, "--out", str(tmp_path / "out")]) == 0
    with Journal(tmp_path / "out", readonly=True) as journal:
        assert [(r.state, r.key_frame, r.frame) for r in journal.rows()] == [("done", 8, best)]
    capsys.readouterr()
    assert main([*command, "-o", str(tmp_path / "one.heic"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frame_index"] == best

    # The library (here `suggest DIR`, which lists the folder as the app's library does) ranks and keeps it.
    assert main(["suggest", str(tmp_path / "src"), "--json"]) == 0
    capsys.readouterr()
    cache = LibraryCache()
    try:
        assert Path(cache.path).is_relative_to(tmp_path / "cache")
        scores = cache.scores(FileKey.of(photo), scorer_version(), FileKey.of(video))
        assert scores["ranking"]["frames"][0]["index"] == best
        for frame in scores["ranking"]["frames"]:
            frame["score"] = 1.0 if frame["index"] == 2 else 0.0
        cache.store_scores(FileKey.of(photo), scores, scorer_version(), FileKey.of(video))
    finally:
        cache.close()
    assert main([*command, "-o", str(tmp_path / "two.heic"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frame_index"] == 2


def test_the_default_batch_never_imports_ray(six_photos, tmp_path):
    import subprocess
    import sys

    code = ("import sys; from livemoments_app.cli import main; "
            f"rc = main(['restore', {str(six_photos / 'IMG_0000.HEIC')!r}, '--frame', '3', '--restorer', 'classic', "
            f"'--out', {str(tmp_path)!r}]); print(rc, sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))")
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert run.stdout.strip().splitlines()[-1] == "0 []", run.stdout + run.stderr


def test_a_dry_run_over_a_journal_shows_what_is_left(six_photos, tmp_path, capsys):
    out = tmp_path / "out"
    photos = [str(six_photos / f"IMG_000{i}.HEIC") for i in range(3)]
    command = ["restore", *photos, "--frame", "3", "--restorer", "classic", "--out", str(out)]
    assert main(command[:3] + command[4:]) == 0                 # the first two photos only
    (out / "IMG_0001_LM.HEIC").unlink()
    listing = _outputs(out)
    capsys.readouterr()
    assert main([*command, "--dry-run"]) == 0
    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines == {"IMG_0000.HEIC": "done", "IMG_0001.HEIC": "planned", "IMG_0002.HEIC": "planned"}
    assert main([*command, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"] == {"to_do": 2, "key_photo_is_best": 0, "done": 1,
                                                          "failed_before": 0, "failing": 0}
    assert _outputs(out) == listing                             # a dry run changes nothing
    with Journal(out, readonly=True) as journal:
        assert [r.source.name for r in journal.rows()] == ["IMG_0000.HEIC", "IMG_0001.HEIC"]


def test_the_single_photo_form_restores_the_key_frame(six_photos, tmp_path, capsys):
    output = tmp_path / "key.heic"
    assert main(["restore", str(six_photos / "IMG_0002.HEIC"), "--frame", "key", "--restorer", "classic",
                 "-o", str(output)]) == 0
    assert "(frame 8)" in capsys.readouterr().out and output.is_file()


def test_ray_options_need_the_ray_engine(tmp_path, capsys):
    assert main(["restore", str(tmp_path), "--frame", "1", "--ray-address", "auto"]) == 2
    assert "--ray-address needs --engine ray" in capsys.readouterr().err
    assert main(["restore", str(tmp_path), "--frame", "1", "--cpus-per-photo", "2"]) == 2
    assert "--cpus-per-photo needs --engine ray" in capsys.readouterr().err


def test_frame_best_leaves_a_photo_alone_when_its_key_photo_is_the_best_moment(tmp_path, capsys, monkeypatch):
    """The key photo is its moment at full quality; that frame restored from the clip could only be worse. So
    --frame best writes nothing for such a photo, says so, and counts it done (a resumed batch does not redo it);
    the other photos of the batch are restored as usual. The library's queue does the same."""
    import numpy as np

    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.moments import suggest
    from tests.support import synth
    from tests.support.damage import motion_blur

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    frames = synth.pattern_frames(12, (320, 240), seed=5)
    still = np.repeat(np.repeat(frames[8], 2, axis=0), 2, axis=1)
    sharp_key = [motion_blur(f, 15, 0) if k != 8 else f for k, f in enumerate(frames)]   # every other frame blurred
    kept, _ = synth.write_apple_pair(tmp_path / "src", stem="IMG_KEY", frames=sharp_key, still=still, key_index=8)
    blurred_key = [motion_blur(f, 15, 0) if k in (7, 8, 9) else f for k, f in enumerate(frames)]
    other, _ = synth.write_apple_pair(tmp_path / "src", stem="IMG_MOVE", frames=blurred_key, still=still, key_index=8)
    with open_live_photo(kept) as live:
        assert suggest(live).best().is_key

    # one photo: nothing written, and why
    target = tmp_path / "one.heic"
    assert main(["restore", str(kept), "--frame", "best", "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"{kept}: {KEY_PHOTO_IS_BEST} (frame 8); nothing written"
    assert main(["restore", str(kept), "--frame", "best", "-o", str(target), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"output": None, "frame_index": 8, "key_frame_index": 8,
                                                   "note": KEY_PHOTO_IS_BEST}
    assert not target.exists()

    # a batch: the other photo restored, this one done with nothing written, and not redone on a resume
    out = tmp_path / "out"
    command = ["restore", str(tmp_path / "src"), "--frame", "best", "--restorer", "classic", "--out", str(out)]
    assert main([*command, "--dry-run"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("IMG_KEY.HEIC"))
    assert line.split()[1:5] == ["nothing", "to", "do", "8->8"]
    assert line.endswith(f"nothing ({KEY_PHOTO_IS_BEST})")
    assert main([*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["states"]["done"] == 2 and report["this_run"]["restored"] == 1
    assert report["this_run"]["key_photo_is_best"] == 1
    assert sorted(_outputs(out)) == ["IMG_MOVE_LM.HEIC"]
    with Journal(out, readonly=True) as journal:
        rows = {row.source.name: row for row in journal.rows()}
    assert rows["IMG_KEY.HEIC"].kept_key_photo and rows["IMG_KEY.HEIC"].outputs == []
    assert not rows["IMG_MOVE.HEIC"].kept_key_photo and rows["IMG_MOVE.HEIC"].frame not in (7, 8, 9)
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert "0 restored, 0 failed, 2 already done (outputs checked)" in printed
    assert sorted(_outputs(out)) == ["IMG_MOVE_LM.HEIC"]
