"""Alignment on the real camera samples (skipped when ../shared/samples is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from livemoments_app.core.align import align, render_overlay
from livemoments_app.core.livephoto import open_live_photo
from tests.conftest import sample

# ~15 s of CPU in all (five registrations at clip resolution), more on a loaded machine
pytestmark = [pytest.mark.samples, pytest.mark.slow]

DECODABLE = [
    "apple_iphone15pro_IMG_4394.HEIC",
    "apple_iphone6s_0FFBE909.jpeg",
    "samsung_s22_oneui6_motionphoto.heic",
    "libmphoto_heic_motionphoto_pixel4video.heic",
]


@pytest.fixture(scope="module")
def iphone15():
    with open_live_photo(sample("apple_iphone15pro_IMG_4394.HEIC")) as live:
        yield live


def test_iphone15pro_key_frame_is_well_aligned(iphone15):
    a = align(iphone15, iphone15.key_frame_index)
    assert a.method == "features" and a.inliers >= 200
    assert a.aligned_share >= 0.92, a.summary()
    # the stabilised video is shifted by tens of pixels but hardly scaled against the still
    assert abs(a.default_scale - iphone15.still.width / iphone15.clip.width) < 0.03
    assert a.refine_inliers >= 1000 and a.refine_rms < 0.5   # the dense refinement explains the key frame


def test_iphone15pro_far_frame_reports_motion_and_share(iphone15):
    key = iphone15.key_frame_index
    a = align(iphone15, key - 30)
    assert a.median_flow_px > 5.0              # the camera moved between the two moments
    assert 0.0 <= a.aligned_share <= 1.0
    # the overlays are images of the frame's size
    frame = iphone15.clip.frame(key - 30)
    for mode in ("blend", "flow", "confidence"):
        img = render_overlay(mode, a, iphone15.still.pixels, frame)
        assert img.shape == frame.shape and img.dtype == np.uint8


@pytest.mark.parametrize("name", DECODABLE)
def test_key_frame_registration_succeeds_on_every_decodable_sample(name):
    with open_live_photo(sample(name)) as live:
        a = align(live, live.key_frame_index)
        assert a.still_to_key.shape == (3, 3) and np.all(np.isfinite(a.still_to_key))
        assert a.confidence.shape == (live.clip.height, live.clip.width)
        assert 0.0 <= a.aligned_share <= 1.0


def test_night_clip_confidence_drops_away_from_the_key_frame():
    # the iPhone 6s clip films a turning, blinking Ferris wheel at night: far from the key time the frame no
    # longer matches the still, and the confidence must say so rather than pretend
    with open_live_photo(sample("apple_iphone6s_0FFBE909.jpeg")) as live:
        key = align(live, live.key_frame_index)
        far = align(live, 0)
        assert far.aligned_share < 0.5
        assert far.aligned_share < key.aligned_share - 0.3
