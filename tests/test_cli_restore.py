"""`livemoments restore`: the plain-image form end to end on small images, errors as one line, and the Live
Photo form on a real sample."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from livemoments_app.cli import main
from tests.conftest import sample
from tests.scenes import textured_scene


@pytest.fixture
def pair(tmp_path):
    still = textured_scene()
    small = cv2.resize(still, (320, 240), interpolation=cv2.INTER_AREA)
    frame = np.clip((small.astype(np.float32) / 255) ** 1.1 * 255, 0, 255).astype(np.uint8)
    ref, tgt = tmp_path / "key.png", tmp_path / "frame.png"
    Image.fromarray(still).save(ref)
    Image.fromarray(frame).save(tgt)
    return still, ref, tgt


def test_plain_images_are_restored_at_the_reference_density(pair, tmp_path, capsys):
    still, ref, tgt = pair
    out = tmp_path / "out.png"
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "-o", str(out)]) == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    assert abs(result.shape[1] - 640) <= 4 and abs(result.shape[0] - 480) <= 3
    captured = capsys.readouterr()
    assert "out.png" in captured.out and captured.err == ""      # no progress bar when not on a terminal
    bicubic = cv2.resize(np.asarray(Image.open(tgt)), (result.shape[1], result.shape[0]),
                         interpolation=cv2.INTER_CUBIC)
    ref_crop = cv2.resize(still, (result.shape[1], result.shape[0]), interpolation=cv2.INTER_AREA)
    err = lambda a: float(np.mean(np.abs(a.astype(np.float32) - ref_crop.astype(np.float32))))
    assert err(result) < 0.7 * err(bicubic)


def test_json_reports_the_output_and_how_much_came_from_the_key_photo(pair, tmp_path, capsys):
    _, ref, tgt = pair
    out = tmp_path / "out.png"
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "--json", "-o", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output"] == str(out) and out.exists()
    assert (report["width"], report["height"]) == Image.open(out).size
    assert (report["frame_width"], report["frame_height"]) == (320, 240)
    assert report["frame_index"] is None and report["restorer"] == "classic" and report["seconds"] > 0
    # the plain pair differs only by a tone curve: nearly all of it is restored from the key photo
    assert 0.8 < report["from_key_share"] <= 1.0 and 0.8 < report["aligned_share"] <= 1.0


def test_scale_sets_the_output_size(pair, tmp_path):
    _, ref, tgt = pair
    out = tmp_path / "half.jpg"
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "--scale", "1.5", "-o", str(out)]) == 0
    assert Image.open(out).size == (480, 360)


@pytest.mark.parametrize("args, words", [
    (["--reference", "{ref}"], "--target"),
    (["--reference", "{missing}", "--target", "{tgt}"], "does not exist"),
    (["--reference", "{ref}", "--target", "{tgt}", "--frame", "3"], "apply to a Live Photo"),
    (["--reference", "{ref}", "--target", "{tgt}", "--scale", "100"], "--scale"),
])
def test_bad_arguments_fail_with_one_line(pair, tmp_path, capsys, args, words):
    _, ref, tgt = pair
    values = {"ref": ref, "tgt": tgt, "missing": tmp_path / "nope.jpg"}
    argv = ["restore", *[a.format(**values) for a in args], "-o", str(tmp_path / "x.png")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
    assert not (tmp_path / "x.png").exists()


def test_existing_output_is_not_replaced_without_overwrite(pair, tmp_path, capsys):
    _, ref, tgt = pair
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "-o", str(out)]) == 1
    assert out.read_bytes() == b"keep me"
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "-o", str(out), "--overwrite"]) == 0
    assert Image.open(out).size[0] > 600


def test_existing_output_fails_before_any_restoring(pair, tmp_path, capsys, monkeypatch):
    from livemoments_app.cli import restore as restore_cli

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("restored although the output could not be written")

    monkeypatch.setattr(restore_cli, "restore_job", must_not_run)
    _, ref, tgt = pair
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already exists" in err
    assert out.read_bytes() == b"keep me"


def test_unrelated_images_fail_to_align_with_one_line(tmp_path, capsys):
    ref, tgt = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(textured_scene(seed=1)).save(ref)
    Image.fromarray(cv2.resize(textured_scene(seed=2), (320, 240))).save(tgt)
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "b.png" in err


@pytest.mark.samples
@pytest.mark.slow
def test_live_photo_frame_is_restored(tmp_path, capsys):
    path = sample("apple_iphone15pro_IMG_4394.HEIC")
    out = tmp_path / "restored.jpg"
    assert main(["restore", str(path), "--frame", "22", "--restorer", "classic", "--scale", "0.5",
                 "-o", str(out)]) == 0
    assert Image.open(out).size == (720, 960)
    assert "frame 22" in capsys.readouterr().out
    assert main(["restore", str(path), "--frame", "22", "--restorer", "classic", "--scale", "0.5", "--json",
                 "--overwrite", "-o", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frame_index"] == 22 and (report["frame_width"], report["frame_height"]) == (1440, 1920)
    # the demo's frame 22: the camera moved, little else did
    assert 0.8 < report["from_key_share"] < 1.0 and 0.8 < report["aligned_share"] < 1.0


@pytest.mark.samples
@pytest.mark.slow
def test_a_restored_moment_has_the_key_photos_size(tmp_path, capsys):
    """The iPhone 6s clip shows the still's whole view; frame 13 measures 0.1 % less density than the key frame
    (it came out 3021x4028 for a 3024x4032 photo): the restored photo can replace the key photo at its size."""
    out = tmp_path / "restored.jpg"
    assert main(["restore", str(sample("apple_iphone6s_0FFBE909.jpeg")), "--frame", "13", "--restorer", "classic",
                 "-o", str(out)]) == 0
    assert Image.open(out).size == (3024, 4032)


@pytest.mark.samples
def test_live_photo_time_outside_the_clip_is_one_line(tmp_path, capsys):
    path = sample("apple_iphone15pro_IMG_4394.HEIC")
    assert main(["restore", str(path), "--time", "99", "-o", str(tmp_path / "o.jpg")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "outside the clip" in err


def test_the_command_line_codes_heic_in_its_own_process(pair, tmp_path, monkeypatch):
    """A child encoder keeps the app's window responsive; on the command line its start only costs time (~0.4 s
    a 12 MP photo, more than a quarter of the encode)."""
    from livemoments_app.core.export import still as still_export

    def no_child(*_args, **_kwargs):
        raise AssertionError("the command line started an encoder process")

    monkeypatch.setattr(still_export, "run_encoder", no_child)
    _, ref, tgt = pair
    out = tmp_path / "out.heic"
    assert main(["restore", "--reference", str(ref), "--target", str(tgt), "-o", str(out)]) == 0
    assert out.read_bytes()[4:12] == b"ftypheic"
