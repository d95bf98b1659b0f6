"""Alignment on synthetic Live Photos whose geometry is known exactly.

The still is a textured image; the key frame is the still warped by a known homography to clip resolution and
JPEG-compressed; the chosen frame is the key frame moved by a known smooth flow field, with an occluding object
whose content is absent from the still.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from livemoments_app.core.align import AlignOptions, align, align_pair, clear_cache
from livemoments_app.core.align.warp import apply_homography, grid
from livemoments_app.core.errors import AlignmentError
from livemoments_app.core.jobs import CancelToken, Cancelled, Progress
from livemoments_app.core.livephoto.model import KeyTimeSource, LiveFormat, LivePhoto, Still

FRAME = (480, 640)          # clip height, width
STILL = (1020, 1360)        # the still is ~2.1x denser, like an iPhone's 4032 px still over a 1920 px clip


def texture(shape, seed: int) -> np.ndarray:
    """A photo-like RGB texture: multi-scale noise, edges and blobs (uint8)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    img = np.zeros((h, w, 3), np.float32)
    for cell, amp in ((96, 0.5), (24, 0.3), (6, 0.2)):
        small = rng.random((h // cell + 2, w // cell + 2, 3)).astype(np.float32)
        img += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(60):
        colour = tuple(float(c) for c in rng.random(3) * 1.4)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(8, 60)), colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(img, centre, (centre[0] + int(rng.integers(10, 90)), centre[1] + int(rng.integers(10, 90))),
                          colour, -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    return np.clip(img / img.max() * 255.0, 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int = 80) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def true_homography() -> np.ndarray:
    """still -> key frame: scale to clip resolution, rotate 0.4 degrees, shift, a touch of perspective."""
    s = FRAME[1] / STILL[1] * 1.01
    a = np.deg2rad(0.4)
    c = np.array([STILL[1] / 2, STILL[0] / 2])
    m = np.array([[s * np.cos(a), -s * np.sin(a), 0], [s * np.sin(a), s * np.cos(a), 0], [0, 0, 1]])
    m[:2, 2] = np.array([FRAME[1] / 2, FRAME[0] / 2]) - m[:2, :2] @ c + np.array([6.3, -9.7])
    m[2, :2] = [2e-6, -1.5e-6]
    return m


def true_flow() -> np.ndarray:
    """Smooth flow (chosen -> key, clip pixels): a global pan plus a gentle non-rigid wave, up to ~4 px."""
    h, w = FRAME
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u = 2.2 + 1.5 * np.sin(2 * np.pi * x / w) * np.cos(np.pi * y / h)
    v = -1.4 + 1.2 * np.cos(2 * np.pi * y / h * 0.8 + 0.5)
    return np.stack([u, v], axis=2).astype(np.float32)


def occluder_mask() -> np.ndarray:
    m = np.zeros(FRAME, np.uint8)
    cv2.circle(m, (440, 300), 60, 1, -1)
    return m.astype(bool)


@dataclass
class Scene:
    still: np.ndarray
    key: np.ndarray
    chosen: np.ndarray
    h_true: np.ndarray
    flow: np.ndarray
    occluded: np.ndarray


@pytest.fixture(scope="module")
def scene() -> Scene:
    still = texture(STILL, seed=3)
    h_true = true_homography()
    h, w = FRAME
    # render the key frame by sampling the still (area-prefiltered to avoid aliasing)
    pre = cv2.GaussianBlur(still, (0, 0), 0.8)
    key = cv2.warpPerspective(pre, h_true, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    # the video's tone curve and white balance differ from the still's
    key = np.clip(key.astype(np.float32) * np.array([0.9, 1.0, 1.1]) + 8, 0, 255).astype(np.uint8)
    flow = true_flow()
    gx, gy = grid(FRAME)
    chosen = cv2.remap(key, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    occluded = occluder_mask()
    other = texture(FRAME, seed=99)
    chosen[occluded] = other[occluded]
    return Scene(still, jpeg(key), jpeg(chosen), h_true, flow, occluded)


class MemoryClip:
    """The part of FrameSource that alignment uses, over frames held in memory."""

    def __init__(self, frames: list[np.ndarray], fps: float = 30.0):
        self.frames = frames
        self.times = np.arange(len(frames)) / fps
        self.frame_count = len(frames)
        self.height, self.width = frames[0].shape[:2]
        self.reads = 0

    def nearest_index(self, t: float) -> int:
        return int(np.argmin(np.abs(self.times - t)))

    def frame(self, i: int) -> np.ndarray:
        self.reads += 1
        return self.frames[i]

    def close(self) -> None:
        pass


def live_photo(scene: Scene) -> LivePhoto:
    clip = MemoryClip([scene.key, scene.chosen])
    return LivePhoto(LiveFormat.STILL_AND_VIDEO, Still(scene.still), clip, key_time_s=0.0,
                     key_time_source=KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, still_path=Path("synthetic.jpg"))


def homography_error(m: np.ndarray, h_true: np.ndarray) -> np.ndarray:
    """Distance (key-frame pixels) between the two transforms over a grid of still points inside the frame."""
    ys, xs = np.mgrid[40:STILL[0] - 40:20, 40:STILL[1] - 40:20].astype(np.float64)
    ex, ey = apply_homography(m, xs, ys)
    tx, ty = apply_homography(h_true, xs, ys)
    return np.hypot(ex - tx, ey - ty)


def visible(scene: Scene, margin: int = 12) -> np.ndarray:
    vis = ~cv2.dilate(scene.occluded.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    vis[:margin] = vis[-margin:] = False
    vis[:, :margin] = vis[:, -margin:] = False
    return vis


def test_align_recovers_transform_flow_and_flags_occlusion(scene):
    lp = live_photo(scene)
    a = align(lp, 1)
    assert a.key_index == 0 and a.frame_index == 1
    err = homography_error(a.still_to_key, scene.h_true)
    assert np.sqrt(np.mean(err ** 2)) <= 0.5, f"transform RMS error {np.sqrt(np.mean(err ** 2)):.3f} px"
    vis = visible(scene)
    epe = np.hypot(*(a.flow - scene.flow).transpose(2, 0, 1))
    assert epe[vis].mean() <= 0.5, f"flow EPE {epe[vis].mean():.3f} px"
    flagged = np.mean(a.confidence[scene.occluded] < 0.5)
    assert flagged >= 0.8, f"only {flagged:.0%} of the occluder has confidence < 0.5"
    assert np.mean(a.confidence[vis] >= 0.5) >= 0.9
    assert 0.0 <= a.aligned_share <= 1.0
    # the whole chain: where every visible chosen-frame pixel lies in the still
    mx, my = a.map_to_still(1.0)
    gx, gy = grid(FRAME)
    tx, ty = apply_homography(np.linalg.inv(scene.h_true), gx + scene.flow[..., 0], gy + scene.flow[..., 1])
    still_err = np.hypot(mx - tx, my - ty)[vis]
    assert np.median(still_err) <= 0.5, f"median still-coordinate error {np.median(still_err):.3f} still px"
    assert abs(a.default_scale - STILL[1] / FRAME[1] / 1.01) < 0.02


def test_align_pair_recovers_transform_and_flags_occlusion(scene):
    key_with_object = scene.key.copy()
    key_with_object[scene.occluded] = texture(FRAME, seed=7)[scene.occluded]
    a = align_pair(scene.still, key_with_object)
    err = homography_error(a.still_to_key, scene.h_true)
    assert np.sqrt(np.mean(err ** 2)) <= 0.5
    assert a.flow is None and a.residual is not None
    assert np.mean(a.confidence[scene.occluded] < 0.5) >= 0.8
    vis = visible(scene)
    assert np.mean(a.confidence[vis] >= 0.5) >= 0.9
    # sub-pixel: the residual-corrected map agrees with the truth to a small fraction of a clip pixel
    mx, my = a.map_to_still(1.0)
    gx, gy = grid(FRAME)
    tx, ty = apply_homography(np.linalg.inv(scene.h_true), gx, gy)
    err_clip = np.hypot(mx - tx, my - ty)[vis] / a.default_scale
    assert np.median(err_clip) <= 0.15, f"median error {np.median(err_clip):.3f} clip px"


def test_unrelated_images_fail_honestly(scene):
    with pytest.raises(AlignmentError, match="could not align"):
        align_pair(scene.still, texture(FRAME, seed=1234))


def test_registration_is_cached_and_frames_too(scene):
    lp = live_photo(scene)
    first = align(lp, 1)
    reads = lp.clip.reads
    assert align(lp, 1) is first
    assert lp.clip.reads == reads            # served from the cache, nothing decoded
    key = align(lp, 0)
    assert key.flow is None and key.timings["registration_s"] < 0.05   # registration reused
    np.testing.assert_array_equal(key.still_to_key, first.still_to_key)
    clear_cache(lp)


def test_cancelled_progress_stops_alignment(scene):
    lp = live_photo(scene)
    token = CancelToken()
    seen = []

    def callback(fraction, text):
        seen.append(fraction)
        if fraction > 0.0:
            token.cancel()

    with pytest.raises(Cancelled):
        align(lp, 1, progress=Progress(callback, token))
    assert seen and max(seen) < 1.0


def test_maps_are_consistent_across_scales_and_inverse(scene):
    a = align(live_photo(scene), 1)
    mx1, my1 = a.map_to_still(1.0)
    s = a.default_scale
    mxs, mys = a.map_to_still(s)
    oh, ow = a.output_size(s)
    assert mxs.shape == (oh, ow) == a.output_size()
    # output pixel u at scale s sits at frame position (u + 0.5) / s - 0.5: sample the scale-1 map there
    u = np.array([100.0, 700.0, 1200.0])
    v = np.array([80.0, 500.0, 900.0])
    px = (u + 0.5) * (FRAME[1] / ow) - 0.5
    py = (v + 0.5) * (FRAME[0] / oh) - 0.5
    ref_x = cv2.remap(mx1, px.astype(np.float32)[None], py.astype(np.float32)[None], cv2.INTER_LINEAR)[0]
    got_x = mxs[v.astype(int), u.astype(int)]
    np.testing.assert_allclose(got_x, ref_x, atol=0.3)
    # region = the same pixels as the full map
    rx, ry = a.map_to_still(s, region=(10, 20, 74, 60))
    np.testing.assert_allclose(rx, mxs[20:60, 10:74], atol=1e-3)
    np.testing.assert_allclose(ry, mys[20:60, 10:74], atol=1e-3)
    # inverse: still -> frame -> still returns (on visible frame content)
    fx, fy = a.map_to_frame(1.0, still_scale=0.25)
    back_x = cv2.remap(mx1, fx, fy, cv2.INTER_LINEAR)
    back_y = cv2.remap(my1, fx, fy, cv2.INTER_LINEAR)
    sx, sy = grid(STILL, 0.25)   # full-resolution still positions of the quarter-size grid
    inside = (fx > 15) & (fx < FRAME[1] - 15) & (fy > 15) & (fy < FRAME[0] - 15)
    occl = cv2.remap(scene.occluded.astype(np.float32), fx, fy, cv2.INTER_LINEAR) > 0
    ok = inside & ~cv2.dilate(occl.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    round_trip = np.hypot(back_x - sx, back_y - sy)[ok]
    assert np.median(round_trip) < 1.0


def test_warp_still_matches_the_frame(scene):
    a = align(live_photo(scene), 1)
    warped, valid = a.warp_still(scene.still, scale=1.0)
    assert warped.shape == scene.chosen.shape and valid.dtype == bool
    vis = visible(scene) & valid
    g1 = cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY).astype(np.float32)
    g2 = cv2.cvtColor(scene.chosen, cv2.COLOR_RGB2GRAY).astype(np.float32)
    corr = np.corrcoef(g1[vis], g2[vis])[0, 1]
    assert corr > 0.97
    big, big_valid = a.warp_still(scene.still)
    assert big.shape[:2] == a.output_size() and big_valid.shape == big.shape[:2]
    assert a.confidence_at().shape == big.shape[:2]
    with pytest.raises(ValueError):
        a.warp_still(scene.still[:100])


def test_options_without_residual_still_align(scene):
    a = align_pair(scene.still, scene.key, AlignOptions(residual=False))
    assert a.residual is None
    assert np.sqrt(np.mean(homography_error(a.still_to_key, scene.h_true) ** 2)) <= 1.0


def test_estimated_key_time_picks_the_best_fitting_neighbour(scene):
    # the key time was estimated (no metadata) and points one frame off, at the frame with the occluder: the
    # registration tries the neighbours and keeps the frame that fits the still best
    clip = MemoryClip([scene.chosen, scene.key, scene.chosen])
    lp = LivePhoto(LiveFormat.STILL_AND_VIDEO, Still(scene.still), clip, key_time_s=0.0,
                   key_time_source=KeyTimeSource.IMAGE_SIMILARITY, still_path=Path("synthetic.jpg"))
    a = align(lp, 2)
    assert a.key_index == 1
    assert np.sqrt(np.mean(homography_error(a.still_to_key, scene.h_true) ** 2)) <= 0.5
