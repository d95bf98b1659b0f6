"""The pieces of core/align on their own: flow estimators, confidence, geometry checks, warps, overlays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from livemoments_app.core.align import (
    DISFlow,
    FlowEstimator,
    blend,
    checkerboard,
    confidence_heatmap,
    difference,
    edges,
    flow_colour,
    make_estimator,
)
from livemoments_app.core.align.confidence import (
    aligned_share, colour_match, confidence_map, forward_backward_error, matching_blur, photometric_distance,
    structure_distance, tolerance_factor,
)
from livemoments_app.core.align.flow import torchvision_available
from livemoments_app.core.align.registration import transform_problem
from livemoments_app.core.align.warp import (
    apply_homography,
    compose_flows,
    frame_to_still_map,
    grid,
    invert_field,
    resize_matrix,
    smooth_field,
)
from livemoments_app.core.errors import ModelFilesError


def _texture(h=240, w=320, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.random((h // 8, w // 8, 3)).astype(np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img += 0.3 * cv2.resize(rng.random((h // 2, w // 2, 3)).astype(np.float32), (w, h))
    return np.clip(img / img.max() * 255, 0, 255).astype(np.uint8)


def test_dis_recovers_a_subpixel_shift():
    img = _texture()
    shift = (1.6, -0.7)
    m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    # dst(p) = img(p - shift): so img(p) = dst(p + shift)
    dst = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT)
    flow = DISFlow()(img, dst)
    assert flow.shape == (240, 320, 2) and flow.dtype == np.float32
    inner = flow[20:-20, 20:-20]
    np.testing.assert_allclose(np.median(inner[..., 0]), shift[0], atol=0.1)
    np.testing.assert_allclose(np.median(inner[..., 1]), shift[1], atol=0.1)
    with pytest.raises(ValueError):
        DISFlow()(img, img[:100])


def test_estimators_by_name():
    assert isinstance(make_estimator("dis"), FlowEstimator)
    with pytest.raises(ValueError):
        make_estimator("nope")


@pytest.mark.skipif(torchvision_available(), reason="torchvision is installed: the missing-library path is moot")
def test_raft_without_torchvision_says_what_is_missing():
    with pytest.raises(ModelFilesError, match="torchvision"):
        make_estimator("raft", raft_weights="weights.pth")


@pytest.mark.skipif(not torchvision_available(), reason="torchvision is not installed")
def test_raft_plumbing_with_random_weights(tmp_path):
    from livemoments_app.core.align.flow import RAFTFlow

    est = RAFTFlow(None, small=True, allow_random=True, iterations=2)
    img = _texture(61, 83)
    flow = est(img, img)
    assert flow.shape == (61, 83, 2) and flow.dtype == np.float32
    with pytest.raises(ModelFilesError):
        RAFTFlow(tmp_path / "missing.pth")


def test_forward_backward_error_is_zero_for_inverse_fields_and_large_for_inconsistent():
    h, w = 60, 80
    f = np.zeros((h, w, 2), np.float32)
    f[..., 0] = 2.5
    b = -f
    assert forward_backward_error(f, b).max() < 1e-4
    bad = b.copy()
    bad[20:40, 20:40] = 3.0
    e = forward_backward_error(f, bad)
    assert e[25:35, 18:37].min() > 4.0      # points landing in the inconsistent block
    assert e[25:35, 45:].max() < 1e-4


def test_tolerance_factor_and_confidence():
    e = np.array([0.0, 1.0, 2.0], np.float32)
    np.testing.assert_allclose(tolerance_factor(e, 1.0), [1.0, 0.5, 1 / 16], rtol=1e-5)
    valid = np.array([True, True, False])
    c = confidence_map(e, np.zeros(3, np.float32), valid)
    np.testing.assert_allclose(c, [1.0, 0.5, 0.0], rtol=1e-5)
    assert aligned_share(np.array([0.2, 0.5, 0.9, 0.1])) == 0.5


def test_matching_blur_finds_how_much_softer_the_frame_is():
    rng = np.random.default_rng(4)
    sharp = cv2.resize(rng.uniform(0, 1, (60, 80, 3)).astype(np.float32), (320, 240), interpolation=cv2.INTER_CUBIC)
    soft = cv2.GaussianBlur(sharp, (0, 0), 1.5)
    everywhere = np.ones((240, 320), bool)
    assert matching_blur(sharp, soft, everywhere) == pytest.approx(1.5)
    assert matching_blur(sharp, sharp, everywhere) == 0.0
    assert matching_blur(sharp, soft, np.zeros_like(everywhere)) == 0.0     # nothing to tell it by


def test_structure_distance_sees_moved_or_missing_detail_not_softness_or_darkness():
    rng = np.random.default_rng(5)
    base = np.full((120, 160, 3), 0.5, np.float32)
    detail = base + cv2.GaussianBlur(rng.normal(0, 0.15, (120, 160, 3)).astype(np.float32), (0, 0), 0.8)
    softer = 0.5 + (detail - 0.5) * 0.5                       # the same detail at half the contrast
    moved = np.roll(detail, 3, axis=1)                        # the same kind of detail, elsewhere
    dark = 0.08 + (detail - 0.5) * 0.25                       # detail in the dark, at a quarter of the contrast
    dark_moved = np.roll(dark, 3, axis=1)
    inner = (slice(10, -10), slice(10, -10))
    assert structure_distance(detail, detail)[inner].max() < 0.01
    assert structure_distance(base, base)[inner].max() < 0.01              # flat against flat: no disagreement
    assert structure_distance(softer, detail)[inner].mean() < 0.3
    assert structure_distance(moved, detail)[inner].mean() > 0.8
    assert structure_distance(base, detail)[inner].mean() > 0.8            # detail only in one of them
    assert structure_distance(dark_moved, dark)[inner].mean() > 0.5       # a colour distance misses this one
    assert photometric_distance(dark_moved, dark)[inner].mean() < 0.02


def test_colour_match_undoes_a_gain_and_offset():
    ref = _texture().astype(np.float32) / 255
    src = np.clip(ref * np.array([0.6, 0.8, 0.7]) + np.array([0.15, 0.05, 0.2]), 0, 1).astype(np.float32)
    out = colour_match(src, ref)
    assert np.abs(src - ref).mean() > 0.05
    assert np.abs(out - ref)[10:-10, 10:-10].mean() < 0.01


def test_transform_sanity_checks():
    still, frame = (3024, 4032), (1440, 1920)
    s = 1920 / 4032
    good = np.array([[s, 0, 4.0], [0, s, -30.0], [0, 0, 1]])
    assert transform_problem(good, still, frame) is None
    mirrored = good @ np.diag([-1.0, 1.0, 1.0])
    assert "mirror" in transform_problem(mirrored, still, frame)
    assert "scaled" in transform_problem(good @ np.diag([3.0, 3.0, 1.0]), still, frame)
    a = np.deg2rad(40)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    assert "rotates" in transform_problem(rot @ good, still, frame)
    persp = good.copy()
    persp[2, 0] = 4e-4
    assert transform_problem(persp, still, frame) is not None
    shifted = good.copy()
    shifted[0, 2] = 1500
    assert "cover" in transform_problem(shifted, still, frame)


def test_resize_matrix_matches_cv2_resize():
    img = np.zeros((40, 60), np.float32)
    img[10, 20] = 1.0
    big = cv2.resize(img, (120, 80), interpolation=cv2.INTER_LINEAR)
    x, y = apply_homography(resize_matrix(2.0), np.array([20.0]), np.array([10.0]))
    # the peak lands between the two output pixels around (x, y) = (40.5, 20.5)
    assert abs(float(x[0]) - 40.5) < 1e-6 and abs(float(y[0]) - 20.5) < 1e-6
    assert big[20:22, 40:42].min() == big.max()


def test_compose_and_invert_fields():
    h, w = 50, 70
    gx, gy = grid((h, w))
    f = np.stack([1.0 + 0.5 * np.sin(gy / 9.0), -0.8 + 0.3 * np.cos(gx / 11.0)], axis=2).astype(np.float32)
    inv = invert_field(f)
    roundtrip = compose_flows(f, inv)
    assert np.abs(roundtrip[5:-5, 5:-5]).max() < 0.02
    assert compose_flows(None, None) is None
    np.testing.assert_array_equal(compose_flows(f, None), f)


def test_frame_to_still_map_at_scale_two_uses_pixel_centres():
    m = resize_matrix(0.5)          # still twice the frame's size, no motion
    mx, my = frame_to_still_map(m, None, (10, 20), scale=2.0)
    assert mx.shape == (20, 40)
    # output pixel u at scale 2 is still pixel u (same density): identity
    np.testing.assert_allclose(mx[3, :5], np.arange(5), atol=1e-5)
    np.testing.assert_allclose(my[:5, 3], np.arange(5), atol=1e-5)


def test_smooth_field_fills_untrusted_areas_from_trusted_ones():
    f = np.zeros((64, 64, 2), np.float32)
    f[..., 0] = 2.0
    noisy = f.copy()
    noisy[20:40, 20:40] = 30.0                   # garbage where nothing is trusted
    w = np.ones((64, 64), np.float32)
    w[16:44, 16:44] = 0.0
    out = smooth_field(noisy, w, 2.0)
    np.testing.assert_allclose(out[28:32, 28:32, 0], 2.0, atol=0.2)
    prior = smooth_field(noisy, np.zeros_like(w), 2.0, prior=0.0)
    assert np.abs(prior).max() < 1e-5


def test_overlays_shapes_and_meaning():
    frame = _texture(seed=1)
    still = _texture(seed=2)
    valid = np.ones(frame.shape[:2], bool)
    valid[:, :10] = False
    np.testing.assert_array_equal(blend(frame, still, 0.0), frame)
    np.testing.assert_array_equal(blend(frame, still, 1.0)[:, 10:], still[:, 10:])
    assert blend(frame, still, 1.0, valid)[:, :10].max() < frame[:, :10].max()   # outside: darkened frame
    d = difference(frame, frame)
    assert d.max() == 0 and d.shape == frame.shape
    cb = checkerboard(frame, still, tile=16)
    np.testing.assert_array_equal(cb[:16, :16], frame[:16, :16])
    np.testing.assert_array_equal(cb[:16, 16:32], still[:16, 16:32])
    e = edges(frame, frame)
    assert e.dtype == np.uint8 and e.shape == frame.shape
    # identical images: every edge pixel is white (both colours add up)
    coloured = (e[..., 0] == 255) ^ (e[..., 1] == 255)
    assert not coloured.any()
    h = confidence_heatmap(np.array([[0.0, 1.0]]))
    assert tuple(h[0, 0]) == (255, 0, 0) and tuple(h[0, 1]) == (0, 255, 0)
    with pytest.raises(ValueError):
        blend(frame, still[:10])


def test_flow_colour_follows_the_middlebury_wheel():
    f = np.zeros((1, 4, 2), np.float32)
    f[0, 0] = (1, 0)     # right
    f[0, 1] = (-1, 0)    # left
    f[0, 2] = (0, -1)    # up (image y grows downwards)
    c = flow_colour(f, max_magnitude=1.0)
    assert tuple(c[0, 3]) == (255, 255, 255)          # no motion: white
    r, g, b = (int(v) for v in c[0, 0])
    assert r == 255 and g < 60                          # right: red
    r, g, b = (int(v) for v in c[0, 1])
    assert r < 60 and g > 150 and b > 150               # left: cyan
    r, g, b = (int(v) for v in c[0, 2])
    assert b == 255 and g < 60 and r > 50               # up: violet
    assert flow_colour(None, shape=(2, 3)).min() == 255


@pytest.mark.parametrize("still_hw, frame_hw", [((3024, 4032), (1440, 1920)), ((4000, 3000), (1440, 1080)),
                                                ((900, 1200), (480, 640))])
def test_downscale_still_matrix_predicts_where_content_lands(still_hw, frame_hw):
    from livemoments_app.core.align.registration import downscale_still

    h, w = still_hw
    still = np.zeros((h, w, 3), np.uint8)
    dot = (w * 0.37 + 0.3, h * 0.61 + 0.7)
    cv2.circle(still, (int(round(dot[0] * 16)), int(round(dot[1] * 16))), 6 * 16, (255, 255, 255), -1,
               cv2.LINE_AA, shift=4)
    still = cv2.GaussianBlur(still, (0, 0), 3)
    small, m = downscale_still(still, frame_hw)
    assert small.shape[:2] == frame_hw
    g = small[..., 0].astype(np.float64)
    ys, xs = np.mgrid[0:g.shape[0], 0:g.shape[1]]
    centroid = ((g * xs).sum() / g.sum(), (g * ys).sum() / g.sum())
    px, py = apply_homography(m, np.array([dot[0]]), np.array([dot[1]]))
    assert abs(float(px[0]) - centroid[0]) < 0.05 and abs(float(py[0]) - centroid[1]) < 0.05


def test_brightness_ratio_is_as_strict_in_the_shadows_as_in_the_light():
    from livemoments_app.core.align.confidence import brightness_ratio

    def ratio(a: int, b: int) -> float:
        return float(brightness_ratio(np.full((9, 9, 3), a, np.uint8), np.full((9, 9, 3), b, np.uint8),
                                      floor=0.02)[4, 4])

    assert ratio(0, 25) > 4.5                    # black against a dark grey of 25 levels
    assert ratio(128, 153) < 1.2                 # the same 25 levels between mid-greys
    assert ratio(60, 60) == pytest.approx(1.0)
    assert ratio(25, 0) == pytest.approx(ratio(0, 25))


def test_the_default_scale_gives_the_still_its_own_size_when_the_clip_shows_all_of_it():
    """A restored key photo replaces the original at its dimensions: the measured centre density (which moves by a
    few tenths of a percent between frames) is snapped to the still's size when it comes within half a percent;
    a clip that crops the still's view, or has another aspect, keeps the measured density."""
    from livemoments_app.core.align.warp import centre_density, output_scale, output_size

    frame, still = (1440, 1080), (4032, 3024)

    def transform(density: float) -> np.ndarray:       # still -> key frame: 1 / density, centred
        s = 1.0 / density
        return np.array([[s, 0.0, (1080 - 3024 * s) / 2], [0.0, s, (1440 - 4032 * s) / 2], [0.0, 0.0, 1.0]])

    near = transform(2.8 * 0.999)                       # as the iPhone 6s sample's frame 13 measures
    assert output_size(frame, centre_density(near, frame)) == (4028, 3021)
    assert output_size(frame, output_scale(near, frame, still)) == still
    cropped = transform(2.8 * 1.02)                     # a stabilised clip showing 2 % less of the scene
    assert output_scale(cropped, frame, still) == pytest.approx(centre_density(cropped, frame))
    assert output_scale(near, frame, (4000, 3024)) == pytest.approx(centre_density(near, frame))   # other aspect
