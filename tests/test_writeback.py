"""Write-back on the real samples: the app's reader and exiftool both see the chosen frame as the key photo,
the pair keys match, and the clip is the original one (MOV edited in place; embedded MP4 byte-identical)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import ExportOptions, write_back, write_back_result
from livemoments_app.core.livephoto import LiveFormat, open_live_photo
from tests.conftest import sample
from tests.export_helpers import exiftool, first, small

pytestmark = pytest.mark.samples


def _decodes(data: bytes) -> int:
    """Frames PyAV decodes from an in-memory MP4/MOV (first video stream)."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return sum(1 for _ in container.decode(stream))


def _transform(mov: bytes):
    from livemoments_app.core.livephoto import apple
    from livemoments_app.core.livephoto.bmff import ByteSource
    from livemoments_app.core.livephoto.movie import read_movie

    src = ByteSource.of(mov)
    return apple.still_image_transform(src, read_movie(src))


@pytest.mark.parametrize("name,frame", [("apple_iphone15pro_IMG_4394.HEIC", 12),
                                        ("apple_iphone6s_0FFBE909.jpeg", 50)])
def test_apple_pair_points_at_the_chosen_frame(tmp_path, name, frame):
    source = sample(name)
    with open_live_photo(source) as lp:
        assert lp.key_frame_index != frame
        restored = small(lp.still.pixels, 4)
        result = write_back_result(lp, restored, frame, tmp_path)
        original_mov = lp.video_path.read_bytes()
        old_id = lp.content_identifier
        frame_time = float(lp.clip.times[frame])
    still, mov = result.paths
    assert still.suffix == source.suffix and mov.suffix.lower() == ".mov"
    assert still.stem == mov.stem == f"{source.stem}_LM"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([still.name, mov.name])

    # The app's reader pairs the two files by the new identifier and lands on the chosen frame.
    with open_live_photo(still) as back:
        assert back.format == LiveFormat.APPLE_LIVE_PHOTO
        assert back.video_path == mov
        assert back.details.get("pairing") == "content_identifier"
        assert back.content_identifier == result.content_identifier != old_id
        assert back.key_frame_index == frame
        assert back.still.pixels.shape[:2] == restored.shape[:2]

    # Only header bytes changed (and, on iOS 17+, the still-image transform sample): same size, a few dozen
    # bytes differ, audio/video media data identical.
    new_mov = mov.read_bytes()
    assert len(new_mov) == len(original_mov)
    diff = np.flatnonzero(np.frombuffer(new_mov, np.uint8) != np.frombuffer(original_mov, np.uint8))
    old_transform, new_transform = _transform(original_mov), _transform(new_mov)
    if old_transform is not None:
        assert not np.allclose(old_transform.matrix, np.eye(3).ravel())
        assert new_transform.matrix == tuple(np.eye(3).ravel())
        in_transform = (diff >= old_transform.value_offset) & (diff < old_transform.value_offset + 72)
        diff = diff[~in_transform]
    assert (old_transform is not None) == (name == "apple_iphone15pro_IMG_4394.HEIC")
    assert 0 < len(diff) <= 48
    from livemoments_app.core.livephoto.bmff import iter_boxes
    moov = next(b for b in iter_boxes(original_mov) if b.type == "moov")
    assert moov.start <= diff.min() and diff.max() < moov.end       # other media data (mdat) untouched
    assert _decodes(new_mov) == _decodes(original_mov)

    # exiftool agrees: both keys equal, the still-image-time edit starts at the chosen frame's time.
    mov_info = exiftool(mov, "ContentIdentifier", "EditList", "TimeScale", "StillImageTime")
    still_info = exiftool(still, "MediaGroupUUID", "Orientation")
    assert first(mov_info, "ContentIdentifier") == first(still_info, "MediaGroupUUID") == result.content_identifier
    assert first(still_info, "Orientation") == 1
    if not any(k.endswith("EditList") for k in mov_info):
        pytest.skip("exiftool-elst.config not found; edit lists not decoded")
    edit_lists = [v for k, v in mov_info.items() if k.endswith("EditList") and str(v).split()[1] == "-1"]
    assert len(edit_lists) == 1
    ticks = int(str(edit_lists[0]).split()[0])
    assert ticks == round(frame_time * first(mov_info, "TimeScale"))


def _xmp_items(info: dict) -> list[dict]:
    return [entry["Item"] for entry in first(info, "Directory") or []]


