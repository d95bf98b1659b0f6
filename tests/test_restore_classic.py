"""The classic restorer on small synthetic pairs: detail transfer, colour mapping, no ghosting, tiling,
progress and cancellation, the registry."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import pytest

from livemoments_app.core import quality
from livemoments_app.core.align.warp import resize_matrix
from livemoments_app.core.errors import RestoreError
from livemoments_app.core.jobs import CancelToken, Cancelled, Progress
from livemoments_app.core.restore import registry
from livemoments_app.core.restore.base import RestoreRequest
from livemoments_app.core.restore.classic import ClassicRestorer
from livemoments_app.core.restore.classic.colour_map import fit_colour_map
from livemoments_app.core.restore.classic.fusion import fuse


@dataclass
class ExactAlignment:
    """An alignment known exactly (the frame is the still downscaled): isolates the restorer from the aligner."""

    still_to_key: np.ndarray
    total_flow: np.ndarray | None
    confidence: np.ndarray


def _texture(h, w, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for s in (2, 4, 8, 16, 32):
        acc += cv2.resize(rng.uniform(20, 235, (max(2, h // s), max(2, w // s), 3)).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_CUBIC) / 5
    return np.clip(acc, 0, 255).astype(np.uint8)


def _video_look(img: np.ndarray) -> np.ndarray:
    """Another tone curve and white balance, as a phone's video pipeline renders."""
    x = (img.astype(np.float32) / 255.0) ** 1.15 * np.float32([0.97, 1.0, 1.04])
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)


