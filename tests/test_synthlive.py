"""The synthetic Live Photo generator: geometry, masks, degradation and determinism on small photos."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from livemoments_app.core import quality
from tests.support import synthlive


def _photo(h=360, w=480, seed=3) -> np.ndarray:
    """A textured 'photo' with edges at several scales."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for s in (4, 8, 16, 32):
        acc += cv2.resize(rng.uniform(0, 255, (h // s, w // s, 3)).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_NEAREST if s == 8 else cv2.INTER_CUBIC) / 4
    return np.clip(acc, 0, 255).astype(np.uint8)


SMALL = replace(synthlive.LEVELS["medium"], scale=2.0)


def test_case_sizes_scale_and_mask():
    case = synthlive.make_case(_photo(), SMALL, seed=1, occluder_source=_photo(seed=9), name="t")
    fh, fw = case.degraded.shape[:2]
    th, tw = case.target.shape[:2]
    assert (tw, th) == (fw * 2, fh * 2) and case.scale == 2.0
    assert fw % 2 == 0 and fh % 2 == 0
    assert case.key.shape == (360, 480, 3)
    assert case.absent_mask.shape == (th, tw)
    share = case.absent_mask.mean()
    assert SMALL.occluder_area * 0.7 < share < SMALL.occluder_area * 2.5


def test_same_seed_same_case_other_seed_other_case():
    a = synthlive.make_case(_photo(), SMALL, seed=5)
    b = synthlive.make_case(_photo(), SMALL, seed=5)
    c = synthlive.make_case(_photo(), SMALL, seed=6)
    assert np.array_equal(a.target, b.target) and np.array_equal(a.degraded, b.degraded)
    assert not np.array_equal(a.target, c.target)


def test_target_moved_relative_to_the_key_photo_and_degraded_frame_is_worse_than_a_clean_downscale():
    case = synthlive.make_case(_photo(), SMALL, seed=2)
    th, tw = case.target.shape[:2]
    centre_crop = case.key[(360 - th) // 2:(360 - th) // 2 + th, (480 - tw) // 2:(480 - tw) // 2 + tw]
    assert quality.psnr(case.target, centre_crop) < 25          # the camera moved
    fh, fw = case.degraded.shape[:2]
    clean = cv2.resize(case.target, (fw, fh), interpolation=cv2.INTER_AREA)
    assert quality.psnr(case.degraded, clean) < 35               # blur, noise, tone curve, compression


def test_harder_levels_degrade_more():
    photo = _photo(480, 640)
    easy = synthlive.make_case(photo, synthlive.LEVELS["easy"], seed=4)
    hard = synthlive.make_case(photo, synthlive.LEVELS["hard"], seed=4)

    def bicubic_psnr(case):
        th, tw = case.target.shape[:2]
        return quality.psnr(cv2.resize(case.degraded, (tw, th), interpolation=cv2.INTER_CUBIC), case.target)

    assert bicubic_psnr(hard) < bicubic_psnr(easy)
    assert hard.absent_mask.mean() > easy.absent_mask.mean()


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_encode_roundtrip_returns_the_frames_compressed(codec):
    img = _photo(128, 160)
    out = synthlive.encode_roundtrip([img, img], codec, bits_per_pixel=0.1)
    assert len(out) == 2 and out[1].shape == img.shape and out[1].dtype == np.uint8
    assert 20 < quality.psnr(out[1], img) < 60


def test_rejects_tiny_or_non_rgb_photos():
    with pytest.raises(ValueError):
        synthlive.make_case(np.zeros((40, 40, 3), np.uint8), SMALL)
    with pytest.raises(ValueError):
        synthlive.make_case(np.zeros((400, 400), np.uint8), SMALL)


def test_synthetic_set_names_levels_per_source():
    sources = {"a": _photo(seed=1), "skimage_b": _photo(seed=2)}
    cases = synthlive.synthetic_set(sources, levels=lambda n: ("easy",) if n.startswith("skimage") else
                                    ("easy", "medium"))
    assert [c.name for c in cases] == ["a/easy", "a/medium", "skimage_b/easy"]