@pytest.mark.parametrize("name,frame,fmt,kind", [
    ("samsung_s22_oneui6_motionphoto.heic", 20, "heic", LiveFormat.SAMSUNG_MOTION_PHOTO),
    ("samsung_s22_oneui6_motionphoto.heic", 5, "jpeg", LiveFormat.SAMSUNG_MOTION_PHOTO),
    ("libmphoto_heic_motionphoto_pixel4video.heic", 13, "heic", LiveFormat.GOOGLE_MOTION_PHOTO),
    ("libmphoto_heic_motionphoto_pixel4video.heic", 7, "jpeg", LiveFormat.GOOGLE_MOTION_PHOTO),
])
def test_motion_photo_carries_the_clip_and_the_chosen_time(tmp_path, name, frame, fmt, kind):
    source = sample(name)
    with open_live_photo(source) as lp:
        assert lp.key_frame_index != frame
        rng = lp.video_range
        with open(rng.path, "rb") as fh:
            fh.seek(rng.offset)
            original_clip = fh.read(rng.length)
        frame_time = float(lp.clip.times[frame])
        paths = write_back(lp, small(lp.still.pixels, 4), frame, tmp_path, ExportOptions(format=fmt))
    assert len(paths) == 1 and [p.name for p in tmp_path.iterdir()] == [paths[0].name]
    out = paths[0]
    data = out.read_bytes()

    with open_live_photo(out) as back:
        assert back.format == kind
        assert back.key_frame_index == frame
        assert data[back.video_range.offset:back.video_range.offset + back.video_range.length] == original_clip

    info = exiftool(out, "XMP:all", "MotionPhotoVideo", extract_embedded=True, struct=True)
    assert first(info, "MotionPhoto") == 1
    assert first(info, "MotionPhotoPresentationTimestampUs") == round(frame_time * 1e6)
    items = _xmp_items(info)
    assert [i["Semantic"] for i in items] == ["Primary", "MotionPhoto"]
    assert items[0]["Mime"] == f"image/{fmt}" and items[1]["Mime"] == "video/mp4"
    video = items[1]
    start = len(data) - int(video["Length"])
    clip = data[start:start + int(video["Length"]) - int(video["Padding"])]
    assert clip == original_clip                      # what the directory points at is the original MP4
    assert _decodes(clip) > 0                         # and PyAV decodes it
    if fmt == "heic":
        assert first(info, "MotionPhotoVideo") is not None
    if kind == LiveFormat.SAMSUNG_MOTION_PHOTO and fmt == "heic":
        pointer = _exiftool_binary(out, "EmbeddedVideoFile")
        assert pointer[:4] == b"mpv2"
        offset, size = struct.unpack(">II", pointer[4:12])
        assert data[offset:offset + size] == original_clip


def _exiftool_binary(path, tag) -> bytes:
    import shutil
    import subprocess

    return subprocess.run([shutil.which("exiftool"), "-b", "-ee", f"-{tag}", str(path)], check=True,
                          capture_output=True, timeout=60).stdout


