"""Reading HDR gain maps: Apple HEIC (auxiliary image, XMP, maker note), ISO 21496-1 'tmap', Ultra HDR JPEG (MPF or
the Container directory; ISO APP2 or hdrgm XMP); orientation; opening stays cheap; damaged maps do not stop a photo
from opening; the clip's HDR frame."""

from __future__ import annotations

import shutil
import struct

import cv2
import numpy as np
import pytest

from livemoments_app.core.errors import DecodeError
from livemoments_app.core.hdr import IsoGainMapParams, encoding, iso21496
from livemoments_app.core.livephoto import inspect_live_photo, open_live_photo
from livemoments_app.core.livephoto import gain_map_heif, gain_map_jpeg
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.open import find_gain_map
from tests.conftest import sample
from tests.support import synth
from tests.support.ultrahdr import hdrgm_xmp, iso_payload, ultrahdr_jpeg

IPHONE = "apple_iphone15pro_IMG_4394.HEIC"


# ------------------------------------------------------------------------------------------------ Apple HEIC


@pytest.mark.samples
def test_iphone_heic_gain_map_parameters():
    ref = inspect_live_photo(sample(IPHONE)).still.hdr
    assert ref is not None and ref.kind == "apple"
    assert ref.size == (1512, 2016)                  # upright, half the 3024 x 4032 still
    assert ref.apple.version == 131072
    assert ref.apple.xmp_headroom == pytest.approx(3.362963)
    assert ref.apple.maker_headroom == pytest.approx(1.01, abs=1e-6)
    assert ref.apple.maker_gain == pytest.approx(1.825881, abs=1e-6)
    # The ISO 21496-1 'tmap' of the same file (iOS 18) says the same headroom in stops.
    iso = ref.iso
    assert iso.capacity_max == pytest.approx(1.749733) and iso.capacity_min == 0.0
    assert iso.gain_min == pytest.approx((-0.734375,)) and iso.gain_max == pytest.approx((1.749733,))
    assert iso.gamma == pytest.approx((1.112305,)) and iso.use_base_colour_space and not iso.base_is_hdr
    assert ref.headroom == pytest.approx(3.362963)
    assert np.log2(ref.headroom) == pytest.approx(iso.capacity_max, abs=1e-4)
    from livemoments_app.core.hdr.apple import headroom_from_maker_note
    assert headroom_from_maker_note(ref.apple.maker_headroom, ref.apple.maker_gain) == pytest.approx(3.363, abs=2e-3)
    assert len(ref.raw["tmap"]) == 62 and b"HDRGainMapHeadroom" in ref.raw["apple_xmp"]


@pytest.mark.samples
def test_iphone_gain_map_is_upright_like_the_still():
    with open_live_photo(sample(IPHONE)) as live:
        gm = live.still.gain_map
        still = live.still.pixels
    assert gm.pixels.shape == (2016, 1512) and gm.kind == "apple"
    lum = cv2.resize(cv2.cvtColor(still, cv2.COLOR_RGB2GRAY), (1512, 2016), interpolation=cv2.INTER_AREA)

    def corr(a, b):
        a, b = a.astype(np.float64) - a.mean(), b.astype(np.float64) - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    upright = corr(lum, gm.pixels)
    assert upright > 0.8
    for wrong in (gm.pixels[::-1, ::-1], gm.pixels[::-1], gm.pixels[:, ::-1]):
        assert corr(lum, wrong) < upright - 0.3


@pytest.mark.samples
def test_ffmpeg_item_decoder_matches_libheif():
    """The decoder for 'tmap'-only maps (FFmpeg, tile by tile, its own 'irot') gives libheif's pixels exactly."""
    ref = inspect_live_photo(sample(IPHONE)).still.hdr
    assert np.array_equal(gain_map_heif.decode_item(ref), gain_map_heif.decode_aux(ref))


