"""`livemoments suggest`: the ranking as text and as JSON, and one-line errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from livemoments_app.cli import main
from tests.conftest import sample
from tests.support.damage import motion_blur
from tests.support.synth import write_apple_pair

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """12 frames panning over the coffee photo, frame 4 motion-blurred; key frame 8."""
    photo = cv2.resize(skimage_data.coffee(), (720, 480), interpolation=cv2.INTER_CUBIC)
    frames = [np.ascontiguousarray(photo[40:400, 2 * i:2 * i + 480]) for i in range(12)]
    frames[4] = motion_blur(frames[4], 9, 0)
    still = cv2.resize(frames[8], (960, 720), interpolation=cv2.INTER_CUBIC)
    return write_apple_pair(tmp_path_factory.mktemp("pair"), stem="IMG_0300", still_format="jpeg", frames=frames,
                            still=still, key_index=8)


def test_json_is_sorted_best_first_with_every_frame(pair, capsys):
    still, mov = pair
    assert main(["suggest", str(still), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    frames = data["frames"]
    assert sorted(f["index"] for f in frames) == list(range(12))
    scores = [f["score"] for f in frames]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(set(f) >= {"index", "time_s", "score", "parts", "reasons"} for f in frames)
    by_index = {f["index"]: f for f in frames}
    assert by_index[4]["score"] < min(by_index[3]["score"], by_index[5]["score"])
    assert by_index[8]["is_key"] and data["key_index"] == 8 and data["frame_count"] == 12
    assert by_index[1]["time_s"] == pytest.approx(1 / 30, abs=1e-3)
    # the MOV of the pair names the same photo
    assert main(["suggest", str(mov), "--json", "--top", "2"]) == 0
    top2 = json.loads(capsys.readouterr().out)["frames"]
    assert [f["index"] for f in top2] == [f["index"] for f in frames[:2]]


def test_text_lists_the_top_frames_with_reasons(pair, capsys):
    assert main(["suggest", str(pair[0]), "--top", "3", "--no-faces"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("12 frames, key photo at frame 8")
    assert out.count(" score ") == 3
    assert "note: faces not scored: turned off" in out


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["suggest", str(sample("pixel4xl_motionphoto_v2_truncated.jpg"))]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("livemoments: error: pixel4xl_motionphoto_v2_truncated.jpg:") and "\n" not in err
    missing = tmp_path / "nothing.HEIC"
    assert main(["suggest", str(missing)]) == 1
    assert "nothing.HEIC" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["suggest", str(missing), "--top", "0"])
