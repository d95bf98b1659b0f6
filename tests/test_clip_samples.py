"""FrameSource on the real camera clips in ../shared/samples: counts, displayed sizes, exact timestamps, the
documented key frames, exact random access against a plain sequential PyAV decode, HDR, truncated clips."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from livemoments_app.core.clip import FrameSource
from livemoments_app.core.errors import DecodeError
from livemoments_app.core.livephoto.model import ByteRange
from tests.conftest import sample

pytestmark = pytest.mark.samples


def embedded_range(path: Path, nth: int = -1) -> ByteRange:
    """The clip inside a Motion Photo, found independently of the container parser: the last ``ftyp`` box,
    up to the end of the file (MP4 readers ignore what follows the movie)."""
    data = path.read_bytes()
    offsets = []
    i = data.find(b"ftyp")
    while i >= 0:
        offsets.append(i - 4)
        i = data.find(b"ftyp", i + 1)
    start = offsets[nth]
    return ByteRange(path, start, len(data) - start)


def open_sample(name: str, **kw) -> FrameSource:
    path = sample(name)
    if path.suffix.lower() in (".mov", ".mp4"):
        return FrameSource.open(path, **kw)
    return FrameSource.open(path, embedded_range(path), **kw)


# name, frames, (width, height) as displayed, codec, rotation
CLIPS = [
    ("apple_iphone15pro_IMG_4394.mov", 53, (1440, 1920), "hevc", 90),
    ("apple_iphone6s_0FFBE909_3.mov", 64, (1080, 1440), "h264", 90),
    ("samsung_s22_oneui6_motionphoto.heic", 42, (1080, 1440), "hevc", 90),
    ("libmphoto_heic_motionphoto_pixel4video.heic", 26, (768, 1024), "h264", 90),
    # 5 samples stored, the edit list presents 4 (FFmpeg's decoder outputs 4 frames too).
    ("iphone14pro_dolbyvision_hlg_notlive.MOV", 4, (720, 1280), "hevc", 90),
]


@pytest.mark.parametrize("name,frames,size,codec,rotation", CLIPS, ids=[c[0].split("_")[0] + c[0][-8:] for c in CLIPS])
def test_clip_properties(name, frames, size, codec, rotation):
    with open_sample(name) as fs:
        assert fs.frame_count == frames == len(fs.times)
        assert (fs.width, fs.height) == size
        assert fs.codec == codec and fs.rotation == rotation
        assert np.all(np.diff(fs.times) > 0)
        assert fs.duration_s >= fs.times[-1]
        img = fs.frame(fs.frame_count // 2)
        assert img.shape == (size[1], size[0], 3) and img.dtype == np.uint8


def test_key_frames_at_documented_times():
    with open_sample("apple_iphone15pro_IMG_4394.mov") as fs:
        assert fs.nearest_index(740 / 600) == 37
        assert fs.colour["primaries"] == "display-p3" and fs.colour["range"] == "full"
        assert fs.colour["matrix"] == "smpte170m" and fs.colour["transfer"] == "bt709"
        assert 29.0 < fs.fps_avg < 30.0
    with open_sample("apple_iphone6s_0FFBE909_3.mov") as fs:
        # 721/600 s lies between #30 and #31: the nearest is #30; floor(t × fps) would say 29.
        assert fs.nearest_index(721 / 600) == 30
        assert fs.times[30] == pytest.approx(1.168, abs=5e-4)
        assert fs.times[31] == pytest.approx(1.235, abs=5e-4)
    with open_sample("samsung_s22_oneui6_motionphoto.heic") as fs:
        assert fs.nearest_index(3.0) == 41
        assert fs.times[41] * 1e6 == pytest.approx(3029878, abs=20)
        assert fs.duration_s == pytest.approx(3.13, abs=0.01)


def test_pixel_clip_uses_the_track_with_most_frames():
    with open_sample("libmphoto_heic_motionphoto_pixel4video.heic") as fs:
        tracks = sorted(fs.video_tracks, key=lambda t: t["frame_count"])
        assert [(t["width"], t["height"], t["frame_count"], t["selected"]) for t in tracks] == [
            (2048, 1536, 2, False), (1024, 768, 26, True)]


@pytest.mark.parametrize("name", [c[0] for c in CLIPS[:4]])
def test_random_access_equals_sequential_decode(name):
    """frame(i), in a shuffled order and stepping both ways, is pixel-for-pixel the i-th picture of a plain
    sequential PyAV decode, and times[i] is that picture's PTS."""
    target = "display-p3" if "iphone15" in name else "srgb"   # the clip's own primaries: no gamut step
    with open_sample(name, cache_frames=2, colour_target=target) as fs:
        src = fs.byte_range
        with (open(src.path, "rb") if src else open(fs.path, "rb")) as fh:
            if src:
                fh.seek(src.offset)
            data = fh.read(src.length) if src else fh.read()
        import io

        container = av.open(io.BytesIO(data))
        stream = container.streams[[t["index"] for t in fs.video_tracks if t["selected"]][0]]
        n = fs.frame_count
        rng = np.random.default_rng(11)
        order = [int(i) for i in rng.permutation(n)[: min(n, 16)]]
        order += [n // 2 + 3, n // 2 + 2, n // 2 + 1, n // 2, n // 2 + 1]
        times, pictures = [], {}
        for k, f in enumerate(container.decode(stream)):
            times.append(float(f.pts * f.time_base))
            if k in order:
                pictures[k] = f
        container.close()
        assert times == pytest.approx(list(fs.times), abs=1e-9)
        for i in order:
            assert np.array_equal(fs.frame(i), fs._convert(pictures[i])), f"frame {i}"


def test_hdr_hlg_clip_decodes_to_sane_sdr():
    with open_sample("iphone14pro_dolbyvision_hlg_notlive.MOV") as fs:
        assert fs.colour["transfer"] == "hlg" and fs.colour["primaries"] == "bt2020"
        assert fs.colour["bit_depth"] == 10
        img = fs.frame(0).astype(np.float32)
    sky, roofs = img[:400], img[900:]
    assert 170 < sky.mean() < 250                       # an overcast sky: bright, not blown out
    assert (img >= 254).mean() < 0.05
    assert roofs.mean() < sky.mean() - 40               # the roofs below are darker
    assert np.abs(sky[..., 0] - sky[..., 2]).mean() < 25  # grey sky stays roughly neutral


def test_thumbnail_is_small_upright_and_matches_the_frame():
    with open_sample("apple_iphone15pro_IMG_4394.mov") as fs:
        thumb = fs.thumbnail(10, max_side=160)
        assert thumb.shape == (160, 120, 3)
        full = fs.frame(10)
    import cv2

    small = cv2.resize(full, (120, 160), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - thumb).mean() < 4


@pytest.mark.parametrize("name", ["pixel4xl_motionphoto_v2_truncated.jpg",
                                  "samsung_s20ultra_microvideo_v1_truncated.jpg"])
def test_truncated_clips_fail_fast_with_a_clear_error(name):
    path = sample(name)
    start = time.perf_counter()
    with pytest.raises(DecodeError, match=f"{name}.*truncated"):
        FrameSource.open(path, embedded_range(path))
    assert time.perf_counter() - start < 5


def test_sample_bytes_mutated_never_crash():
    """Random byte damage in a real clip gives DecodeErrors (or still-decodable frames), never a crash/hang."""
    path = sample("apple_iphone6s_0FFBE909_3.mov")
    good = path.read_bytes()[:400_000]   # the moov plus the first GOPs is plenty
    rng = np.random.default_rng(5)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for k in range(6):
            data = bytearray(good)
            for pos in rng.integers(0, len(data), 40):
                data[pos] = int(rng.integers(256))
            bad = Path(tmp) / f"mutated{k}.mov"
            bad.write_bytes(bytes(data))
            try:
                with FrameSource.open(bad) as fs:
                    for i in range(0, fs.frame_count, 9):
                        fs.frame(i)
            except Exception as exc:
                assert isinstance(exc, DecodeError) or type(exc).__module__.startswith("livemoments_app"), exc
                assert f"mutated{k}.mov" in str(exc)
