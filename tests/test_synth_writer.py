"""The synthetic Live Photo writer produces files the reader (and FFmpeg) understand, with the intended facts."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from tests.support import synth
from livemoments_app.core.livephoto import KeyTimeSource, LiveFormat, bmff, open_live_photo
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.movie import read_movie


@pytest.mark.parametrize("still_format,key_index", [("heic", 8), ("jpeg", 3)])
def test_apple_pair_round_trip(tmp_path, still_format, key_index):
    cid = "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"
    still, mov = synth.write_apple_pair(tmp_path, still_format=still_format, content_identifier=cid,
                                        key_index=key_index)
    for given in (still, mov):
        with open_live_photo(given) as live:
            assert live.format == LiveFormat.APPLE_LIVE_PHOTO
            assert live.content_identifier == cid
            assert live.key_time_source == KeyTimeSource.APPLE_STILL_IMAGE_TIME
            assert live.key_time_s == pytest.approx(key_index / 30, abs=1e-3)
            assert live.key_frame_index == key_index
            assert live.clip.frame_count == 12
            assert (live.still.width, live.still.height) == (384, 288)
            assert live.still.mime == ("image/heic" if still_format == "heic" else "image/jpeg")


def test_apple_mov_layout_matches_iphones(tmp_path):
    _, mov = synth.write_apple_pair(tmp_path, key_index=6)
    with ByteSource.open(mov) as src:
        assert bmff.find(src, "moov/meta/keys") is not None          # keys at moov level, QuickTime style
        assert bmff.find(src, "moov/udta/meta") is None
        movie = read_movie(src)
    track = next(t for t in movie.tracks if t.sample_entry == "mebx")
    assert "com.apple.quicktime.still-image-time" in track.mebx_keys.values()
    assert [(e.segment_duration, e.media_time) for e in track.edits] == [(200, -1), (1, 0)]  # 6/30 s at 1000
    assert track.tkhd["duration"] == 201


def test_ffmpeg_still_reads_the_edited_mov(tmp_path):
    import av

    _, mov = synth.write_apple_pair(tmp_path)
    with av.open(str(mov)) as container:
        assert len(container.streams.video) == 1
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == 12


def test_pair_without_still_image_time_falls_back_to_similarity(tmp_path):
    still, _ = synth.write_apple_pair(tmp_path, key_index=7, still_image_time=False)
    with open_live_photo(still) as live:
        assert live.format == LiveFormat.APPLE_LIVE_PHOTO
        assert live.key_time_source == KeyTimeSource.IMAGE_SIMILARITY and live.key_time_estimated
        assert live.key_frame_index == 7


@pytest.mark.parametrize("kwargs,fmt,source,index", [
    ({"key_index": 4}, LiveFormat.GOOGLE_MOTION_PHOTO, KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, 4),
    ({"key_index": 9, "prefix": "Camera"}, LiveFormat.GOOGLE_MOTION_PHOTO, KeyTimeSource.XMP_PRESENTATION_TIMESTAMP,
     9),
    ({"key_index": 2, "extended_xmp": True}, LiveFormat.GOOGLE_MOTION_PHOTO,
     KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, 2),
    ({"timestamp_us": -1}, LiveFormat.GOOGLE_MOTION_PHOTO, KeyTimeSource.SPEC_FALLBACK_MIDPOINT, 5),
    ({"micro_video": True, "key_index": 10}, LiveFormat.GOOGLE_MICRO_VIDEO,
     KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, 10),
    ({"micro_video": True, "timestamp_us": -1}, LiveFormat.GOOGLE_MICRO_VIDEO, KeyTimeSource.SPEC_FALLBACK_MIDPOINT,
     5),
])
def test_motion_photo_jpeg_variants(tmp_path, kwargs, fmt, source, index):
    path = synth.write_motion_photo_jpeg(tmp_path / "PXL_MP.jpg", **kwargs)
    with open_live_photo(path) as live:
        assert live.format == fmt
        assert live.key_time_source == source
        assert live.key_frame_index == index
        assert live.video_range is not None and live.video_range.path == path
        # 12 frames at 30 fps last 0.4 s; the spec's fallback is the frame just before 0.2 s
        if source == KeyTimeSource.SPEC_FALLBACK_MIDPOINT:
            assert live.key_time_s == pytest.approx(5 / 30, abs=1e-3)


def test_motion_photo_clip_is_the_appended_mp4(tmp_path):
    path = synth.write_motion_photo_jpeg(tmp_path / "PXL_MP.jpg")
    with open_live_photo(path) as live:
        data = path.read_bytes()
        assert data[live.video_range.offset + 4:live.video_range.offset + 8] == b"ftyp"
        assert live.video_range.offset + live.video_range.length == len(data)


def test_demo_live_photo(tmp_path):
    start = time.perf_counter()
    path = synth.make_scene_live_photo(tmp_path)
    elapsed = time.perf_counter() - start
    assert elapsed < 15, f"demo generation took {elapsed:.1f} s"     # ~3 s on an idle 2-core machine
    with open_live_photo(path) as live:
        assert live.format == LiveFormat.GOOGLE_MOTION_PHOTO
        assert (live.still.width, live.still.height) == synth.SCENE_STILL_SIZE
        assert (live.clip.width, live.clip.height) == synth.SCENE_CLIP_SIZE
        assert live.clip.frame_count == synth.SCENE_FRAMES
        assert live.clip.duration_s == pytest.approx(2.0, abs=0.05)
        assert live.key_frame_index == synth.SCENE_KEY_INDEX
        frame = live.clip.frame(live.key_frame_index)
        still = live.still.pixels
        # The still is much sharper than the clip brought to the same size.
        up = cv2.resize(frame, (still.shape[1], still.shape[0]), interpolation=cv2.INTER_CUBIC)

        def detail(img):
            grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
            return float(cv2.Laplacian(grey, cv2.CV_32F).var())

        assert detail(still) > 3 * detail(up)
        # ...and shows the same scene: the key frame matches the still better than a far-away frame
        small = cv2.resize(still, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_AREA).astype(float)
        near = np.abs(small - frame).mean()
        far = np.abs(small - live.clip.frame(0)).mean()
        assert near < far


@pytest.mark.parametrize("writer,kwargs,located_by,sefd", [
    (synth.write_samsung_motion_photo_jpeg, {}, "sef", None),
    (synth.write_samsung_motion_photo_heic, {"one_ui": 6}, "mpvd", "top level"),
    (synth.write_samsung_motion_photo_heic, {"one_ui": 5}, "mpvd", "nested in mpvd"),
    (synth.write_samsung_motion_photo_heic, {"mpvd_largesize": True}, "mpvd", "top level"),
])
def test_samsung_motion_photos(tmp_path, writer, kwargs, located_by, sefd):
    path = writer(tmp_path / ("s" + (".heic" if "heic" in writer.__name__ else ".jpg")), **kwargs)
    with open_live_photo(path) as live:
        assert live.format == LiveFormat.SAMSUNG_MOTION_PHOTO
        assert live.details["video_located_by"] == located_by
        assert live.details.get("sefd") == sefd
        assert live.key_time_source == KeyTimeSource.XMP_PRESENTATION_TIMESTAMP
        assert live.key_frame_index == 11 == live.clip.frame_count - 1
        data = path.read_bytes()
        clip = data[live.video_range.offset:live.video_range.offset + live.video_range.length]
        assert clip[4:8] == b"ftyp" and b"SEFH" not in clip and b"sefd" not in clip


def test_samsung_stale_sef_falls_back_to_the_xmp_and_trims_the_trailer(tmp_path):
    path = synth.write_samsung_motion_photo_jpeg(tmp_path / "s.jpg")
    data = bytearray(path.read_bytes())
    sefh = data.rindex(b"SEFH")
    for i in range(2):                      # push both entries' offsets outside the file
        entry = sefh + 12 + 12 * i
        data[entry + 4:entry + 8] = (10 ** 8).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with open_live_photo(path) as live:
        assert live.details["video_located_by"] == "xmp_directory"
        assert live.details["sef_stale_entries"] == 2
        clip = bytes(data[live.video_range.offset:live.video_range.offset + live.video_range.length])
        assert clip[4:8] == b"ftyp" and b"SEFH" not in clip
        assert live.key_frame_index == 11


def test_samsung_without_xmp_uses_the_spec_fallback(tmp_path):
    path = synth.write_samsung_motion_photo_jpeg(tmp_path / "s.jpg", xmp=False)
    with open_live_photo(path) as live:
        assert live.key_time_source == KeyTimeSource.SPEC_FALLBACK_MIDPOINT
        assert live.key_frame_index == 5
