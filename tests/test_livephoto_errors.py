"""Bad input: every failure is a typed LivePhotoError whose message names the file."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from livemoments_app.core.errors import (CorruptFileError, DecodeError, LivePhotoError, NotALivePhotoError,
                                         PairingError, UnreadableFileError)
from livemoments_app.core.livephoto import inspect_live_photo, open_live_photo
from tests.support.synth import encode_video, pattern_frames, write_apple_pair, write_motion_photo_jpeg


def _jpeg(path: Path, size=(64, 48)) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), 128, np.uint8)).save(path, "JPEG")
    return path


def _mp4(path: Path) -> Path:
    encode_video(pattern_frames(6, (64, 48)), path, container_format="mp4")
    return path


def _raises(exc_type, path, *args, match=None):
    with pytest.raises(exc_type) as info:
        open_live_photo(path, *args)
    assert Path(path).name in str(info.value), str(info.value)
    if match:
        assert match in str(info.value)
    return info.value


def test_missing_file(tmp_path):
    _raises(UnreadableFileError, tmp_path / "nope.HEIC", match="no such file")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    _raises(UnreadableFileError, tmp_path / "empty.jpg", match="empty")


def test_directory_is_not_a_photo(tmp_path):
    (tmp_path / "IMG_1.HEIC").mkdir()
    _raises(UnreadableFileError, tmp_path / "IMG_1.HEIC", match="folder")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    _raises(UnreadableFileError, tmp_path / "pipe.jpg", match="not a regular file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_no_permission(tmp_path):
    path = _jpeg(tmp_path / "locked.jpg")
    path.chmod(0)
    try:
        _raises(UnreadableFileError, path, match="permission")
    finally:
        path.chmod(0o644)


def test_plain_jpeg_is_not_a_live_photo(tmp_path):
    _raises(NotALivePhotoError, _jpeg(tmp_path / "plain.jpg"), match="not a Live Photo")


def test_plain_png_and_random_bytes(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    _raises(NotALivePhotoError, tmp_path / "a.png")
    (tmp_path / "noise.bin").write_bytes(os.urandom(4096))
    _raises(NotALivePhotoError, tmp_path / "noise.bin")


def test_plain_video_is_not_a_live_photo(tmp_path):
    _raises(NotALivePhotoError, _mp4(tmp_path / "clip.mp4"), match="no key photo")


def test_two_stills_are_a_pairing_error(tmp_path):
    with pytest.raises(PairingError, match="both photos"):
        open_live_photo(_jpeg(tmp_path / "a.jpg"), _jpeg(tmp_path / "b.jpg"))


def test_content_identifier_mismatch(tmp_path):
    still, mov = write_apple_pair(tmp_path, content_identifier="AAAAAAAA-0000-0000-0000-000000000001",
                                  video_content_identifier="BBBBBBBB-0000-0000-0000-000000000002")
    err = _raises(PairingError, still, match="does not match")
    assert "AAAAAAAA" in str(err) and "BBBBBBBB" in str(err)
    with pytest.raises(PairingError):
        open_live_photo(mov)          # found from the video side too


def _motion_photo_with_length(tmp_path, new_length) -> Path:
    """A Motion Photo whose XMP video Length is rewritten (the APP1 segment length is fixed up)."""
    path = write_motion_photo_jpeg(tmp_path / "mp.jpg")
    data = path.read_bytes()
    start = data.index(b"http://ns.adobe.com/xap/1.0/") - 4
    seg_len = struct.unpack(">H", data[start + 2:start + 4])[0]
    payload = data[start + 4:start + 2 + seg_len]
    real = payload.split(b'Semantic="MotionPhoto" Item:Length="')[1].split(b'"')[0]
    fake = str(new_length(int(real))).encode()
    payload = payload.replace(b'Item:Length="' + real + b'"', b'Item:Length="' + fake + b'"', 1)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:start] + segment + data[start + 2 + seg_len:])
    return path


def test_offset_outside_the_file(tmp_path):
    path = _motion_photo_with_length(tmp_path, lambda n: 10 ** 9)
    _raises(CorruptFileError, path, match="points to no video")


def test_offset_not_at_a_video(tmp_path):
    path = _motion_photo_with_length(tmp_path, lambda n: n - 3)
    _raises(CorruptFileError, path, match="points to no video")


def test_xmp_entity_bomb_in_a_jpeg(tmp_path):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE z [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>')
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + bomb
    path = tmp_path / "bomb.jpg"
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:])
    _raises(CorruptFileError, path, match="XMP")


def test_absurd_dimensions(tmp_path):
    data = bytearray(_jpeg(tmp_path / "huge.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    (tmp_path / "huge.jpg").write_bytes(bytes(data))
    _raises(CorruptFileError, tmp_path / "huge.jpg", _mp4(tmp_path / "v.mp4"), match="absurd dimensions")


def test_truncated_still_fails_to_decode(tmp_path):
    still, mov = write_apple_pair(tmp_path, still_format="jpeg")
    data = still.read_bytes()
    still.write_bytes(data[:len(data) * 2 // 3])
    _raises(DecodeError, still, match="decoded")


def test_truncated_mov(tmp_path):
    still, mov = write_apple_pair(tmp_path)
    data = mov.read_bytes()
    mov.write_bytes(data[:len(data) - 200])      # cuts into the moov at the end of the file
    with pytest.raises(CorruptFileError) as info:
        open_live_photo(still)
    assert mov.name in str(info.value)


def test_clip_with_no_video_stream(tmp_path):
    import av

    path = tmp_path / "sound.mov"
    with av.open(str(path), "w", format="mov") as container:
        stream = container.add_stream("aac", rate=48000)
        samples = np.zeros((1, 48000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in list(stream.encode(frame)) + list(stream.encode()):
            container.mux(packet)
    with pytest.raises(NotALivePhotoError) as info:
        open_live_photo(_jpeg(tmp_path / "still.jpg"), path)
    assert "sound.mov" in str(info.value) and "no video" in str(info.value)


def test_marked_motion_photo_without_a_video(tmp_path):
    path = write_motion_photo_jpeg(tmp_path / "gone.jpg")
    data = path.read_bytes()
    eoi = data.rindex(b"\xff\xd9", 0, data.index(b"ftyp"))
    path.write_bytes(data[:eoi + 2])             # the appended MP4 is gone, the XMP still claims it
    _raises(CorruptFileError, path)


def test_every_error_is_one_line(tmp_path):
    (tmp_path / "empty.mov").write_bytes(b"")
    for case in (tmp_path / "empty.mov", _jpeg(tmp_path / "plain.jpg")):
        with pytest.raises(LivePhotoError) as info:
            inspect_live_photo(case)
        assert "\n" not in str(info.value)