def _pair(h=192, w=256, seed=0):
    still = _texture(h, w, seed)
    small = cv2.resize(still, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    frame = _video_look(cv2.GaussianBlur(small, (0, 0), 0.7))
    alignment = ExactAlignment(resize_matrix(0.5), None, np.ones((h // 2, w // 2), np.float32))
    return still, frame, alignment


def _restore(still, frame, alignment, progress=None, **options):
    request = RestoreRequest(still=still, frame=frame, alignment=alignment, options=options)
    return ClassicRestorer().restore(request, progress or Progress())


def test_restores_the_still_detail_and_rendering_when_aligned():
    still, frame, alignment = _pair()
    result = _restore(still, frame, alignment)
    assert result.pixels.shape == still.shape and result.pixels.dtype == np.uint8
    assert result.info["scale"] == pytest.approx(2.0)      # default scale: the still's pixel density
    bicubic = cv2.resize(frame, (still.shape[1], still.shape[0]), interpolation=cv2.INTER_CUBIC)
    assert quality.psnr(result.pixels, still) > 38
    assert quality.psnr(result.pixels, still) > quality.psnr(bicubic, still) + 10
    assert quality.relative_sharpness(result.pixels, still) > 0.9


def test_explicit_scale_sets_the_output_size():
    still, frame, alignment = _pair()
    request = RestoreRequest(still=still, frame=frame, alignment=alignment, scale=1.5)
    out = ClassicRestorer().restore(request, Progress()).pixels
    assert out.shape == (144, 192, 3)


def test_content_absent_from_the_still_keeps_the_frame_even_when_the_alignment_claims_confidence():
    still, frame, alignment = _pair()
    frame = frame.copy()
    frame[30:60, 40:80] = (200, 40, 40)          # a red object that the key photo does not show
    result = _restore(still, frame, alignment).pixels
    inside = result[66:114, 86:154].astype(np.float32)   # well inside the object at 2x
    # the object stays a flat red patch (the frame's content), not the still's texture showing through
    assert inside.std(axis=(0, 1)).max() < 6
    assert inside[..., 0].mean() > 150 and inside[..., 1].mean() < 90
    # outside it, the still's detail is still transferred
    assert quality.psnr(result[:, 180:], still[:, 180:]) > 35


def test_low_confidence_keeps_the_frame_but_maps_its_colours():
    still, frame, alignment = _pair()
    alignment = replace(alignment, confidence=np.zeros_like(alignment.confidence))
    result = _restore(still, frame, alignment).pixels
    bicubic = cv2.resize(frame, (still.shape[1], still.shape[0]), interpolation=cv2.INTER_CUBIC)
    # no confidence: nothing to fit colours on either, so the result is a plain upscale of the frame
    assert quality.psnr(result, bicubic) > 40


def test_colour_only_option_gives_the_mapped_frame_without_the_still_detail():
    still, frame, alignment = _pair()
    colour_only = _restore(still, frame, alignment, transfer_detail=False).pixels
    full = _restore(still, frame, alignment).pixels
    bicubic = cv2.resize(frame, (still.shape[1], still.shape[0]), interpolation=cv2.INTER_CUBIC)
    assert quality.psnr(bicubic, still) < quality.psnr(colour_only, still) < quality.psnr(full, still)
    assert quality.relative_sharpness(colour_only, still) < 0.6


def test_tiles_do_not_leave_seams():
    still, frame, alignment = _pair(256, 320)
    one = _restore(still, frame, alignment, tile=4096).pixels.astype(np.int16)
    many = _restore(still, frame, alignment, tile=48).pixels.astype(np.int16)
    assert np.abs(one - many).max() <= 2


def test_sixteen_bit_still_gives_sixteen_bit_output():
    still, frame, alignment = _pair()
    still16 = still.astype(np.uint16) * 257
    result = _restore(still16, frame, alignment).pixels
    assert result.dtype == np.uint16
    assert quality.psnr(result, still16) > 38


def test_progress_is_monotonic_and_reaches_one():
    still, frame, alignment = _pair()
    seen = []
    _restore(still, frame, alignment, progress=Progress(lambda f, t: seen.append(f)), tile=64)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) > 5


def test_cancellation_stops_between_tiles():
    still, frame, alignment = _pair()
    token = CancelToken()
    calls = []

    def on_progress(fraction, text):
        calls.append(fraction)
        if fraction > 0.2:
            token.cancel()

    with pytest.raises(Cancelled):
        _restore(still, frame, alignment, progress=Progress(on_progress, token), tile=32)
    assert calls[-1] < 1.0


def test_rgba_inputs_are_restored_as_rgb():
    still, frame, alignment = _pair()
    alpha = lambda img: np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    result = _restore(alpha(still), alpha(frame), alignment).pixels
    assert result.shape == still.shape
    assert quality.psnr(result, still) > 38


def test_absurd_output_sizes_are_refused():
    still, frame, alignment = _pair()
    request = RestoreRequest(still=still, frame=frame, alignment=alignment, scale=150.0)
    with pytest.raises(RestoreError, match="smaller scale"):
        ClassicRestorer().restore(request, Progress())


def test_bad_inputs_are_restore_errors():
    still, frame, alignment = _pair()
    with pytest.raises(RestoreError):
        _restore(still[..., 0], frame, alignment)
    with pytest.raises(RestoreError):
        _restore(still, frame.astype(np.uint16), alignment)
    with pytest.raises(RestoreError):
        _restore(still, frame, replace(alignment, confidence=np.ones((5, 5), np.float32)))


def test_colour_map_recovers_a_tone_curve_and_white_balance_and_extends_to_unseen_darks():
    rng = np.random.default_rng(0)
    still = rng.uniform(0.25, 0.95, (64, 64, 3)).astype(np.float32)
    still = cv2.GaussianBlur(still, (0, 0), 3)
    frame = np.clip(still ** 1.2 * np.float32([0.95, 1.0, 1.05]), 0, 1)
    cmap = fit_colour_map(frame, still, np.ones((64, 64), np.float32))
    assert np.abs(cmap.apply(frame) - still).max() < 0.02
    dark = np.full((1, 1, 3), 0.08, np.float32) ** 1.2 * np.float32([0.95, 1.0, 1.05])
    # darker than anything seen: continued towards black rather than extrapolated wildly
    assert np.abs(cmap.apply(dark)[0, 0] - 0.08).max() < 0.04


def test_colour_map_ignores_a_changed_region():
    rng = np.random.default_rng(1)
    still = cv2.GaussianBlur(rng.uniform(0.2, 0.9, (80, 80, 3)).astype(np.float32), (0, 0), 2)
    frame = still ** 1.1
    frame[:20, :20] = [0.9, 0.1, 0.1]            # something new in 6 % of the picture
    cmap = fit_colour_map(frame, still, np.ones((80, 80), np.float32))
    assert np.abs(cmap.apply(frame)[30:, 30:] - still[30:, 30:]).mean() < 0.01


def test_colour_map_support_covers_what_the_fit_saw_and_the_anchors_only():
    rng = np.random.default_rng(3)
    still = cv2.GaussianBlur(rng.uniform(0.1, 0.35, (120, 160, 3)).astype(np.float32), (0, 0), 2)  # a dark scene
    frame = np.clip(still ** 1.1, 0, 1)
    cmap = fit_colour_map(frame, still, np.ones((120, 160), np.float32))
    levels = np.array([[[0, 0, 0], [int(frame.mean() * 255)] * 3, [200, 200, 200], [255, 255, 255],
                        [240, 240, 240]]], np.uint8)
    support = cmap.support_u8(levels)[0]
    assert support[0] == pytest.approx(1.0) and support[3] == pytest.approx(1.0)    # black and white: anchored
    assert support[4] < 0.2                                                           # near white: hardly
    assert support[1] > 0.99                                                          # seen plenty
    assert support[2] < 0.05                                                          # a bright coat: never seen


def test_colour_map_keeps_black_black_when_the_fit_saw_only_dark_greys():
    """A dark scene's darkest greys are rendered a little lighter by the still (crushed, noisy shadows): a line
    through them missed black by ~4 levels, and a black object the fit never saw came out grey (issue #13)."""
    rng = np.random.default_rng(4)
    still = cv2.GaussianBlur(rng.uniform(0.04, 0.2, (120, 160, 3)).astype(np.float32), (0, 0), 2)
    frame = np.clip(still - 0.04, 0, 1)                     # the video: its shadows crushed by 10 levels
    cmap = fit_colour_map(frame, still, np.ones((120, 160), np.float32))
    black = cmap.apply_u8(np.zeros((1, 1, 3), np.uint8))[0, 0] * 255.0
    assert np.abs(black).max() < 0.5, black
    # and the greys it saw are still mapped onto the still's
    assert np.abs(cmap.apply(frame) - still)[10:-10, 10:-10].mean() < 0.01


def test_a_colour_the_map_never_saw_keeps_the_frames_own_rendering():
    still, frame, alignment = _pair()
    dark_still, dark_frame = (still // 4).astype(np.uint8), (frame // 4).astype(np.uint8)
    dark_frame[30:60, 40:80] = (250, 240, 60)                 # something bright walked into the dark scene
    confidence = alignment.confidence.copy()
    confidence[26:64, 36:84] = 0.0                            # ... where the alignment cannot vouch for anything
    result = _restore(dark_still, dark_frame, replace(alignment, confidence=confidence)).pixels
    bicubic = cv2.resize(dark_frame, (still.shape[1], still.shape[0]), interpolation=cv2.INTER_CUBIC)
    inside = (slice(70, 110), slice(90, 150))
    assert np.abs(result[inside].astype(int) - bicubic[inside]).mean() < 3


def test_fusion_takes_coarse_scales_from_the_base_and_fine_ones_from_the_detail_by_weight():
    rng = np.random.default_rng(2)
    detail = rng.uniform(0, 1, (64, 64, 3)).astype(np.float32)
    base = cv2.GaussianBlur(detail, (0, 0), 3) + 0.1             # soft and brighter
    full = fuse(base.copy(), detail.copy(), np.ones((64, 64), np.float32), 3)
    none = fuse(base.copy(), detail.copy(), np.zeros((64, 64), np.float32), 3)
    assert np.allclose(none, base, atol=1e-5)
    assert abs(float(full.mean() - base.mean())) < 0.01          # light from the base
    assert np.abs(full - detail - 0.1).mean() < 0.05             # detail from the detail image


def test_registry_lists_classic_first_and_auto_falls_back_to_it_without_a_gpu():
    entries = registry.available_restorers()
    assert entries[0].name == "classic" and entries[0].availability.ok
    name, label, availability = entries[0]
    assert label and availability.ok
    names = [e.name for e in entries]
    if "livemoments" in names:
        lm = entries[names.index("livemoments")]
        assert lm.availability.ok or lm.availability.reason
    assert isinstance(registry.create("classic"), ClassicRestorer)
    if not any(e.name == "livemoments" and e.availability.ok for e in entries):
        assert registry.choose_auto() == "classic"
        assert isinstance(registry.create("auto"), ClassicRestorer)
    with pytest.raises(RestoreError):
        registry.create("no-such-restorer")
