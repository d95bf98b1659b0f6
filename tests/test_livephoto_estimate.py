"""Key time by image similarity: exact on a moving synthetic scene written as a real pair, close on the real
sample where the scene moves, and honest ("not confident") where the scene is static or the still is of another
moment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.support import synth
from livemoments_app.core.livephoto import KeyTimeSource, LiveFormat, inspect_live_photo, open_live_photo
from livemoments_app.core.livephoto.estimate import estimate_key_frame
from tests.conftest import sample

CLIP_SIZE = (240, 180)


def _world(seed: int = 3, size: tuple[int, int] = (900, 680)) -> np.ndarray:
    """A textured backdrop at twice the clip's pixel density, so the still can be sharper than the frames."""
    rng = np.random.default_rng(seed)
    w, h = size
    layers = []
    for _ in range(3):
        coarse = cv2.GaussianBlur(rng.normal(0, 1, (h // 4, w // 4)).astype(np.float32), (0, 0), 2.0)
        coarse = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        fine = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
        layers.append(coarse / coarse.std() * 35 + fine / fine.std() * 12 + 128)
    img = np.stack(layers, -1)
    for _ in range(25):
        x, y = (int(v) for v in rng.integers(0, (w - 60, h - 60)))
        size_x, size_y = (int(v) for v in rng.integers(10, 60, 2))
        cv2.rectangle(img, (x, y), (x + size_x, y + size_y), tuple(float(v) for v in rng.integers(20, 235, 3)), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _render(world: np.ndarray, i: int, moving: bool) -> np.ndarray:
    img = world.copy()
    if moving:   # a ball crossing the scene, 12 clip pixels a frame
        cx, cy = int(200 + 24 * i), int(330 + 8 * np.sin(i / 3))
        cv2.circle(img, (cx, cy), 46, (250, 210, 30), -1)
        cv2.circle(img, (cx - 12, cy - 10), 12, (20, 40, 200), -1)
        cv2.rectangle(img, (cx - 30, cy + 16), (cx + 30, cy + 26), (10, 10, 10), -1)
    return img


def _drift(i: int) -> tuple[float, float]:
    """Stabilisation moves the picture by a few clip pixels during the clip."""
    return 2.5 * np.sin(i / 4.0), 1.8 * np.cos(i / 5.0)


def phone_like_pair(key: int, *, count: int = 24, moving: bool = True,
                    still_offset: tuple[float, float] = (11.0, -7.0), gamma: float = 0.75):
    """Frames (soft, clip size) and a still of frame ``key``'s moment as a phone makes them: twice the
    resolution, full sharpness, another tone curve and a field of view shifted by ``still_offset`` clip pixels."""
    world = _world()
    w, h = CLIP_SIZE
    frames = []
    for i in range(count):
        ox, oy = _drift(i)
        to_clip = np.float32([[0.5, 0, -(150 + ox)], [0, 0.5, -(120 + oy)]])
        small = cv2.warpAffine(cv2.GaussianBlur(_render(world, i, moving), (0, 0), 1.0), to_clip, (w, h),
                               flags=cv2.INTER_LINEAR)
        frames.append(cv2.GaussianBlur(small, (0, 0), 0.8))
    ox, oy = _drift(key)
    x0, y0 = round(2 * (150 + ox + still_offset[0])), round(2 * (120 + oy + still_offset[1]))
    still = _render(world, key, moving)[y0:y0 + 2 * h, x0:x0 + 2 * w]
    still = (255.0 * (still / 255.0) ** gamma).astype(np.uint8)
    return frames, still


@pytest.mark.parametrize("key", [15, 6])
def test_moving_scene_key_frame_is_recovered_exactly(tmp_path, key):
    frames, still = phone_like_pair(key)
    still_path, _ = synth.write_apple_pair(tmp_path, frames=frames, still=still, key_index=key,
                                           still_image_time=False, still_format="jpeg")
    with open_live_photo(still_path) as live:
        assert live.key_time_source == KeyTimeSource.IMAGE_SIMILARITY and live.key_time_estimated
        assert live.key_frame_index == key
        estimate = live.details["key_time_estimate"]
        assert estimate["confident"] and estimate["margin"] >= 0.05


def test_static_scene_is_not_confident(tmp_path):
    frames, still = phone_like_pair(15, moving=False)
    still_path, _ = synth.write_apple_pair(tmp_path, frames=frames, still=still, key_index=15,
                                           still_image_time=False, still_format="jpeg")
    with open_live_photo(still_path) as live:
        assert 0 <= live.key_frame_index < live.clip.frame_count
        assert live.details["key_time_estimate"]["confident"] is False


@pytest.mark.samples
def test_real_moving_scene_within_one_frame_of_the_stored_key():
    # The iPhone 6s Ferris wheel: the lights change every frame. The stored key time (721/600 s) lies almost
    # exactly between frames #30 and #31; the estimate must land on one of them, sure of itself.
    with open_live_photo(sample("apple_iphone6s_0FFBE909.jpeg")) as live:
        estimate = estimate_key_frame(live.still.pixels, live.clip)
        assert abs(estimate.index - live.key_frame_index) <= 1
        assert estimate.confident


@pytest.mark.samples
@pytest.mark.parametrize("name", ["apple_iphone15pro_IMG_4394.HEIC",            # a static mural
                                  "libmphoto_heic_motionphoto_pixel4video.heic"])  # still of another page
def test_real_ambiguous_pairs_are_not_confident(name):
    with open_live_photo(sample(name)) as live:
        assert not estimate_key_frame(live.still.pixels, live.clip).confident


@pytest.mark.samples
def test_embedded_clip_given_as_an_explicit_pair(tmp_path):
    # The S22's own clip written out and given beside its HEIC: a plain still + video pair, estimated. The lamp
    # scene only changes colour, and the still resembles no frame closely: the estimate must say it is unsure.
    heic = sample("samsung_s22_oneui6_motionphoto.heic")
    byte_range = inspect_live_photo(heic).video_range
    with open(heic, "rb") as f:
        f.seek(byte_range.offset)
        (tmp_path / "clip.mp4").write_bytes(f.read(byte_range.length))
    with open_live_photo(heic, tmp_path / "clip.mp4") as live:
        assert live.format == LiveFormat.STILL_AND_VIDEO
        assert live.key_time_source == KeyTimeSource.IMAGE_SIMILARITY
        assert live.details["key_time_estimate"]["confident"] is False


@pytest.mark.samples
def test_estimating_does_not_import_heavy_modules():
    # The estimate borrows core.align's registration; opening a pair must still not pull in torch/diffusers/Qt.
    import subprocess
    import sys

    code = ("import sys; from livemoments_app.core.livephoto import open_live_photo; "
            f"live = open_live_photo({str(sample('libmphoto_heic_motionphoto_pixel4video.heic'))!r}, "
            f"{str(sample('iphone14pro_dolbyvision_hlg_notlive.MOV'))!r}); "
            "assert 'key_time_estimate' in live.details; "
            "bad = [m for m in ('torch', 'diffusers', 'PySide6') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_info_tells_the_user_when_the_estimate_is_uncertain(tmp_path, capsys):
    from livemoments_app.cli import main

    frames, still = phone_like_pair(15, moving=False)
    still_path, _ = synth.write_apple_pair(tmp_path, frames=frames, still=still, key_index=15,
                                           still_image_time=False, still_format="jpeg")
    assert main(["info", str(still_path)]) == 0
    assert "estimated; uncertain" in capsys.readouterr().out

    frames, still = phone_like_pair(15, moving=True)
    moving_dir = tmp_path / "moving"
    moving_dir.mkdir()
    still_path, _ = synth.write_apple_pair(moving_dir, frames=frames, still=still, key_index=15,
                                           still_image_time=False, still_format="jpeg")
    assert main(["info", str(still_path)]) == 0
    out = capsys.readouterr().out
    assert "(estimated)" in out and "uncertain" not in out
