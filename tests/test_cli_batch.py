"""`livemoments restore` over many inputs: folders and globs, failures reported without stopping the batch,
a non-zero exit listing them, dry runs that write nothing, and nothing written next to the originals."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from livemoments_app.cli import batch, main
from tests.conftest import sample

EXPECTED_FAILURES = {"pixel4xl_motionphoto_v2_truncated.jpg", "samsung_s20ultra_microvideo_v1_truncated.jpg",
                     "iphone14pro_dolbyvision_hlg_notlive.MOV"}


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _restore_args(argv: list[str]) -> argparse.Namespace:
    from livemoments_app.cli import build_parser

    return build_parser().parse_args(["restore", *argv])


def test_expand_inputs_takes_folders_globs_and_pairs_once(samples_dir, tmp_path):
    paths, missing = batch.expand_inputs([str(samples_dir), str(samples_dir / "apple_*.HEIC"),
                                          str(tmp_path / "nothing.jpg"), str(tmp_path / "*.heic")])
    names = [p.name for p in paths]
    assert "apple_iphone15pro_IMG_4394.HEIC" in names and names.count("apple_iphone15pro_IMG_4394.HEIC") == 1
    assert "apple_iphone15pro_IMG_4394.mov" not in names           # the MOV comes with its still
    assert "apple_iphone6s_0FFBE909_3.mov" not in names
    assert "iphone14pro_dolbyvision_hlg_notlive.MOV" in names      # a lone video is tried (and will fail)
    assert "SOURCES.md" not in names
    assert len(missing) == 2 and all(not m.ok for m in missing)


def test_single_photo_form_is_not_a_batch(tmp_path):
    single = _restore_args(["x.jpg", "--frame", "3", "-o", str(tmp_path / "o.jpg")])
    pair = _restore_args(["x.jpg", "x.mov", "--frame", "3", "-o", str(tmp_path / "o.jpg")])
    plain = _restore_args(["--reference", "a.png", "--target", "b.png", "-o", str(tmp_path / "o.jpg")])
    assert not batch.wants_batch(single) and not batch.wants_batch(pair) and not batch.wants_batch(plain)
    assert batch.wants_batch(_restore_args(["a.jpg", "b.jpg", "--frame", "3", "-o", str(tmp_path)]))
    assert batch.wants_batch(_restore_args(["a.jpg", "--frame", "3"]))              # no -o: default folder
    assert batch.wants_batch(_restore_args(["a.jpg", "--frame", "3", "--write-back", "-o", str(tmp_path)]))


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
    written = sorted(p.name for p in (tmp_path / batch.DEFAULT_OUT).iterdir())
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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["apple_iphone6s_0FFBE909_LM.jpeg",
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
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (tmp_path / name).write_bytes(b"\xff\xd8\xff")
    started = []

    def interrupted(path, args, out_dir, progress):
        started.append(path.name)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "process", interrupted)
    rc = main(["restore", str(tmp_path), "--frame", "1", "--out", str(tmp_path / "out")])
    assert rc == 130 and started == ["a.jpg"]
    assert list((tmp_path / "out").iterdir()) == []


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
    args = _restore_args([str(path), "--frame", "5", "--write-back", "--dry-run", "--out", str(tmp_path)])
    planned = batch.plan(path, args, tmp_path)
    assert planned.ok, planned.error
    with open_16bit(path) as lp:
        written = write_back(lp, lp.still.pixels[::8, ::8], 5, tmp_path)
    assert [p.suffix for p in planned.outputs] == [p.suffix for p in written] == [".heic"]


def test_dry_run_names_a_pixel_motion_photo_as_write_back_names_it(tmp_path, capsys):
    """Write-back keeps Pixel's ``.MP`` last (PXL_1_LM.MP.jpg); the dry run used to plan PXL_1.MP_LM.jpg."""
    from tests.support import synth

    src = tmp_path / "src"
    src.mkdir()
    path = synth.write_motion_photo_jpeg(src / "PXL_1.MP.jpg")
    out = tmp_path / "out"
    out.mkdir()
    args = _restore_args([str(path), "--frame", "2", "--write-back", "--dry-run", "--out", str(out)])
    planned = batch.plan(path, args, out)
    assert planned.ok, planned.error
    assert main(["restore", str(path), "--frame", "2", "--write-back", "--restorer", "classic",
                 "--out", str(out)]) == 0
    assert [p.name for p in planned.outputs] == [p.name for p in out.iterdir()] == ["PXL_1_LM.MP.jpg"]
