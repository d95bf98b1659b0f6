"""open_live_photo against every real sample, with the properties listed in ../shared/samples/SOURCES.md."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from livemoments_app.core.errors import DecodeError, NotALivePhotoError, PairingError
from livemoments_app.core.livephoto import KeyTimeSource, LiveFormat, inspect_live_photo, open_live_photo
from livemoments_app.core.livephoto.still import icc_description
from tests.conftest import sample

pytestmark = pytest.mark.samples

IMG_4394_CID = "ED2A2552-C906-486E-9DA5-17DABDF672A7"
FFBE909_CID = "C3754624-A05F-474D-9F16-E9C47B5F892D"

# name: (format, still WxH upright, video WxH displayed, codec, frames, duration, key time, key source, index)
EXPECTED = {
    "apple_iphone15pro_IMG_4394.HEIC": (LiveFormat.APPLE_LIVE_PHOTO, (3024, 4032), (1440, 1920), "hevc", 53, 1.798,
                                        740 / 600, KeyTimeSource.APPLE_STILL_IMAGE_TIME, 37),
    "apple_iphone15pro_IMG_4394.mov": (LiveFormat.APPLE_LIVE_PHOTO, (3024, 4032), (1440, 1920), "hevc", 53, 1.798,
                                       740 / 600, KeyTimeSource.APPLE_STILL_IMAGE_TIME, 37),
    "apple_iphone6s_0FFBE909.jpeg": (LiveFormat.APPLE_LIVE_PHOTO, (3024, 4032), (1080, 1440), "h264", 64, 2.635,
                                     721 / 600, KeyTimeSource.APPLE_STILL_IMAGE_TIME, 30),
    "apple_iphone6s_0FFBE909_3.mov": (LiveFormat.APPLE_LIVE_PHOTO, (3024, 4032), (1080, 1440), "h264", 64, 2.635,
                                      721 / 600, KeyTimeSource.APPLE_STILL_IMAGE_TIME, 30),
    "samsung_s22_oneui6_motionphoto.heic": (LiveFormat.SAMSUNG_MOTION_PHOTO, (3000, 4000), (1080, 1440), "hevc",
                                            42, 3.13, 3.0, KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, 41),
    "libmphoto_heic_motionphoto_pixel4video.heic": (LiveFormat.GOOGLE_MOTION_PHOTO, (3024, 4032), (768, 1024),
                                                    "h264", 26, 0.93, 0.0,
                                                    KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, 0),
}

_opened: dict[str, object] = {}


def _open(name):
    if name not in _opened:
        _opened[name] = open_live_photo(sample(name))
    return _opened[name]


@pytest.fixture(scope="module", autouse=True)
def _close_all():
    yield
    for live in _opened.values():
        live.close()
    _opened.clear()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_properties(name):
    fmt, still_size, video_size, codec, frames, duration, key_time, source, index = EXPECTED[name]
    live = _open(name)
    assert live.format == fmt
    assert (live.still.width, live.still.height) == still_size
    assert live.still.pixels.dtype == np.uint8 and live.still.pixels.shape[2] == 3
    assert (live.clip.width, live.clip.height) == video_size
    assert live.clip.rotation == 90
    assert live.clip.codec == codec
    assert live.clip.frame_count == frames
    assert live.clip.duration_s == pytest.approx(duration, abs=0.02)
    assert live.key_time_s == pytest.approx(key_time, abs=1e-6)
    assert live.key_time_source == source
    assert live.key_frame_index == index
    assert not live.key_time_estimated


def test_apple_pair_from_either_file_agrees():
    heic, mov = _open("apple_iphone15pro_IMG_4394.HEIC"), _open("apple_iphone15pro_IMG_4394.mov")
    for live in (heic, mov):
        assert live.content_identifier == IMG_4394_CID
        assert live.still_path.name == "apple_iphone15pro_IMG_4394.HEIC"
        assert live.video_path.name == "apple_iphone15pro_IMG_4394.mov"
        assert live.video_range is None
    jpeg = _open("apple_iphone6s_0FFBE909.jpeg")
    assert jpeg.content_identifier == FFBE909_CID
    assert jpeg.video_path.name == "apple_iphone6s_0FFBE909_3.mov"   # Photos-library "_3" partner


def test_apple_still_metadata_is_kept():
    live = _open("apple_iphone15pro_IMG_4394.HEIC")
    assert live.still.mime == "image/heic" and live.still.bit_depth == 8
    assert live.still.exif[:4] in (b"MM\x00*", b"II*\x00")
    assert IMG_4394_CID.encode() in live.still.exif
    assert "Display P3" in icc_description(live.still.icc_profile)
    assert live.clip.colour_target == "display-p3"      # the clip is converted into the still's colour space
    jpeg = _open("apple_iphone6s_0FFBE909.jpeg")
    assert jpeg.still.mime == "image/jpeg" and jpeg.still.exif[:2] in (b"MM", b"II")


def test_still_xmp_is_the_primary_images():
    # IMG_4394's only XMP item is linked ('cdsc') to the HDR gain map (item 63), not to the primary (49):
    # exiftool -XMP:all lists only HDRGainMap tags for it, so the photo itself has no XMP.
    assert _open("apple_iphone15pro_IMG_4394.HEIC").still.xmp is None
    for name in ("samsung_s22_oneui6_motionphoto.heic", "libmphoto_heic_motionphoto_pixel4video.heic"):
        xmp = _open(name).still.xmp
        assert xmp is not None and b"MotionPhoto" in xmp and b"HDRGainMap" not in xmp, name


def test_key_time_is_nearest_not_floor():
    live = _open("apple_iphone6s_0FFBE909.jpeg")
    times = live.clip.times
    assert times[30] < live.key_time_s < times[31]
    assert abs(times[30] - live.key_time_s) < abs(times[31] - live.key_time_s)


def test_embedded_clip_is_a_byte_range_of_the_original():
    live = _open("samsung_s22_oneui6_motionphoto.heic")
    assert live.video_path is None
    assert live.video_range.path == sample("samsung_s22_oneui6_motionphoto.heic")
    assert (live.video_range.offset, live.video_range.length) == (452284, 3226469)
    assert live.details["video_located_by"] in ("mpvd", "sef")
    assert live.details["sefd"] == "top level"
    google = _open("libmphoto_heic_motionphoto_pixel4video.heic")
    assert (google.video_range.offset, google.video_range.length) == (1582873, 1544201)
    assert google.details["mpvd_header_size"] == 16


def test_samsung_key_frame_is_near_the_end():
    live = _open("samsung_s22_oneui6_motionphoto.heic")
    assert live.key_frame_index == live.clip.frame_count - 1
    assert live.clip.times[live.key_frame_index] == pytest.approx(3.0299, abs=1e-3)


@pytest.mark.parametrize("name,fmt,source,key_time,offset_from_end", [
    ("pixel4xl_motionphoto_v2_truncated.jpg", LiveFormat.GOOGLE_MOTION_PHOTO,
     KeyTimeSource.XMP_PRESENTATION_TIMESTAMP, 0.0, 8730),
    ("samsung_s20ultra_microvideo_v1_truncated.jpg", LiveFormat.SAMSUNG_MOTION_PHOTO,
     KeyTimeSource.SPEC_FALLBACK_MIDPOINT, None, 2582),
])
def test_truncated_samples_parse_then_fail_to_decode(name, fmt, source, key_time, offset_from_end):
    path = sample(name)
    parse = inspect_live_photo(path)
    assert parse.format == fmt
    assert parse.key_time_source == source
    assert parse.key_time_s == key_time
    assert parse.video_range.offset == path.stat().st_size - offset_from_end
    assert parse.movie is not None and parse.movie.main_video_track().rotation == 90
    start = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        open_live_photo(path)
    assert time.perf_counter() - start < 20
    assert name in str(info.value)


def test_micro_video_reports_its_version_and_sef_trailer():
    parse = inspect_live_photo(sample("samsung_s20ultra_microvideo_v1_truncated.jpg"))
    assert parse.details["video_located_by"] == "xmp_micro_video"
    assert parse.details["xmp"]["MicroVideoOffset"] == "2582"
    assert parse.details["sef_stale_entries"] >= 1     # the shortened file's SEF offsets are stale
    # the range ends before the SEF trailer (the MP4's own boxes only)
    assert parse.video_range.length == 2582 - 44


def test_hdr_video_alone_is_not_a_live_photo():
    with pytest.raises(NotALivePhotoError, match="iphone14pro_dolbyvision_hlg_notlive.MOV"):
        open_live_photo(sample("iphone14pro_dolbyvision_hlg_notlive.MOV"))


def test_partner_found_whatever_the_extension_case(tmp_path):
    heic = sample("apple_iphone15pro_IMG_4394.HEIC")
    mov = sample("apple_iphone15pro_IMG_4394.mov")
    shutil.copy(heic, tmp_path / "IMG_1.heic")
    shutil.copy(mov, tmp_path / "IMG_1.MOV")
    parse = inspect_live_photo(tmp_path / "IMG_1.heic")
    assert parse.format == LiveFormat.APPLE_LIVE_PHOTO and parse.video_path.name == "IMG_1.MOV"
    parse = inspect_live_photo(tmp_path / "IMG_1.MOV")
    assert parse.still.path.name == "IMG_1.heic"


def test_explicit_pair_in_either_order():
    heic = sample("apple_iphone15pro_IMG_4394.HEIC")
    mov = sample("apple_iphone15pro_IMG_4394.mov")
    for a, b in ((heic, mov), (mov, heic)):
        parse = inspect_live_photo(a, b)
        assert parse.format == LiveFormat.APPLE_LIVE_PHOTO
        assert parse.key_time_s == pytest.approx(740 / 600)


def test_content_identifier_mismatch_is_a_pairing_error():
    with pytest.raises(PairingError, match="does not match"):
        inspect_live_photo(sample("apple_iphone15pro_IMG_4394.HEIC"), sample("apple_iphone6s_0FFBE909_3.mov"))


def test_still_and_video_without_identifiers_estimates_the_key_time():
    # The Pixel clip inside the libmphoto HEIC has no stored relation to the iPhone 6s still, but a plain
    # still + video pair must open, with the key time found by similarity and flagged as estimated.
    live = open_live_photo(sample("libmphoto_heic_motionphoto_pixel4video.heic"),
                           sample("iphone14pro_dolbyvision_hlg_notlive.MOV"))
    with live:
        assert live.format == LiveFormat.STILL_AND_VIDEO
        assert live.key_time_source == KeyTimeSource.IMAGE_SIMILARITY and live.key_time_estimated
        assert 0 <= live.key_frame_index < live.clip.frame_count
        assert live.key_time_s == pytest.approx(live.clip.times[live.key_frame_index])


def test_opening_does_not_import_heavy_modules():
    import subprocess
    import sys

    code = ("import sys; from livemoments_app.core.livephoto import inspect_live_photo; "
            f"inspect_live_photo({str(sample('samsung_s22_oneui6_motionphoto.heic'))!r}); "
            "bad = [m for m in ('torch', 'diffusers', 'PySide6') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_inspect_is_fast():
    # Parsing the containers (no still decode, no clip decode) must be well under the 0.3 s open budget.
    for name in EXPECTED:
        start = time.perf_counter()
        inspect_live_photo(sample(name))
        assert time.perf_counter() - start < 0.3, name


def test_movie_offsets_are_absolute_file_offsets():
    # The exporter moves the key photo by patching the MOV in place, so the parsed edit list and the
    # identifier must point at the right bytes of the original file.
    import struct

    from livemoments_app.core.livephoto import apple

    parse = inspect_live_photo(sample("apple_iphone15pro_IMG_4394.mov"))
    data = sample("apple_iphone15pro_IMG_4394.mov").read_bytes()
    track = apple.still_image_time_track(parse.movie)
    empty = track.edits[0]
    assert struct.unpack(">Ii", data[empty.offset:empty.offset + 8]) == (740, -1)
    item = parse.movie.keys["com.apple.quicktime.content.identifier"]
    assert data[item.value_offset:item.value_offset + item.value_size] == IMG_4394_CID.encode()
    embedded = inspect_live_photo(sample("samsung_s22_oneui6_motionphoto.heic"))
    video = embedded.movie.main_video_track()
    assert data_at(sample("samsung_s22_oneui6_motionphoto.heic"), video.box.start + 4, 4) == b"trak"


def data_at(path, offset, length):
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)
