"""The picture cache that sequential passes fill (thumbnails, iter_frames, prefetch): a warm frame(i) needs no
seek and no decode, and is pixel-for-pixel what a cold exact seek returns — on synthetic clips of every colour
path (BT.601/709, full/limited, 4:2:0, 10-bit HLG, P3 + rotation) and on the real camera clips."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from livemoments_app.core.clip import FrameSource
from livemoments_app.core.jobs import CancelToken, Cancelled, Progress
from tests.test_clip_synthetic import frame_number, numbered_clip, write_clip


def noise_clip(tmp_path, name: str, *, n: int = 10, h: int = 48, w: int = 64, depth: int = 8, **kw):
    """Random planes (every pixel differs, chroma too): a conversion that differs anywhere shows."""
    rng = np.random.default_rng(7)
    lo, hi, dtype = ((64, 940, np.uint16) if depth == 10 else (16, 235, np.uint8))
    sub = 2 if "420" in kw.get("pix_fmt", "yuv444p") else 1
    frames = []
    for i in range(n):
        y = rng.integers(lo, hi, size=(h, w)).astype(dtype)
        y[:, : 4 + i] = hi             # a bar whose width is the frame number
        u, v = rng.integers(lo, hi, size=(2, h // sub, w // sub)).astype(dtype)
        frames.append([y, u, v])
    return write_clip(tmp_path / name, frames, gop=4, **kw)


def assert_warm_equals_cold(warm: FrameSource, cold: FrameSource, reseek: bool = True) -> None:
    """Every frame of ``warm`` (already warmed) comes from its caches without decoding and equals a cold seek
    of ``cold`` (no picture cache; its caches cleared before each frame when ``reseek``)."""
    before = dict(warm.stats)
    for i in range(warm.frame_count):
        if reseek:
            cold.clear_cache()
        want = cold.frame(i)
        got = warm.frame(i)
        assert np.array_equal(got, want), f"frame {i}: warm and cold differ"
    assert warm.stats["seeks"] == before["seeks"] and warm.stats["decoded"] == before["decoded"]
    # A few may come from the thumbnail decoder's last pictures (frame 0: decoded at open) rather than the cache.
    assert warm.stats["from_pictures"] - before["from_pictures"] >= warm.frame_count - 3


SYNTHETIC = {
    "601-limited-420": dict(pix_fmt="yuv420p", matrix=6, full_range=False),
    "709-limited-420": dict(pix_fmt="yuv420p", matrix=1, full_range=False),
    "601-full-420": dict(pix_fmt="yuv420p", matrix=6, full_range=True),
    "709-full-444": dict(pix_fmt="yuv444p", matrix=1, full_range=True),
    "p3-rotated-420": dict(pix_fmt="yuv420p", matrix=1, primaries=12, full_range=True, rotation_ccw=-90),
    "hlg-10bit-420": dict(pix_fmt="yuv420p10le", codec="libx265", matrix=9, primaries=9, trc=18, depth=10),
}


@pytest.mark.parametrize("case", list(SYNTHETIC))
def test_prefetched_frames_equal_cold_seeks(tmp_path, case):
    path = noise_clip(tmp_path, f"{case}.mp4", **SYNTHETIC[case])
    with FrameSource.open(path, cache_frames=1) as warm, \
            FrameSource.open(path, cache_frames=1, picture_cache_bytes=0) as cold:
        assert warm.prefetch() == warm.frame_count
        info = warm.cache_info()
        assert info["frames"] == warm.frame_count and 0 < info["bytes"] <= info["budget"]
        assert_warm_equals_cold(warm, cold)
        assert cold.cache_info()["frames"] == 0 and cold.prefetch() == 0   # budget 0: nothing kept


def test_thumbnail_pass_and_iter_frames_warm_the_cache(tmp_path):
    path = numbered_clip(tmp_path, n=16, gop=4)
    with FrameSource.open(path, cache_frames=1) as fs:
        for i in range(fs.frame_count):
            fs.thumbnail(i, max_side=24)
        decoded = fs.stats["decoded"]
        assert fs.cache_info()["frames"] == fs.frame_count
        assert fs.prefetch() == fs.frame_count and fs.stats["decoded"] == decoded   # nothing left to do
        for i in np.random.default_rng(1).permutation(fs.frame_count):
            assert frame_number(fs.frame(int(i))) == i
        assert fs.stats["decoded"] == decoded and fs.stats["seeks"] == 1           # the open's only
        fs.clear_cache()
        assert fs.cache_info()["frames"] == 0
        assert [i for i, _ in fs.iter_frames(4, 12, 4)] == [4, 8]
        assert fs.cache_info()["frames"] >= 5                                       # 4..8 decoded on the way
        decoded = fs.stats["decoded"]
        assert frame_number(fs.frame(6)) == 6 and fs.stats["decoded"] == decoded


def test_budget_keeps_what_fits_most_recent_first(tmp_path):
    path = numbered_clip(tmp_path, n=12, gop=4)
    with FrameSource.open(path) as probe:
        probe.prefetch()
        per_frame = probe.cache_info()["bytes"] // probe.frame_count
    with FrameSource.open(path, cache_frames=1, picture_cache_bytes=3 * per_frame) as fs:
        assert fs.prefetch() == 3
        assert fs.cache_info()["bytes"] <= 3 * per_frame
        decoded = fs.stats["decoded"]
        assert frame_number(fs.frame(11)) == 11 and fs.stats["decoded"] == decoded    # the last ones stay
        for i in range(12):
            assert frame_number(fs.frame(i)) == i                                      # the rest: seek path


def test_prefetch_is_cancellable_and_reports_progress(tmp_path):
    path = numbered_clip(tmp_path, n=24, gop=8)
    token = CancelToken()
    seen = []

    def report(fraction, text):
        seen.append(fraction)
        if len(seen) == 4:
            token.cancel()

    with FrameSource.open(path, cache_frames=1) as fs:
        with pytest.raises(Cancelled):
            fs.prefetch(Progress(report, token))
        assert 0 < fs.cache_info()["frames"] < fs.frame_count
        seen.clear()
        assert fs.prefetch(Progress(lambda f, _t: seen.append(f))) == fs.frame_count
        assert seen[-1] == 1.0 and seen == sorted(seen)
        assert [frame_number(fs.frame(i)) for i in range(24)] == list(range(24))
    with pytest.raises(ValueError):
        fs.prefetch()


def test_thumbnail_thread_fills_while_a_worker_reads(tmp_path):
    path = numbered_clip(tmp_path, n=28, gop=7)
    errors = []
    with FrameSource.open(path, cache_frames=2) as fs:
        def thumbs():
            try:
                for i in range(fs.frame_count):
                    assert frame_number(fs.thumbnail(i, 16)) == i
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def reader():
            try:
                for i in list(np.random.default_rng(5).permutation(fs.frame_count)) * 2:
                    assert frame_number(fs.frame(int(i))) == i
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=thumbs), threading.Thread(target=reader),
                   threading.Thread(target=fs.prefetch)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert fs.cache_info()["frames"] == fs.frame_count


# ---- real camera clips -------------------------------------------------------------------------------------

REAL = [
    pytest.param("apple_iphone15pro_IMG_4394.mov", "thumbnails",   # HEVC 8-bit full range, P3 → sRGB, rotated
                 marks=pytest.mark.slow, id="apple4394.mov"),        # ~8 s on an idle 2-core machine
    ("apple_iphone6s_0FFBE909_3.mov", "prefetch"),            # H.264
    ("samsung_s22_oneui6_motionphoto.heic", "prefetch"),      # embedded HEVC
    ("libmphoto_heic_motionphoto_pixel4video.heic", "iter_frames"),
    ("iphone14pro_dolbyvision_hlg_notlive.MOV", "prefetch"),  # 10-bit HLG
]


@pytest.mark.samples
@pytest.mark.parametrize("name,warm_by", REAL)
def test_real_clips_warm_frames_equal_cold_seeks(name, warm_by):
    from tests.test_clip_samples import open_sample

    with open_sample(name, cache_frames=1) as warm, \
            open_sample(name, cache_frames=1, picture_cache_bytes=0) as cold:
        if warm_by == "thumbnails":      # what the UI's filmstrip pass does
            for i in range(warm.frame_count):
                warm.thumbnail(i)
        elif warm_by == "iter_frames":
            for _ in warm.iter_frames(max_side=64):
                pass
        else:
            warm.prefetch()
        assert warm.cache_info()["frames"] == warm.frame_count
        # Every frame against the seek path's decoder stepping forward, then true cold seeks (caches cleared)
        # for the frames farthest from their keyframe.
        assert_warm_equals_cold(warm, cold, reseek=False)
        far = np.argsort(np.arange(warm.frame_count) - warm._key_of)[-2:]
        for i in far:
            cold.clear_cache()
            assert np.array_equal(cold.frame(int(i)), warm.frame(int(i))), f"frame {i}"
