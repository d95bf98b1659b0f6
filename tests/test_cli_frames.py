"""`livemoments frames`: upright PNGs of the chosen frames, from Live Photos and from plain videos."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from PIL import Image

from livemoments_app.cli import main
from tests.conftest import sample
from tests.test_clip_synthetic import frame_number, numbered_clip, rgb_planes, write_clip


def pngs(folder):
    return sorted(p.name for p in folder.glob("*.png"))


def test_plain_video_every_nth_frame(tmp_path, capsys):
    video = numbered_clip(tmp_path, n=12, gop=4)
    out = tmp_path / "out"
    assert main(["frames", str(video), "--out", str(out), "--every", "5"]) == 0
    assert pngs(out) == ["frame_0000_000000ms.png", "frame_0005_000167ms.png", "frame_0010_000333ms.png"]
    for name in pngs(out):
        img = np.asarray(Image.open(out / name).convert("RGB"))
        assert frame_number(img) == int(name[6:10])
    assert not list(out.glob(".frame-*"))          # no temporary files left behind
    assert "3 frame(s) of 12" in capsys.readouterr().err


def test_times_and_indices_pick_nearest_frames(tmp_path):
    video = numbered_clip(tmp_path, n=12, gop=4)
    out = tmp_path / "t"
    assert main(["frames", str(video), "--out", str(out), "--times", "0.1", "0.12", "--quiet"]) == 0
    assert pngs(out) == ["frame_0003_000100ms.png", "frame_0004_000133ms.png"]
    out2 = tmp_path / "i"
    assert main(["frames", str(video), "--out", str(out2), "--indices", "7", "--max-side", "24", "--quiet"]) == 0
    img = Image.open(out2 / "frame_0007_000233ms.png")
    assert max(img.size) == 24


def test_rotated_video_frames_are_written_upright(tmp_path):
    upright = np.zeros((48, 32, 3), np.uint8)
    upright[:16, :16] = (255, 0, 0)
    stored = np.ascontiguousarray(np.rot90(upright, k=1))       # shown after turning 90° clockwise
    video = write_clip(tmp_path / "rot.mov", [rgb_planes(stored)] * 2, full_range=True, rotation_ccw=-90)
    out = tmp_path / "o"
    assert main(["frames", str(video), "--out", str(out), "--indices", "0", "--quiet"]) == 0
    img = np.asarray(Image.open(out / "frame_0000_000000ms.png").convert("RGB"))
    assert img.shape == (48, 32, 3)
    assert img[4, 4, 0] > 200 and img[40, 20].max() < 40


def test_live_photo_key_frame(tmp_path):
    still = sample("apple_iphone15pro_IMG_4394.HEIC")
    out = tmp_path / "k"
    assert main(["frames", str(still), "--out", str(out), "--key", "--quiet"]) == 0
    assert pngs(out) == ["frame_0037_001233ms.png"]
    assert Image.open(out / pngs(out)[0]).size == (1440, 1920)


def test_truncated_motion_photo_is_a_one_line_error(tmp_path, capsys):
    path = sample("pixel4xl_motionphoto_v2_truncated.jpg")
    assert main(["frames", str(path), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pixel4xl_motionphoto_v2_truncated.jpg" in err[0] and "truncated" in err[0]


def test_bad_index_is_reported(tmp_path):
    video = numbered_clip(tmp_path, n=4, gop=4)
    with pytest.raises(SystemExit, match="out of range"):
        main(["frames", str(video), "--out", str(tmp_path / "b"), "--indices", "9"])


def test_frames_get_the_users_file_permissions(tmp_path):
    # Written through a temporary file like every export: readable as any new file of the user's (umask),
    # not private 0600 as mkstemp would leave it.
    video = numbered_clip(tmp_path, n=4, gop=4)
    out = tmp_path / "perm"
    umask = os.umask(0o022)
    try:
        assert main(["frames", str(video), "--out", str(out), "--indices", "1", "--quiet"]) == 0
    finally:
        os.umask(umask)
    written = out / "frame_0001_000033ms.png"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert [p.name for p in out.iterdir()] == [written.name]        # no temporary file left behind


@pytest.mark.parametrize("how", [["--indices", "1"], ["--every", "1"]])
def test_max_side_below_one_is_refused(tmp_path, how):
    # With more than three frames the sequential path scaled to 2×2 pixels; with fewer it wrote full size.
    video = numbered_clip(tmp_path, n=6, gop=4)
    with pytest.raises(SystemExit, match="--max-side"):
        main(["frames", str(video), "--out", str(tmp_path / "m"), *how, "--max-side", "0"])
    assert not (tmp_path / "m").exists() or not list((tmp_path / "m").iterdir())


def test_every_zero_is_refused_not_taken_as_one(tmp_path):
    video = numbered_clip(tmp_path, n=4, gop=4)
    with pytest.raises(SystemExit, match="--every must be at least 1"):
        main(["frames", str(video), "--out", str(tmp_path / "e"), "--every", "0"])