def test_a_plain_still_and_video_without_identifier_cannot_be_written_back(tmp_path):
    class NotLive:
        format = LiveFormat.STILL_AND_VIDEO
        content_identifier = None
        still_path = tmp_path / "x.jpg"

    with pytest.raises(ExportError):
        write_back(NotLive(), np.zeros((8, 8, 3), np.uint8), 0, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_frame_outside_the_clip_is_refused(tmp_path):
    with open_live_photo(sample("apple_iphone6s_0FFBE909.jpeg")) as lp:
        with pytest.raises(ExportError, match="outside the clip"):
            write_back(lp, small(lp.still.pixels, 16), lp.clip.frame_count, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_strip_location_on_write_back_strips_the_still_and_says_the_clip_keeps_it(tmp_path):
    from PIL import Image

    with open_live_photo(sample("apple_iphone6s_0FFBE909.jpeg")) as lp:
        result = write_back_result(lp, small(lp.still.pixels, 16), 10, tmp_path,
                                   ExportOptions(strip_location=True))
    assert not Image.open(result.paths[0]).getexif().get_ifd(0x8825)
    assert any("clip keeps its own" in note for note in result.skipped)


def test_a_written_samsung_jpeg_can_itself_be_written_back(tmp_path):
    """Second generation: our Samsung JPEG (SEF trailer after the MP4) is a valid source for another write-back."""
    with open_live_photo(sample("samsung_s22_oneui6_motionphoto.heic")) as lp:
        first_gen = write_back(lp, small(lp.still.pixels, 8), 10, tmp_path, ExportOptions(format="jpeg"))[0]
    with open_live_photo(first_gen) as gen1:
        assert gen1.format == LiveFormat.SAMSUNG_MOTION_PHOTO and gen1.key_frame_index == 10
        names = [e["name"] for e in gen1.details.get("sef_entries", [])]
        assert "MotionPhoto_Data" in names and "Image_UTC_Data" in names
        second_gen = write_back(gen1, gen1.still.pixels, 30, tmp_path)[0]
    assert second_gen.name == "samsung_s22_oneui6_motionphoto_LM_LM.jpg"
    with open_live_photo(second_gen) as gen2:
        assert gen2.format == LiveFormat.SAMSUNG_MOTION_PHOTO and gen2.key_frame_index == 30
        assert gen2.clip.frame_count == 42


def test_a_clip_whose_key_track_has_no_empty_edit_is_refused_cleanly(tmp_path):
    from livemoments_app.core.errors import CorruptFileError
    from livemoments_app.core.export.writeback_apple import plan_mov_patch
    from livemoments_app.core.livephoto import apple
    from livemoments_app.core.livephoto.bmff import ByteSource
    from livemoments_app.core.livephoto.movie import read_movie

    data = bytearray(sample("apple_iphone15pro_IMG_4394.mov").read_bytes())
    with ByteSource(bytes(data)) as src:
        edit = apple.still_image_time_track(read_movie(src)).edits[0]
        assert edit.media_time == -1 and edit.entry_size == 12
        plan = plan_mov_patch(src, 0.4)
        assert plan.still_time_ticks == 240 and len(plan.edits) == 4 and plan.transform_reset
    data[edit.offset + 4:edit.offset + 8] = struct.pack(">i", 0)      # the empty edit now plays media
    with ByteSource(bytes(data)) as src, pytest.raises(CorruptFileError, match="empty edit"):
        plan_mov_patch(src, 0.4)


def test_sef_trailer_we_build_is_read_back_by_the_reader():
    from livemoments_app.core.export.writeback_motion import SefBlock, build_sef
    from livemoments_app.core.livephoto import sef
    from livemoments_app.core.livephoto.bmff import ByteSource

    blocks = [SefBlock(0x0A01, b"Image_UTC_Data", b"1705124333853"), SefBlock(0x0A30, b"MotionPhoto_Data", b""),
              SefBlock(0x0AA1, b"MCC_Data", b"310")]
    prefix = b"\xff\xd9" + b"x" * 37                       # whatever precedes the trailer in a file
    motion = b"\x00\x00\x00\x18ftypmp42" + bytes(range(200))
    trailer, motion_at = build_sef(blocks, motion)
    data = prefix + trailer
    parsed = sef.read_sef(ByteSource(data), 0, len(data))
    assert parsed is not None and parsed.stale_entries == 0
    assert [(e.type, e.name) for e in parsed.entries] == [(b.type, b.name.decode()) for b in blocks]
    entry = parsed.find(sef.TYPE_MOTION_PHOTO)
    assert entry.data_offset == len(prefix) + motion_at
    assert data[entry.data_offset:entry.data_offset + entry.data_size] == motion
    assert data[parsed.find(0x0A01).data_offset:][:13] == b"1705124333853"


def test_a_non_ascii_content_identifier_is_re_keyed_not_a_crash(tmp_path):
    """The still's MakerNote identifier is read as UTF-8: one that is not ASCII used to escape write-back as a
    UnicodeEncodeError. Here the clip carries no identifier key, so the still's identifier is the one re-keyed."""
    import dataclasses
    import shutil

    still = tmp_path / "IMG_1.jpeg"
    shutil.copy(sample("apple_iphone6s_0FFBE909.jpeg"), still)
    mov = bytearray(sample("apple_iphone6s_0FFBE909_3.mov").read_bytes())
    at = mov.find(b"com.apple.quicktime.content.identifier")
    mov[at:at + 38] = b"com.apple.quicktime.content.identifiex"          # the clip no longer names a pair key
    (tmp_path / "IMG_1.mov").write_bytes(bytes(mov))
    out = tmp_path / "out"
    out.mkdir()
    with open_live_photo(still, tmp_path / "IMG_1.mov") as lp:
        assert lp.format == LiveFormat.STILL_AND_VIDEO
        old = lp.content_identifier
        assert old is not None
        odd = "é" + old[2:]                                     # same byte length, not ASCII
        exif = lp.still.exif.replace(old.encode("ascii"), odd.encode("utf-8"))
        lp = dataclasses.replace(lp, still=dataclasses.replace(lp.still, exif=exif), content_identifier=odd)
        result = write_back_result(lp, small(lp.still.pixels, 16), 5, out)
    with open_live_photo(result.paths[0]) as back:
        assert back.content_identifier == result.content_identifier
        assert back.still.exif.count(result.content_identifier.encode("ascii")) == 1
    assert any("pair by name only" in note for note in result.skipped)
