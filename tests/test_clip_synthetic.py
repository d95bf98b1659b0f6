"""FrameSource on synthetic clips encoded through PyAV with known pixels and tags: YUV→RGB matrices and ranges,
rotation from the display matrix, primaries conversion, 10-bit HLG, embedded byte ranges, caching counts."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from livemoments_app.core import colour as col
from livemoments_app.core.clip import FrameSource
from livemoments_app.core.errors import DecodeError, LivePhotoError, NotALivePhotoError
from livemoments_app.core.livephoto.model import ByteRange

KR_KB = {"601": (0.299, 0.114), "709": (0.2126, 0.0722)}
MATRIX_CODE = {"601": 6, "709": 1}


def write_clip(path: Path, planes: list[np.ndarray], *, pix_fmt: str = "yuv444p", codec: str = "libx264",
               full_range: bool = False, matrix: int = 1, primaries: int = 1, trc: int = 1,
               rotation_ccw: int = 0, gop: int = 4, pts_step: list[int] | None = None,
               rate: int = 30, faststart: bool = False) -> Path:
    """Encode planar frames (each (3, H, W) in ``pix_fmt``'s layout) losslessly with the given colour tags;
    ``rotation_ccw`` goes into the display matrix exactly as PyAV reads it back (``frame.rotation``)."""
    out = av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {})
    stream = out.add_stream(codec, rate=rate)
    stream.height, stream.width = planes[0][0].shape
    stream.pix_fmt = pix_fmt
    cc = stream.codec_context
    cc.color_range = 2 if full_range else 1
    cc.colorspace, cc.color_primaries, cc.color_trc = matrix, primaries, trc
    cc.gop_size = gop
    if codec == "libx264":
        stream.options = {"qp": "0", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"}
    else:
        stream.options = {"x265-params": f"lossless=1:log-level=error:keyint={gop}"}
    if rotation_ccw:
        stream.set_display_rotation(rotation_ccw)
    t = 0
    for i, p in enumerate(planes):
        frame = planar_frame(p, pix_fmt)
        frame.pts = t
        t += pts_step[i] if pts_step else 1
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def planar_frame(planes, pix_fmt: str) -> av.VideoFrame:
    """A frame from its planes ((3, H, W) for 4:4:4, or a list of Y, U, V arrays of their own sizes for
    subsampled chroma), 8- or 16-bit samples, written plane by plane (line sizes honoured)."""
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, pix_fmt)
    for plane, data in zip(frame.planes, planes):
        ph, pw = data.shape
        view = np.frombuffer(memoryview(plane), dtype=data.dtype)[: plane.line_size // data.dtype.itemsize * ph]
        view = view.reshape(ph, plane.line_size // data.dtype.itemsize)
        view[:, :pw] = data
    return frame


def expected_rgb(y: float, u: float, v: float, matrix: str, full: bool) -> np.ndarray:
    """The textbook conversion (ITU-R BT.601/709), written independently of the code under test."""
    kr, kb = KR_KB[matrix]
    if full:
        yn, cb, cr = y / 255.0, (u - 128) / 255.0, (v - 128) / 255.0
    else:
        yn, cb, cr = (y - 16) / 219.0, (u - 128) / 224.0, (v - 128) / 224.0
    r = yn + 2 * (1 - kr) * cr
    b = yn + 2 * (1 - kb) * cb
    g = (yn - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.array([r, g, b]) * 255.0, 0, 255)


def uniform_frames(y: int, u: int, v: int, n: int = 3, h: int = 32, w: int = 48) -> list[np.ndarray]:
    p = np.empty((3, h, w), np.uint8)
    p[0], p[1], p[2] = y, u, v
    return [p.copy() for _ in range(n)]


def rgb_planes(rgb: np.ndarray) -> np.ndarray:
    """Upright RGB image → yuv444p planes (full range BT.709) for rotation tests."""
    kr, kb = KR_KB["709"]
    x = rgb.astype(np.float64) / 255.0
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - kb))
    cr = (x[..., 0] - y) / (2 * (1 - kr))
    return np.clip(np.round(np.stack([y * 255, cb * 255 + 128, cr * 255 + 128])), 0, 255).astype(np.uint8)


# Saturated colours where BT.601 and BT.709 disagree clearly (so a wrong matrix fails the test).
COLOURS = [(100, 90, 200), (140, 80, 80), (110, 170, 170)]


@pytest.mark.parametrize("matrix", ["601", "709"])
@pytest.mark.parametrize("full", [False, True])
def test_yuv_to_rgb_uses_the_tagged_matrix_and_range(tmp_path, matrix, full):
    for k, (y, u, v) in enumerate(COLOURS):
        path = write_clip(tmp_path / f"c{k}.mp4", uniform_frames(y, u, v), full_range=full,
                          matrix=MATRIX_CODE[matrix])
        with FrameSource.open(path) as fs:
            assert fs.colour["range"] == ("full" if full else "limited")
            got = fs.frame(1)[8:24, 8:40].reshape(-1, 3).mean(axis=0)
        want = expected_rgb(y, u, v, matrix, full)
        wrong_matrix = expected_rgb(y, u, v, "709" if matrix == "601" else "601", full)
        wrong_range = expected_rgb(y, u, v, matrix, not full)
        assert np.abs(want - wrong_matrix).max() > 8 and np.abs(want - wrong_range).max() > 8
        np.testing.assert_allclose(got, want, atol=2.5, err_msg=f"YUV {(y, u, v)} {matrix} full={full}")


def test_untagged_clip_gets_the_size_default_matrix(tmp_path):
    # No colour tags: SD sizes are BT.601, limited range (what players assume).
    y, u, v = COLOURS[0]
    path = write_clip(tmp_path / "untagged.mp4", uniform_frames(y, u, v), matrix=2, primaries=2, trc=2)
    out = av.open(str(path))
    assert out.streams.video[0].codec_context.colorspace == 2  # really untagged
    out.close()
    with FrameSource.open(path) as fs:
        assert fs.colour["matrix"] == "smpte170m" and fs.colour["range"] == "limited"
        assert fs.colour["as_tagged"]["matrix"] == "unspecified"
        got = fs.frame(0)[8:24, 8:40].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(got, expected_rgb(y, u, v, "601", False), atol=2.5)


def test_display_p3_video_converted_to_srgb_in_linear_light(tmp_path):
    # Full-range BT.709-matrix YUV of the P3 colour (200, 60, 60), tagged Display P3 primaries.
    p3 = np.array([200, 60, 60], np.float64)
    planes = rgb_planes(np.broadcast_to(p3, (32, 48, 3)).astype(np.uint8))
    path = write_clip(tmp_path / "p3.mp4", [planes] * 3, full_range=True, matrix=1, primaries=12)
    lin = col.srgb_to_linear(p3 / 255.0).astype(np.float64)
    want = np.clip(col.primaries_matrix("display-p3", "bt709") @ lin, 0, 1)
    want = col.linear_to_srgb(want.astype(np.float32)) * 255
    with FrameSource.open(path, colour_target="srgb") as fs:
        assert fs.colour["primaries"] == "display-p3"
        srgb = fs.frame(0)[8:24, 8:40].reshape(-1, 3).mean(axis=0)
    with FrameSource.open(path, colour_target="display-p3") as fs:
        same = fs.frame(0)[8:24, 8:40].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(same, p3, atol=2.5)        # P3 target: the pixels as stored
    np.testing.assert_allclose(srgb, want, atol=2.5)      # sRGB target: more saturated red, clipped green
    assert srgb[0] > same[0] + 15


def test_primaries_matrix_maps_white_to_white_and_p3_red_outside_srgb():
    m = col.primaries_matrix("display-p3", "bt709")
    np.testing.assert_allclose(m @ np.ones(3), np.ones(3), atol=1e-9)
    assert (m @ np.array([1.0, 0, 0]))[1] < 0  # P3 red is outside sRGB: needs negative green
    np.testing.assert_allclose(col.primaries_matrix("bt709", "display-p3") @ m, np.eye(3), atol=1e-9)


@pytest.mark.parametrize("clockwise", [0, 90, 180, 270])
def test_frames_come_out_upright(tmp_path, clockwise):
    upright = np.zeros((48, 32, 3), np.uint8)          # portrait, asymmetric: red top-left, blue bottom
    upright[:16, :16] = (255, 0, 0)
    upright[32:, :] = (0, 0, 255)
    # Stored the way a phone stores it: the picture turned so that rotating it `clockwise` shows it upright.
    stored = np.rot90(upright, k=clockwise // 90)      # np.rot90 turns counter-clockwise
    planes = rgb_planes(np.ascontiguousarray(stored))
    path = write_clip(tmp_path / f"rot{clockwise}.mov", [planes] * 3, full_range=True,
                      rotation_ccw=-clockwise if clockwise != 180 else 180)
    with FrameSource.open(path) as fs:
        assert fs.rotation == clockwise
        assert (fs.width, fs.height) == (32, 48)
        got = fs.frame(1)
        thumb = fs.thumbnail(1, max_side=24)
    assert got.shape == (48, 32, 3)
    assert np.abs(got.astype(int) - upright).mean() < 4
    assert thumb.shape == (24, 16, 3)
    assert thumb[2, 2, 0] > 200 and thumb[20, 8, 2] > 200


def test_hlg_10bit_is_tone_mapped_to_sdr(tmp_path):
    # 10-bit BT.2020 HLG, limited range: a grey ramp on top, a red patch below.
    h, w = 32, 64
    y = np.full((h, w), 64, np.uint16)
    y[:16] = np.linspace(64, 940, w).astype(np.uint16)   # black → HLG peak
    u = np.full((h, w), 512, np.uint16)
    v = np.full((h, w), 512, np.uint16)
    y[16:, :32], u[16:, :32], v[16:, :32] = 300, 430, 800   # a saturated red
    planes = [np.stack([y, u, v])] * 3
    path = write_clip(tmp_path / "hlg.mp4", planes, pix_fmt="yuv444p10le", codec="libx265", matrix=9,
                      primaries=9, trc=18)
    with FrameSource.open(path) as fs:
        assert fs.colour["transfer"] == "hlg" and fs.colour["bit_depth"] == 10
        img = fs.frame(0)
    ramp = img[4:12].mean(axis=0)                       # (w, 3)
    lum = ramp.mean(axis=1)
    assert lum[0] < 10 and lum[-1] > 235                 # black stays black, peak reaches white
    assert np.all(np.diff(lum) >= -1.0)                   # monotonic
    assert np.abs(ramp[:, 0] - ramp[:, 2]).max() < 6      # grey stays grey
    red = img[20:28, 4:28].reshape(-1, 3).mean(axis=0)
    assert red[0] > 150 and red[1] < 80 and red[2] < 80


def test_variable_frame_rate_times_come_from_timestamps(tmp_path):
    steps = [1, 3, 1, 5, 2, 1, 1]
    path = write_clip(tmp_path / "vfr.mp4", uniform_frames(120, 128, 128, n=7), pts_step=steps, rate=30)
    with FrameSource.open(path) as fs:
        want = np.cumsum([0] + steps[:-1]) / 30.0
        np.testing.assert_allclose(fs.times, want, atol=1e-3)
        assert fs.nearest_index(want[3] + 0.01) == 3
        assert fs.nearest_index(-1) == 0 and fs.nearest_index(99) == 6


def numbered_clip(tmp_path: Path, n: int = 24, gop: int = 8, faststart: bool = False) -> Path:
    """Each frame's luma encodes its index, so a wrong frame is visible in its pixels."""
    frames = [np.stack([np.full((32, 48), 20 + 8 * i, np.uint8), np.full((32, 48), 128, np.uint8),
                        np.full((32, 48), 128, np.uint8)]) for i in range(n)]
    return write_clip(tmp_path / "numbered.mp4", frames, gop=gop, full_range=True, faststart=faststart)


def frame_number(rgb: np.ndarray) -> int:
    return int(round((float(rgb[..., 1].mean()) - 20) / 8))


def test_exact_access_in_any_order(tmp_path):
    path = numbered_clip(tmp_path)
    with FrameSource.open(path, cache_frames=2) as fs:
        order = list(np.random.default_rng(3).permutation(fs.frame_count)) + [5, 4, 3, 2, 1, 0, 23, 22]
        for i in order:
            assert frame_number(fs.frame(int(i))) == i
        assert frame_number(fs.frame(-1)) == fs.frame_count - 1
        with pytest.raises(IndexError):
            fs.frame(fs.frame_count)


def test_stepping_keeps_the_decoder_position_and_caches_the_gop(tmp_path):
    path = numbered_clip(tmp_path, n=24, gop=8)
    with FrameSource.open(path, cache_frames=2) as fs:
        fs.frame(10)
        seeks = fs.stats["seeks"]
        for i in range(11, 16):                     # forward within the GOP: no new seek, one decode each
            before = fs.stats["decoded"]
            assert frame_number(fs.frame(i)) == i
            assert fs.stats["decoded"] - before <= 1
        assert fs.stats["seeks"] == seeks
        fs.frame(15)
        assert fs.stats["seeks"] == seeks           # cached
        # Stepping backwards: at most one seek re-decodes the GOP up to the frame; the other steps back
        # within the GOP are cache hits.
        fs.clear_cache()
        fs.frame(14)
        s0, d0 = fs.stats["seeks"], fs.stats["decoded"]
        for i in (13, 12, 11, 10, 9, 8):
            assert frame_number(fs.frame(i)) == i
        assert fs.stats["seeks"] - s0 <= 1 and fs.stats["decoded"] - d0 <= 6
        # Crossing into the previous GOP costs exactly one more seek, then the rest of it is cached.
        s1 = fs.stats["seeks"]
        for i in range(7, -1, -1):
            assert frame_number(fs.frame(i)) == i
        assert fs.stats["seeks"] == s1 + 1


def test_iter_frames_and_thumbnails_do_not_disturb_random_access(tmp_path):
    path = numbered_clip(tmp_path, n=12, gop=4)
    with FrameSource.open(path) as fs:
        fs.frame(5)
        seeks = fs.stats["seeks"]
        assert [i for i, _ in fs.iter_frames()] == list(range(12))
        assert [frame_number(a) for _, a in fs.iter_frames(2, 10, 3)] == [2, 5, 8]
        for i in range(12):
            assert frame_number(fs.thumbnail(i, max_side=24)) == i
        assert fs.stats["seeks"] - seeks >= 1       # the other decoders did seek...
        before = fs.stats["seeks"]
        fs.frame(6)                                 # ...but the main decoder just steps on
        assert fs.stats["seeks"] == before
        assert fs.frame(6).flags.writeable is False


def test_threads_share_one_source(tmp_path):
    import threading

    path = numbered_clip(tmp_path, n=24, gop=6)
    errors = []
    with FrameSource.open(path, cache_frames=3) as fs:
        def worker(order):
            try:
                for i in order:
                    assert frame_number(fs.frame(i)) == i
                    assert frame_number(fs.thumbnail(i, 16)) == i
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(list(np.random.default_rng(k).permutation(24)),))
                   for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors


