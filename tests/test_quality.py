"""Image-quality metrics: known values on small synthetic images."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from livemoments_app.core import quality


def _texture(h=64, w=80, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.uniform(0, 255, (h // 4, w // 4, 3)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 20, (h, w, 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_psnr_of_identical_images_is_infinite_and_of_known_error_is_exact():
    a = _texture()
    assert quality.psnr(a, a) == math.inf
    b = np.clip(a.astype(np.int16) + 4, 0, 255).astype(np.uint8)
    inside = (a <= 251).all(axis=2)        # where the +4 was not clipped, luma differs by exactly 4
    assert quality.psnr(b, a, inside) == pytest.approx(10 * math.log10(255 ** 2 / 16), abs=0.05)


def test_masked_psnr_only_sees_the_masked_pixels():
    a = _texture()
    b = a.copy()
    b[:, 40:] = 0
    left = np.zeros(a.shape[:2], bool)
    left[:, :40] = True
    assert quality.psnr(b, a, left) == math.inf
    assert quality.psnr(b, a, ~left) < 15
    assert math.isnan(quality.psnr(b, a, np.zeros_like(left)))


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    a = _texture()
    assert quality.ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    rng = np.random.default_rng(1)
    light = np.clip(a + rng.normal(0, 3, a.shape), 0, 255).astype(np.uint8)
    heavy = np.clip(a + rng.normal(0, 30, a.shape), 0, 255).astype(np.uint8)
    assert 1.0 > quality.ssim(light, a) > quality.ssim(heavy, a)


def test_uint16_images_are_measured_in_8_bit_units():
    a = _texture()
    b = np.clip(a.astype(np.int16) + 4, 0, 255).astype(np.uint8)
    a16, b16 = a.astype(np.uint16) * 257, b.astype(np.uint16) * 257
    assert quality.psnr(b16, a16) == pytest.approx(quality.psnr(b, a), abs=1e-3)


def test_relative_sharpness_is_one_for_itself_and_lower_for_a_blurred_copy():
    a = _texture(128, 128)
    blurred = cv2.GaussianBlur(a, (0, 0), 2.0)
    assert quality.relative_sharpness(a, a) == pytest.approx(1.0)
    assert quality.relative_sharpness(blurred, a) < 0.3
    # different sizes are fine: it compares detail density
    assert quality.relative_sharpness(a[:64], a) == pytest.approx(1.0, rel=0.2)


def test_compare_reports_inside_and_outside_a_mask():
    a = _texture()
    b = a.copy()
    mask = np.zeros(a.shape[:2], bool)
    mask[10:30, 10:30] = True
    b[mask] = 128
    m = quality.compare(b, a, mask)
    assert m["psnr_out"] == math.inf and m["psnr_in"] < 25
    assert m["ssim_out"] > m["ssim_in"]


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError):
        quality.psnr(_texture(64, 80), _texture(64, 64))


def test_compare_reports_each_named_mask():
    a = _texture()
    b = a.copy()
    new = np.zeros(a.shape[:2], bool)
    new[10:30, 10:30] = True
    moving = np.zeros(a.shape[:2], bool)
    moving[40:50, 40:60] = True
    b[new] = 128
    m = quality.compare(b, a, masks={"new": new, "moving": moving, "none": np.zeros_like(new)})
    assert m["psnr_new"] < 25 and m["psnr_moving"] == math.inf
    assert m["ssim_moving"] > m["ssim_new"]
    assert math.isnan(m["psnr_none"]) and math.isnan(m["ssim_none"])
