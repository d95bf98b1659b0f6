"""Property test: mutated Live Photos never hang or crash the parsers, never make them read outside the file,
and every failure is a LivePhotoError.

Seeds are the real samples (when ../shared/samples is present) and synthetic files from tests/support/synth. Mutations
aim at the structure: box headers, JPEG segments, the XMP packet, SEF trailers, and the file's head and tail.
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import synth
from livemoments_app.core.errors import LivePhotoError
from livemoments_app.core.livephoto import bmff, inspect_live_photo, open_live_photo
from livemoments_app.core.livephoto.bmff import ByteSource
from tests.conftest import SAMPLES

SAMPLE_SEEDS = [  # (file to mutate, its partner beside it or None)
    ("pixel4xl_motionphoto_v2_truncated.jpg", None),
    ("samsung_s20ultra_microvideo_v1_truncated.jpg", None),
    ("samsung_s22_oneui6_motionphoto.heic", None),
    ("libmphoto_heic_motionphoto_pixel4video.heic", None),
    ("apple_iphone15pro_IMG_4394.mov", "apple_iphone15pro_IMG_4394.HEIC"),
    ("apple_iphone15pro_IMG_4394.HEIC", "apple_iphone15pro_IMG_4394.mov"),
    ("apple_iphone6s_0FFBE909.jpeg", "apple_iphone6s_0FFBE909_3.mov"),
]



@lru_cache(maxsize=1)
def _synthetic_seeds(root: str) -> tuple[tuple[str, bytes, str | None, bytes | None], ...]:
    base = Path(root)
    mp = synth.write_motion_photo_jpeg(base / "PXL_MP.jpg", key_index=4)
    mv = synth.write_motion_photo_jpeg(base / "MV.jpg", micro_video=True, extended_xmp=False)
    ext = synth.write_motion_photo_jpeg(base / "EXT.jpg", extended_xmp=True)
    still, mov = synth.write_apple_pair(base, stem="IMG_9", still_format="heic")
    sj = synth.write_samsung_motion_photo_jpeg(base / "S.jpg")
    sh = synth.write_samsung_motion_photo_heic(base / "S5.heic", one_ui=5)
    return ((mp.name, mp.read_bytes(), None, None), (mv.name, mv.read_bytes(), None, None),
            (ext.name, ext.read_bytes(), None, None), (sj.name, sj.read_bytes(), None, None),
            (sh.name, sh.read_bytes(), None, None),
            (mov.name, mov.read_bytes(), still.name, still.read_bytes()),
            (still.name, still.read_bytes(), mov.name, mov.read_bytes()))


@lru_cache(maxsize=None)
def _sample_seed(name: str, partner: str | None):
    data = (SAMPLES / name).read_bytes()
    return name, data, partner, (SAMPLES / partner).read_bytes() if partner else None


@lru_cache(maxsize=None)
def _interesting_offsets(data: bytes) -> tuple[int, ...]:
    """Where structure lives: box headers (recursively), JPEG markers, XMP and SEF markers, head and tail."""
    src = ByteSource(data)
    spots = {0, 4, len(data) - 4, len(data) - 8}
    try:
        for _, box in bmff.walk(src):
            spots.update((box.start, box.start + 4, box.payload_start))
    except LivePhotoError:
        pass
    for marker in (b"\xff\xe1", b"\xff\xc0", b"\xff\xda", b"ftyp", b"moov", b"mpvd", b"sefd", b"SEFH", b"SEFT",
                   b"Length=", b"Offset=", b"TimestampUs", b"elst", b"keys", b"ilst", b"iloc", b"Apple iOS",
                   b"<!", b"xmpmeta"):
        at = data.find(marker)
        while at >= 0 and len(spots) < 4000:
            spots.add(at)
            at = data.find(marker, at + 1)
    return tuple(sorted(p for p in spots if 0 <= p < len(data)))


def _seeds(tmp_root: str):
    seeds = list(_synthetic_seeds(tmp_root))
    if SAMPLES.is_dir():
        seeds += [_sample_seed(n, p) for n, p in SAMPLE_SEEDS if (SAMPLES / n).exists()]
    return seeds


def _mutate(data: bytes, draw) -> bytes:
    buf = bytearray(data)
    spots = _interesting_offsets(data)
    for _ in range(draw(st.integers(1, 6))):
        if not buf:
            break
        if draw(st.booleans()):
            pos = min(len(buf) - 1, max(0, draw(st.sampled_from(spots)) + draw(st.integers(-8, 8))))
        else:
            window = draw(st.sampled_from(["head", "tail", "any"]))
            lo, hi = {"head": (0, min(len(buf), 65536)), "tail": (max(0, len(buf) - 65536), len(buf)),
                      "any": (0, len(buf))}[window]
            pos = draw(st.integers(lo, max(lo, hi - 1)))
        kind = draw(st.sampled_from(["byte", "u32", "u64", "truncate", "insert", "delete"]))
        if kind == "byte":
            buf[pos] = draw(st.integers(0, 255))
        elif kind == "u32":
            value = draw(st.sampled_from([0, 1, 7, 8, 9, 16, 0x7FFFFFFF, 0xFFFFFFFF, len(buf), len(buf) + 1]))
            buf[pos:pos + 4] = value.to_bytes(4, "big") if draw(st.booleans()) else value.to_bytes(4, "little")
        elif kind == "u64":
            buf[pos:pos + 8] = draw(st.sampled_from([1, 2 ** 63 - 1, 2 ** 64 - 1, len(buf)])).to_bytes(8, "big")
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            del buf[pos:pos + draw(st.integers(1, 64))]
    return bytes(buf)


@pytest.fixture
def read_spy(monkeypatch):
    """Every read that ByteSource serves lies inside its data (out-of-range reads must raise instead)."""
    served = []
    original = ByteSource.read

    def spy(self, offset, length):
        chunk = original(self, offset, length)
        assert 0 <= offset and offset + length <= self.size and len(chunk) == length
        served.append(length)
        return chunk

    monkeypatch.setattr(ByteSource, "read", spy)
    return served


def _write_case(folder: Path, name: str, data: bytes, partner: str | None, partner_data: bytes | None) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    if partner:
        (folder / partner).write_bytes(partner_data)
    return folder / name


@pytest.fixture(scope="module")
def seed_root(tmp_path_factory) -> str:
    """Build the synthetic seeds once, before any example runs (so no example pays for it)."""
    root = tmp_path_factory.mktemp("fuzz-seeds")
    _synthetic_seeds(str(root))
    return str(root)


@pytest.mark.timeout(180)
@settings(max_examples=100, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(st.data())
def test_mutated_files_parse_or_fail_cleanly(tmp_path_factory, seed_root, read_spy, data):
    name, seed, partner, partner_data = data.draw(st.sampled_from(_seeds(seed_root)))
    mutated = _mutate(seed, data.draw)
    path = _write_case(tmp_path_factory.getbasetemp() / "fuzz-case", name, mutated, partner, partner_data)
    try:
        parse = inspect_live_photo(path)
    except LivePhotoError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    # What the parse claims about the clip stays inside the file.
    if parse.video_range is not None:
        assert 0 <= parse.video_range.offset
        assert parse.video_range.offset + parse.video_range.length <= path.stat().st_size


@pytest.mark.timeout(180)
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_small_files_open_or_fail_cleanly(tmp_path_factory, seed_root, data):
    # Full opening (still decode + FrameSource) on the small synthetic files: decoders see damaged data too.
    name, seed, partner, partner_data = data.draw(st.sampled_from(_synthetic_seeds(seed_root)))
    path = _write_case(tmp_path_factory.getbasetemp() / "fuzz-open", name, _mutate(seed, data.draw), partner,
                       partner_data)
    try:
        live = open_live_photo(path)
    except LivePhotoError:
        return
    with live:
        assert 0 <= live.key_frame_index < live.clip.frame_count
