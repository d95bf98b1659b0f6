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


def _hard(level: str, **changes):
    return replace(synthlive.LEVELS[level], scale=2.0, **changes)


def test_walker_level_moves_a_figure_of_the_key_photo_and_an_occluder_enters_the_frame():
    photo = _photo(480, 640)
    case = synthlive.make_case(photo, _hard("walker"), seed=3, occluder_source=_photo(seed=9), name="w")
    new, moving = case.absent_mask, case.moving_mask
    assert moving.shape == new.shape and not (moving & new).any()
    assert 0.02 < moving.mean() < 0.2 and new.mean() > moving.mean()
    # the figure is in the key photo (it walks on), not only in the ground truth
    changed = np.abs(case.key.astype(int) - photo).max(axis=2) > 0
    assert 0.02 < changed.mean() < 0.2
    # the occluder comes in across an edge: new content touches the frame's border
    assert new[0].any() or new[-1].any() or new[:, 0].any() or new[:, -1].any()


def test_head_level_turns_a_head_whose_far_side_is_new_content():
    photo = _photo(480, 640)
    case = synthlive.make_case(photo, _hard("head", occluder_area=0.0), seed=4, occluder_source=_photo(seed=9))
    ys, xs = np.nonzero(case.moving_mask)
    assert len(ys) > 0
    box = np.zeros_like(case.moving_mask)
    box[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    # the head's far side (and what its old outline covered) lies beside its near side
    assert (case.absent_mask & cv2.dilate(box.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)).any()


def test_a_higher_crf_compresses_harder():
    img = _photo(128, 160)
    mild = synthlive.encode_roundtrip([img, img], "h264", 0.1, crf=20)[1]
    harsh = synthlive.encode_roundtrip([img, img], "h264", 0.1, crf=36)[1]
    assert quality.psnr(harsh, img) + 3 < quality.psnr(mild, img)


def test_motion_blur_softens_the_frame():
    photo = _photo(480, 640)
    sharp = synthlive.make_case(photo, _hard("head", motion_blur_px=0.0, object_blur_px=0.0), seed=4)
    blurred = synthlive.make_case(photo, _hard("head", motion_blur_px=4.0, object_blur_px=0.0), seed=4)
    assert np.array_equal(sharp.target, blurred.target)
    assert quality.hf_energy(blurred.degraded) < 0.7 * quality.hf_energy(sharp.degraded)


def test_older_levels_have_an_empty_moving_mask_and_level_seeds_do_not_depend_on_the_levels_asked_for():
    sources = {"a": _photo(seed=1)}
    both = synthlive.synthetic_set(sources, levels=lambda n: ("easy", "medium"))
    medium = synthlive.synthetic_set(sources, levels=lambda n: ("medium",))
    assert not both[0].moving_mask.any()
    assert np.array_equal(both[1].degraded, medium[0].degraded)