@pytest.mark.samples
def test_tmap_only_heic(tmp_path):
    """A HEIC whose gain map is only a 'tmap' input (no Apple auxiliary type) is read through ISO 21496-1."""
    data = sample(IPHONE).read_bytes()
    assert data.count(b"urn:com:apple:photo:2020:aux:hdrgainmap") == 1
    path = tmp_path / "iso_only.heic"
    urn = b"urn:com:apple:photo:2020:aux:hdrgainmap"
    path.write_bytes(data.replace(urn, b"urn:example:unknown-aux-type".ljust(len(urn), b"x")))
    ref = find_gain_map(path)
    assert ref.kind == "iso21496" and ref.apple is None and ref.size == (1512, 2016)
    assert ref.headroom == pytest.approx(2 ** 1.749733)
    apple = find_gain_map(sample(IPHONE)).load().pixels
    assert np.array_equal(ref.load().pixels, apple)


@pytest.mark.samples
def test_opening_does_not_decode_the_gain_map(monkeypatch):
    def refuse(_ref):
        raise AssertionError("the gain map was decoded at open")

    monkeypatch.setattr(gain_map_heif, "decode_aux", refuse)
    with open_live_photo(sample(IPHONE)) as live:
        assert live.still.hdr is not None and live.still.hdr._loaded is None


@pytest.mark.samples
@pytest.mark.parametrize("name", ["apple_iphone6s_0FFBE909.jpeg", "samsung_s22_oneui6_motionphoto.heic",
                                  "libmphoto_heic_motionphoto_pixel4video.heic", "pixel4xl_motionphoto_v2_truncated.jpg",
                                  "samsung_s20ultra_microvideo_v1_truncated.jpg"])
def test_sdr_samples_have_no_gain_map(name):
    parse = inspect_live_photo(sample(name))
    assert parse.still.hdr is None and "hdr_error" not in parse.still.details


@pytest.mark.samples
def test_a_broken_gain_map_is_a_clear_error_when_used_and_does_not_stop_opening(tmp_path):
    data = bytearray(sample(IPHONE).read_bytes())
    ref = inspect_live_photo(sample(IPHONE)).still.hdr
    # overwrite the coded data of the gain map's tiles (the grid's inputs) with zeros
    with ByteSource.open(sample(IPHONE)) as src:
        from livemoments_app.core.livephoto import heif
        items = heif.items(src)
    for tile in items[ref.locator[0]].refs["dimg"]:
        for offset, length in items[tile].extents:
            data[offset:offset + length] = bytes(length)
    path = tmp_path / "IMG_4394.HEIC"
    path.write_bytes(bytes(data))
    shutil.copy(sample("apple_iphone15pro_IMG_4394.mov"), tmp_path / "IMG_4394.MOV")
    with open_live_photo(path) as live:
        assert live.still.hdr is not None
        with pytest.raises(DecodeError) as err:
            live.still.gain_map
    assert "gain map" in str(err.value) and "IMG_4394.HEIC" in str(err.value)


# ------------------------------------------------------------------------------------------------ Ultra HDR