def test_embedded_clip_is_read_through_its_byte_range(tmp_path):
    clip = numbered_clip(tmp_path, n=10, gop=5, faststart=True).read_bytes()   # moov first, like phones
    host = tmp_path / "host.jpg"
    host.write_bytes(b"\xff\xd8" + b"x" * 1000 + clip + b"TRAILER" * 50)
    br = ByteRange(host, 1002, len(clip))
    with FrameSource.open(host, br) as fs:
        assert fs.frame_count == 10
        assert frame_number(fs.frame(7)) == 7
    with pytest.raises(DecodeError, match="host.jpg"):
        FrameSource.open(host, ByteRange(host, 1002, len(host.read_bytes())))   # outside the file
    with pytest.raises(DecodeError, match="host.jpg.*truncated"):
        FrameSource.open(host, ByteRange(host, 1002, len(clip) // 2))


def test_no_video_stream_and_garbage_are_typed_errors(tmp_path):
    audio_only = tmp_path / "audio.mp4"
    out = av.open(str(audio_only), "w")
    s = out.add_stream("aac", rate=16000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    frame.sample_rate = 16000
    frame.pts = 0
    for p in s.encode(frame):
        out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    with pytest.raises(NotALivePhotoError, match="audio.mp4.*no video"):
        FrameSource.open(audio_only)
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"\x00\x00\x00\x18ftypqt  " + bytes(range(256)) * 20)
    with pytest.raises(LivePhotoError, match="junk.mov"):
        FrameSource.open(junk)


def test_corrupted_clip_bytes_raise_decode_errors_not_crashes(tmp_path):
    good = numbered_clip(tmp_path, n=12, gop=4).read_bytes()
    rng = np.random.default_rng(7)
    for k in range(12):
        data = bytearray(good)
        for pos in rng.integers(len(data) // 3, len(data), 30):
            data[pos] = int(rng.integers(256))
        path = tmp_path / f"bad{k}.mp4"
        path.write_bytes(bytes(data))
        try:
            with FrameSource.open(path) as fs:
                for i in range(fs.frame_count):
                    fs.frame(i)
        except LivePhotoError as exc:
            assert f"bad{k}.mp4" in str(exc)


def test_byte_range_views_are_closed(tmp_path):
    import os

    clip = numbered_clip(tmp_path, n=6, gop=3, faststart=True).read_bytes()
    host = tmp_path / "host.heic"
    host.write_bytes(b"\x00" * 100 + clip)
    br = ByteRange(host, 100, len(clip))
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for _ in range(10):
        with FrameSource.open(host, br) as fs:
            fs.frame(3)
            fs.thumbnail(2)
            for _i, _a in fs.iter_frames(0, 2):
                pass
    if fds is not None:
        assert len(os.listdir("/proc/self/fd")) <= fds + 1


def test_plain_mpegts_video_opens(tmp_path):
    # Not ISO-BMFF (no moov index): opened with FFmpeg's normal probing; times come from the packets.
    frames = [np.stack([np.full((32, 48), 20 + 8 * i, np.uint8), np.full((32, 48), 128, np.uint8),
                        np.full((32, 48), 128, np.uint8)]) for i in range(8)]
    ts = tmp_path / "clip.ts"
    out = av.open(str(ts), "w", format="mpegts")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv444p"
    stream.options = {"qp": "0"}
    stream.codec_context.color_range = 2   # full range, like numbered_clip
    for i, p in enumerate(frames):
        f = planar_frame(p, "yuv444p")
        f.pts = i
        for packet in stream.encode(f):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    with FrameSource.open(ts) as fs:
        assert fs.frame_count == 8 and (fs.width, fs.height) == (48, 32)
        assert frame_number(fs.frame(5)) == 5
