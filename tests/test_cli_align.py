"""`livemoments align` end to end on a real sample."""

from __future__ import annotations

import json

import cv2
import pytest

from livemoments_app.cli import main
from tests.conftest import sample

pytestmark = pytest.mark.samples


def test_align_json_and_overlay(tmp_path, capsys):
    out = tmp_path / "edges.png"
    rc = main(["align", str(sample("apple_iphone15pro_IMG_4394.HEIC")), "--time", "1.2", "--overlay", "edges",
               "-o", str(out), "--json"])
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frame_index"] == 36 and info["key_index"] == 37
    assert len(info["still_to_key"]) == 3 and info["inliers"] > 100
    assert 0.0 <= info["aligned_share"] <= 1.0 and info["median_flow_px"] >= 0.0
    img = cv2.imread(str(out))
    assert img.shape == (1920, 1440, 3)
    assert not list(tmp_path.glob(".align-*"))        # no temp file left behind


def test_align_text_output_names_the_numbers(capsys):
    rc = main(["align", str(sample("apple_iphone15pro_IMG_4394.HEIC"))])
    assert rc == 0
    text = capsys.readouterr().out
    for words in ("still -> key frame transform", "feature inliers", "median flow", "aligned share"):
        assert words in text


def test_align_rejects_a_frame_outside_the_clip(capsys):
    rc = main(["align", str(sample("apple_iphone15pro_IMG_4394.HEIC")), "--frame", "999"])
    assert rc == 2
    assert "outside the clip" in capsys.readouterr().err


def test_align_of_a_truncated_clip_is_one_line_error(capsys):
    rc = main(["align", str(sample("pixel4xl_motionphoto_v2_truncated.jpg"))])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("livemoments: error:") and "\n" not in err


def test_overlay_file_gets_the_users_permissions_and_no_temporary_is_left(tmp_path):
    # Written through export's atomic writer: readable like any new file of the user's (umask), not the private
    # 0600 that a bare mkstemp leaves.
    import os
    import stat

    import numpy as np

    from livemoments_app.cli.frames import write_image

    out = tmp_path / "overlay.png"
    umask = os.umask(0o022)
    try:
        write_image(np.zeros((8, 8, 3), np.uint8), out)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["overlay.png"]
