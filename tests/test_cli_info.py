"""`livemoments info PATH [PARTNER] [--json]` on every real sample and on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from livemoments_app import cli
from tests.support import synth
from tests.conftest import ROOT, sample

# name: (format, still WxH, video WxH, codec, frames, key index, key source, content identifier)
EXPECTED = {
    "apple_iphone15pro_IMG_4394.HEIC": ("apple_live_photo", (3024, 4032), (1440, 1920), "hevc", 53, 37,
                                        "apple_still_image_time", "ED2A2552-C906-486E-9DA5-17DABDF672A7"),
    "apple_iphone6s_0FFBE909_3.mov": ("apple_live_photo", (3024, 4032), (1080, 1440), "h264", 64, 30,
                                      "apple_still_image_time", "C3754624-A05F-474D-9F16-E9C47B5F892D"),
    "samsung_s22_oneui6_motionphoto.heic": ("samsung_motion_photo", (3000, 4000), (1080, 1440), "hevc", 42, 41,
                                            "xmp_presentation_timestamp", None),
    "libmphoto_heic_motionphoto_pixel4video.heic": ("google_motion_photo", (3024, 4032), (768, 1024), "h264", 26, 0,
                                                    "xmp_presentation_timestamp", None),
    "pixel4xl_motionphoto_v2_truncated.jpg": ("google_motion_photo", (3024, 4032), (768, 1024), "h264", 38, 0,
                                              "xmp_presentation_timestamp", None),
    "samsung_s20ultra_microvideo_v1_truncated.jpg": ("samsung_motion_photo", (3000, 4000), (1080, 1440), "h264",
                                                     30, 15, "spec_fallback_midpoint", None),
}


@pytest.fixture(autouse=True)
def _only_info(monkeypatch):
    # Test `info` on its own: another subcommand that fails to import must not fail these tests.
    monkeypatch.setattr(cli, "SUBCOMMANDS", ["info"])


def _info_json(capsys, *paths) -> dict:
    code = cli.main(["info", *map(str, paths), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_info_json_on_every_sample(capsys, name):
    fmt, still, video, codec, frames, index, source, cid = EXPECTED[name]
    info = _info_json(capsys, sample(name))
    assert info["format"] == fmt
    assert (info["still"]["width"], info["still"]["height"]) == still
    v = info["video"]
    assert (v["width"], v["height"], v["codec"], v["rotation"], v["frame_count"]) == (*video, codec, 90, frames)
    assert v["duration_s"] > 0
    assert info["key_frame_index"] == index
    assert info["key_time_source"] == source
    assert info["content_identifier"] == cid
    assert isinstance(info["key_time_s"], float)
    assert v["decodable"] is ("truncated" not in name)
    if name.startswith("apple_iphone15pro"):
        assert info["still"]["hdr"] == {"kind": "apple", "gain_map_width": 1512, "gain_map_height": 2016,
                                        "channels": 1, "headroom": 3.363, "headroom_stops": 1.7497,
                                        "iso21496": True}
    else:
        assert info["still"]["hdr"] is None
    if v["decodable"]:
        assert v["hdr"] is None and v["bit_depth"] == 8


@pytest.mark.samples
def test_info_text_says_hdr(capsys):
    cli.main(["info", str(sample("apple_iphone15pro_IMG_4394.HEIC"))])
    out = capsys.readouterr().out
    assert "HDR           Apple gain map + ISO 21496-1, 1512×2016, headroom 3.36× (+1.75 stops)" in out
    cli.main(["info", str(sample("apple_iphone6s_0FFBE909.jpeg"))])
    assert "HDR           no (SDR photo)" in capsys.readouterr().out


@pytest.mark.samples
def test_info_key_times(capsys):
    assert _info_json(capsys, sample("apple_iphone15pro_IMG_4394.mov"))["key_time_s"] == pytest.approx(740 / 600)
    assert _info_json(capsys, sample("apple_iphone6s_0FFBE909.jpeg"))["key_time_s"] == pytest.approx(721 / 600)
    assert _info_json(capsys, sample("samsung_s22_oneui6_motionphoto.heic"))["key_time_s"] == pytest.approx(3.0)


@pytest.mark.samples
def test_info_lists_other_video_tracks(capsys):
    info = _info_json(capsys, sample("libmphoto_heic_motionphoto_pixel4video.heic"))
    assert len(info["video_tracks"]) == 2
    assert [(t["width"], t["height"], t["frame_count"]) for t in info["other_video_tracks"]] == [(1536, 2048, 2)]
    cli.main(["info", str(sample("libmphoto_heic_motionphoto_pixel4video.heic"))])
    assert "other video track" in capsys.readouterr().out


@pytest.mark.samples
def test_info_text_for_a_truncated_sample(capsys):
    assert cli.main(["info", str(sample("pixel4xl_motionphoto_v2_truncated.jpg"))]) == 0
    out = capsys.readouterr().out
    assert "google_motion_photo" in out and "cannot be decoded" in out and "frame #0 of 38" in out


def test_info_text_on_a_synthetic_pair(tmp_path, capsys):
    still, mov = synth.write_apple_pair(tmp_path, content_identifier="11111111-2222-3333-4444-555555555555",
                                        key_index=5)
    assert cli.main(["info", str(still), str(mov)]) == 0
    out = capsys.readouterr().out
    assert "apple_live_photo" in out and "11111111-2222-3333-4444-555555555555" in out
    assert "frame #5 of 12" in out


@pytest.mark.samples
def test_info_on_a_plain_video_fails_with_one_line(capsys):
    assert cli.main(["info", str(sample("iphone14pro_dolbyvision_hlg_notlive.MOV"))]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "iphone14pro_dolbyvision_hlg_notlive.MOV" in err and "not a Live Photo" in err


def test_info_on_bad_input_exits_non_zero(tmp_path, capsys):
    (tmp_path / "zero.HEIC").write_bytes(b"")
    assert cli.main(["info", str(tmp_path / "zero.HEIC"), "--json"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "zero.HEIC" in err


def test_info_runs_as_a_command(tmp_path):
    pytest.importorskip("livemoments_app.cli.frames", reason="the full CLI imports every subcommand module")
    path = synth.write_motion_photo_jpeg(tmp_path / "PXL_MP.jpg", key_index=3)
    result = subprocess.run([sys.executable, "-m", "livemoments_app", "info", str(path), "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["format"] == "google_motion_photo" and info["key_frame_index"] == 3


def test_info_does_not_load_the_other_subcommands_imports():
    """`livemoments info` builds only its own subparser: OpenCV (pulled in by `align`) stays unloaded."""
    import subprocess
    import sys

    code = ("import sys; from livemoments_app.cli import main\n"
            "try:\n    main(['info', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('cv2', 'torch', 'diffusers', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.samples
def test_info_reports_an_ultra_hdr_still_and_an_hlg_clip(tmp_path, capsys):
    import numpy as np

    from tests.support.ultrahdr import ultrahdr_jpeg

    still = tmp_path / "KEY.jpg"
    still.write_bytes(ultrahdr_jpeg(np.full((1280, 720, 3), 120, np.uint8), np.full((640, 360), 90, np.uint8),
                                    gain_max=2.0))
    info = _info_json(capsys, still, sample("iphone14pro_dolbyvision_hlg_notlive.MOV"))
    assert info["still"]["hdr"]["kind"] == "ultrahdr" and info["still"]["hdr"]["headroom"] == 4.0
    assert info["video"]["hdr"] == "hlg" and info["video"]["bit_depth"] == 10
    cli.main(["info", str(still), str(sample("iphone14pro_dolbyvision_hlg_notlive.MOV"))])
    out = capsys.readouterr().out
    assert "Ultra HDR gain map, 360×640" in out and "HDR HLG 10-bit" in out


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`livemoments info PHOTO | head -1`: the pipe closes under the command, which stops with SIGPIPE's status
    instead of printing a BrokenPipeError traceback."""
    import os

    read, write = os.pipe()
    os.close(read)                                   # the reader is gone before the first line
    demo = ROOT / "resources" / "demo" / "IMG_4394.HEIC"
    code = "import sys; from livemoments_app.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "info", str(demo)], stdout=write,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    os.close(write)
    assert done.returncode == 141 and done.stderr == "", done.stderr