def _pair(h=60, w=80):
    rng = np.random.default_rng(1)
    primary = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    y, x = np.mgrid[0:h // 2, 0:w // 2]
    gain = np.clip(x * 6 + (y < 8) * 40, 0, 255).astype(np.uint8)      # asymmetric: orientation shows
    return primary, gain


@pytest.mark.parametrize("iso, hdrgm", [(True, True), (True, False), (False, True)])
def test_ultrahdr_jpeg(tmp_path, iso, hdrgm):
    primary, gain = _pair()
    path = tmp_path / "PXL_1.jpg"
    path.write_bytes(ultrahdr_jpeg(primary, gain, gain_min=0.0, gain_max=2.5, gamma=1.0, iso=iso, hdrgm=hdrgm))
    ref = find_gain_map(path)
    assert ref.kind == "ultrahdr" and ref.size == (40, 30) and ref.channels == 1
    assert ref.iso.gain_max == pytest.approx((2.5,)) and ref.iso.capacity_max == pytest.approx(2.5)
    assert ref.headroom == pytest.approx(2 ** 2.5)
    assert ("iso21496" in ref.raw) == iso and ("hdrgm_xmp" in ref.raw) == hdrgm
    assert np.abs(ref.load().pixels.astype(int) - gain).max() <= 3         # JPEG at quality 95


def test_ultrahdr_gain_map_follows_the_primary_orientation(tmp_path):
    primary, gain = _pair()
    path = tmp_path / "PXL_2.jpg"
    path.write_bytes(ultrahdr_jpeg(primary, gain, exif=synth.build_exif(orientation=6)))
    ref = find_gain_map(path)
    assert ref.size == (30, 40)
    assert np.abs(ref.load().pixels.astype(int) - np.rot90(gain, -1)).max() <= 3


def test_ultrahdr_without_mpf_is_found_through_the_container_directory(tmp_path):
    primary, gain = _pair()
    path = tmp_path / "PXL_3.jpg"
    path.write_bytes(ultrahdr_jpeg(primary, gain, mpf=False, directory=True))
    ref = find_gain_map(path)
    assert ref is not None and ref.size == (40, 30)
    assert np.abs(ref.load().pixels.astype(int) - gain).max() <= 3
    without = tmp_path / "PXL_4.jpg"
    without.write_bytes(ultrahdr_jpeg(primary, gain, mpf=False, directory=False))
    assert find_gain_map(without) is None


def test_a_jpeg_whose_second_image_is_no_gain_map_is_sdr(tmp_path):
    primary, gain = _pair()
    path = tmp_path / "two.jpg"
    path.write_bytes(ultrahdr_jpeg(primary, gain, iso=False, hdrgm=False))
    assert find_gain_map(path) is None


def test_libultrahdr_output_is_read(tmp_path):
    imagecodecs = pytest.importorskip("imagecodecs")
    if not getattr(getattr(imagecodecs, "ULTRAHDR", None), "available", False):
        pytest.skip("imagecodecs has no Ultra HDR codec")
    h, w = 96, 128
    linear = np.zeros((h, w, 4), np.float16)
    x = np.linspace(0.05, 0.8, w, dtype=np.float32)[None, :].repeat(h, 0)
    x[: h // 2, w // 2:] *= 4.0                     # a highlight the SDR rendition cannot hold
    linear[..., :3] = x[..., None]
    linear[..., 3] = 1
    path = tmp_path / "uhdr.jpg"
    path.write_bytes(imagecodecs.ultrahdr_encode(linear))
    ref = find_gain_map(path)
    assert ref.kind == "ultrahdr" and ref.size[0] > 0 and "iso21496" in ref.raw
    stops = encoding.to_stops(ref.load())
    highlight, rest = stops[: stops.shape[0] // 2, stops.shape[1] // 2:], stops[stops.shape[0] // 2:]
    assert highlight.mean() > rest.mean() + 0.5


# ------------------------------------------------------------------------------------------------ metadata


def test_iso_metadata_forms():
    full = iso_payload(-0.5, 2.0, 1.25, 2.0, with_version=True)
    params = iso21496.parse(full, with_version=True)
    assert params.gain_min == pytest.approx((-0.5,)) and params.gamma == pytest.approx((1.25,))
    assert params.offset_sdr == pytest.approx((1 / 64,), abs=1e-6) and params.capacity_max == pytest.approx(2.0)
    common = iso21496.parse(iso_payload(0.0, 3.0, 1.0, 3.0, common_denominator=True), with_version=False)
    assert common.gain_max == pytest.approx((3.0,)) and common.capacity_max == pytest.approx(3.0)
    assert iso21496.parse(struct.pack(">HH", 0, 0), with_version=False) is None     # the primary's version tag
    with pytest.raises(iso21496.IsoMetadataError, match="version"):
        iso21496.parse(b"\x01" + full[1:], with_version=True)
    with pytest.raises(iso21496.IsoMetadataError, match="cut short"):
        iso21496.parse(full[:30], with_version=True)
    zero = bytearray(full)
    zero[10:14] = bytes(4)          # the base headroom's denominator
    with pytest.raises(iso21496.IsoMetadataError, match="denominator"):
        iso21496.parse(bytes(zero), with_version=True)


@pytest.mark.parametrize("params", [
    IsoGainMapParams(gain_min=(-0.5,), gain_max=(2.0,), gamma=(1.25,), offset_sdr=(1 / 64,), offset_hdr=(0.0,),
                     capacity_min=0.0, capacity_max=2.0),
    IsoGainMapParams(gain_min=(0.0, -0.25, 0.0), gain_max=(1.5, 2.0, 1.0), gamma=(1.0, 1.0, 2.0),
                     offset_sdr=(0.0,), offset_hdr=(1 / 64,), capacity_min=0.5, capacity_max=2.0,
                     use_base_colour_space=False),
])
def test_iso21496_reads_what_it_writes(params):
    """One module reads and writes the binary form: every field comes back, the 'use base colour space' flag
    too."""
    for data, with_version in ((iso21496.tmap_payload(params), True), (iso21496.encode(params), False)):
        back = iso21496.parse(data, with_version=with_version)
        assert back.use_base_colour_space == params.use_base_colour_space and not back.base_is_hdr
        n = back.channels
        for name in ("gain_min", "gain_max", "gamma", "offset_sdr", "offset_hdr"):
            want = getattr(params, name)
            assert getattr(back, name) == pytest.approx(want * n if len(want) == 1 and n == 3 else want, abs=1e-6)
        assert (back.capacity_min, back.capacity_max) == pytest.approx((params.capacity_min, params.capacity_max))


def test_hdrgm_xmp_with_per_channel_values():
    params = gain_map_jpeg.hdrgm_params(hdrgm_xmp(0.0, 1.5, 1.0, 1.5, seq=True))
    assert params.gain_max == pytest.approx((1.5, 1.5, 1.5)) and params.channels == 3
    assert gain_map_jpeg.hdrgm_params(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>") is None


def test_directory_offsets_count_from_the_end():
    directory = [{"Semantic": "Primary"}, {"Semantic": "GainMap", "Length": "100"},
                 {"Semantic": "MotionPhoto", "Length": "1000"}]
    assert gain_map_jpeg.directory_gain_map(directory, 5000) == (3900, 100)
    assert gain_map_jpeg.directory_gain_map(directory[:1], 5000) is None


# ------------------------------------------------------------------------------------------------ the clip


@pytest.mark.samples
def test_hdr_frame_of_an_hlg_clip_and_its_sdr_rendition():
    from livemoments_app.core import colour as col
    from livemoments_app.core.clip import FrameSource

    with FrameSource.open(sample("iphone14pro_dolbyvision_hlg_notlive.MOV"), colour_target="display-p3") as fs:
        assert fs.is_hdr
        sdr = fs.frame(2)
        converted = fs.stats["converted"]
        hdr = fs.hdr_frame(2)
        assert fs.stats["converted"] == converted            # frame()'s cache and counters are untouched
        assert hdr.shape == sdr.shape and hdr.dtype == np.float32
        # up to the HLG display's peak (a channel a little beyond it after the BT.2020 -> P3 conversion)
        assert 1.0 < float(hdr.max()) <= col.HLG_PEAK_NITS / col.SDR_WHITE_NITS * 1.02
        lin = col.srgb_to_linear(sdr / 255.0)
        # below the tone map's knee the SDR rendition is the HDR light itself; above it, darker
        mid = (hdr.max(axis=2) < 0.5) & (hdr.min(axis=2) > 0.05)
        assert np.abs(lin[mid] - hdr[mid]).mean() < 0.01
        bright = hdr.mean(axis=2) > 1.5
        assert bright.any() and (lin[bright].mean(axis=1) < hdr[bright].mean(axis=1) * 0.8).all()


@pytest.mark.samples
def test_sdr_clip_has_no_hdr_frame():
    from livemoments_app.core.clip import FrameSource

    with FrameSource.open(sample("apple_iphone15pro_IMG_4394.mov")) as fs:
        assert not fs.is_hdr and fs.hdr_frame(0) is None
