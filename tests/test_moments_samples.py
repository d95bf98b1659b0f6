"""core.moments on every real sample: a score for every frame of every decodable clip, a clear error for the clips
that cannot be decoded, and the cheap restorable-share estimate against the full alignment."""

from __future__ import annotations

import math

import pytest

from livemoments_app.core.errors import DecodeError
from livemoments_app.core.livephoto import open_live_photo
from livemoments_app.core.moments import suggest
from tests.conftest import sample

DECODABLE = [
    "apple_iphone15pro_IMG_4394.HEIC",
    "apple_iphone6s_0FFBE909.jpeg",
    "samsung_s22_oneui6_motionphoto.heic",
    "libmphoto_heic_motionphoto_pixel4video.heic",
]
TRUNCATED = ["pixel4xl_motionphoto_v2_truncated.jpg", "samsung_s20ultra_microvideo_v1_truncated.jpg"]

pytestmark = pytest.mark.samples


@pytest.mark.parametrize("name", DECODABLE)
def test_every_frame_of_every_sample_is_scored(name):
    with open_live_photo(sample(name)) as live:
        result = suggest(live)
        n, key = live.clip.frame_count, live.key_frame_index
        times = list(live.clip.times)
    assert [f.index for f in result.frames] == list(range(n))
    assert [f.time_s for f in result.frames] == pytest.approx(times)
    assert result.key_index == key and result.frames[key].is_key
    assert sum(f.is_key for f in result.frames) == 1
    for f in result.frames:
        assert 0.0 <= f.score <= 1.0 and math.isfinite(f.score)
        assert {"sharpness", "restorability", "exposure"} <= set(f.parts)
        assert all(0.0 <= v <= 1.0 for v in f.parts.values())
    # the clip's sharpest frame is judged against itself: some frame reaches (nearly) the full sharpness part
    assert max(f.parts["sharpness"] for f in result.frames) > 0.8
    top = result.top(3)
    assert top[0] == result.ranked()[0] and len(top) == 3
    assert all(abs(a.time_s - b.time_s) >= 0.25 for a in top for b in top if a is not b)
    assert all(f.reasons for f in result.frames)


@pytest.mark.parametrize("name", TRUNCATED)
def test_a_clip_cut_short_is_a_clear_error(name):
    with pytest.raises(DecodeError, match="truncated|damaged|cannot|could not"):
        with open_live_photo(sample(name)) as live:
            suggest(live)


def test_restorable_share_follows_the_full_alignment():
    """The low-resolution estimate against align()'s aligned share on frames across the iPhone clips."""
    from livemoments_app.core.align import align
    from livemoments_app.core.moments.scoring import measure_clip

    for name, frames in (("apple_iphone15pro_IMG_4394.HEIC", (0, 22, 52)), ("apple_iphone6s_0FFBE909.jpeg",
                                                                             (10, 31, 42))):
        with open_live_photo(sample(name)) as live:
            m = measure_clip(live)
            for i in frames:
                assert m.share[i] == pytest.approx(align(live, i).aligned_share, abs=0.1), (name, i)
