"""HDR gain maps written with the exported still: HEIC as iPhones write it (Apple auxiliary image + ISO 21496-1),
JPEG as Ultra HDR (MPF + hdrgm XMP + ISO 21496-1), Motion Photos with the gain map between the still and the clip.

Independent readers check the files: exiftool (types, headroom, MPF count, hdrgm values), libheif through
pillow-heif (the auxiliary image's size and pixels), libultrahdr through imagecodecs (the HDR rendition), and the
app's own Motion Photo reader (the clip and the key time). The primary picture must equal the SDR export's.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from livemoments_app.core.export import ExportOptions, StillMetadata, export_still, write_back, write_back_result
from livemoments_app.core.export import apple_hdr, gainmap_forms, ultrahdr, xmp_edit
from livemoments_app.core.export.heif_write import HeifFile
from livemoments_app.core.hdr import AppleGainMapInfo, GainMap, IsoGainMapParams, iso21496
from livemoments_app.core.hdr.model import APPLE_AUX_URN
from livemoments_app.core.livephoto import LiveFormat, heif, open_live_photo
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.open import find_gain_map
from tests.conftest import sample
from tests.export_helpers import exiftool, first, small
from tests.support import synth

APPLE_HEIC = "apple_iphone15pro_IMG_4394.HEIC"
# What the iPhone 15 Pro sample states about its gain map (exiftool; the 'tmap' item's fractions, in millionths).
APPLE_HEADROOM = 3.362963
APPLE_INFO = AppleGainMapInfo(version=131072, xmp_headroom=APPLE_HEADROOM, maker_headroom=1.00999999,
                              maker_gain=1.825880766)
APPLE_ISO = IsoGainMapParams(gain_min=(-0.734375,), gain_max=(1.749733,), gamma=(1.112305,), offset_sdr=(1e-5,),
                             offset_hdr=(1e-5,), capacity_min=0.0, capacity_max=1.749733)
# A Pixel-like Ultra HDR map: 1/4 size, grey, hdrgm defaults.
PIXEL_ISO = IsoGainMapParams(gain_min=(0.0,), gain_max=(2.0,), gamma=(1.0,), offset_sdr=(1 / 64,),
                             offset_hdr=(1 / 64,), capacity_min=0.0, capacity_max=2.0)


@pytest.fixture(scope="module")
def apple():
    """(pixels, metadata, gain map) of the iPhone sample at a quarter of its size (the map keeps its half ratio)."""
    import pillow_heif

    path = sample(APPLE_HEIC)
    heic = pillow_heif.open_heif(path)
    [aux_id] = heic.info["aux"][APPLE_AUX_URN]
    full_map = np.asarray(heic.get_aux_image(aux_id))
    with open_live_photo(path) as lp:
        pixels, meta = small(lp.still.pixels, 4), StillMetadata.of(lp)
    import cv2

    quarter = cv2.resize(full_map, (pixels.shape[1] // 2, pixels.shape[0] // 2), interpolation=cv2.INTER_AREA)
    raw = find_gain_map(path).raw          # the blobs the reader keeps: the 'tmap' item's ICC profile among them
    gain_map = GainMap(quarter, "apple", APPLE_HEADROOM, iso=APPLE_ISO, apple=APPLE_INFO, raw=raw)
    return pixels, meta, gain_map


def _pixel_gain_map(pixels: np.ndarray, channels: int = 1) -> GainMap:
    """A smooth map over a picture: brighter where the picture is (highlights get the gain), at 1/4 size."""
    import cv2

    grey = cv2.GaussianBlur(pixels[::4, ::4].astype(np.float32).mean(axis=2), (0, 0), 3)
    values = np.clip(grey * 1.2 - 40, 0, 255).astype(np.uint8)
    if channels == 3:
        values = np.stack([values, values // 2 + 60, 255 - values], axis=-1)
        iso = IsoGainMapParams(gain_min=(0.0, 0.1, 0.0), gain_max=(2.0, 1.5, 1.0), gamma=(1.0, 1.0, 1.2),
                               offset_sdr=(1 / 64,), offset_hdr=(1 / 64,), capacity_min=0.0, capacity_max=2.0)
    else:
        iso = PIXEL_ISO
    return GainMap(np.ascontiguousarray(values), "ultrahdr", 4.0, iso=iso)


def _decoded(path) -> np.ndarray:
    import pillow_heif

    if str(path).lower().endswith(".heic"):
        return np.asarray(pillow_heif.open_heif(path))
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _aux_map(path) -> np.ndarray:
    import pillow_heif

    heic = pillow_heif.open_heif(path)
    [aux_id] = heic.info["aux"][APPLE_AUX_URN]
    return np.asarray(heic.get_aux_image(aux_id))


def _close(got: np.ndarray, want: np.ndarray, mean: float = 1.0, worst: int = 8) -> None:
    assert got.shape == want.shape
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.mean() <= mean and diff.max() <= worst, (diff.mean(), diff.max())


def _exported_pair(tmp_path, pixels, meta, gain_map, fmt: str, **options):
    hdr = export_still(pixels, meta, tmp_path, ExportOptions(format=fmt, **options), gain_map=gain_map)
    sdr = export_still(pixels, meta, tmp_path, ExportOptions(format=fmt, suffix="_SDR", **options))
    return hdr, sdr


# ------------------------------------------------------------------------------------------------ HEIC


@pytest.mark.samples
def test_heic_carries_the_iphone_gain_map_as_the_camera_does(tmp_path, apple):
    pixels, meta, gain_map = apple
    hdr, sdr = _exported_pair(tmp_path, pixels, meta, gain_map, "heic")
    assert hdr.hdr and not sdr.hdr and hdr.skipped == []
    assert np.array_equal(_decoded(hdr.path), _decoded(sdr.path))        # the picture is the SDR export's
    _close(_aux_map(hdr.path), gain_map.pixels)                          # libheif reads the map back

    info = exiftool(hdr.path, "AuxiliaryImageType", "HDRGainMapHeadroom", "HDRGainMapVersion", "HDRHeadroom",
                    "HDRGain", "CompatibleBrands", "ChromaFormat", "MediaGroupUUID")
    assert info["QuickTime:AuxiliaryImageType"] == APPLE_AUX_URN
    assert info["XMP-HDRGainMap:HDRGainMapHeadroom"] == pytest.approx(APPLE_HEADROOM)
    assert info["XMP-HDRGainMap:HDRGainMapVersion"] == 131072
    assert info["Apple:HDRHeadroom"] == pytest.approx(1.00999999)
    assert info["Apple:HDRGain"] == pytest.approx(1.825880766)
    assert "tmap" in str(info["QuickTime:CompatibleBrands"])
    assert first(info, "MediaGroupUUID") == "ED2A2552-C906-486E-9DA5-17DABDF672A7"   # the maker note is intact

    # The item layout of the iPhone file: a hidden monochrome HEVC item with auxC, auxl -> primary, its XMP
    # described by cdsc, and the ISO 21496-1 'tmap' over [primary, map] in an 'altr' group with the primary.
    data = hdr.path.read_bytes()
    src = ByteSource(data)
    items, refs, primary = heif.items(src), HeifFile.parse(data).references, heif.primary_item_id(src)
    [gm_id] = [f for kind, f, to in refs if kind == "auxl" and to == [primary]]
    written = HeifFile.parse(data)
    assert items[gm_id].type == "hvc1" and written.items[gm_id].hidden
    hvcc = written.item_property(gm_id, "hvcC")
    assert hvcc[8 + 16] & 3 == 0 and hvcc[8 + 1] & 31 == 4          # chroma_format_idc 0; Range Extensions
    assert written.item_property(gm_id, "pixi")[12:] == b"\x01\x08"   # one channel, 8 bits
    assert written.item_property(gm_id, "auxC")[12:] == APPLE_AUX_URN.encode() + b"\0"
    iphone = HeifFile.parse(sample(APPLE_HEIC).read_bytes())
    [iphone_map] = [f for kind, f, to in iphone.references if kind == "auxl"]
    assert written.item_property(gm_id, "colr") == iphone.item_property(iphone_map, "colr")   # nclx 2/2/2 full
    ispe = written.item_property(gm_id, "ispe")
    assert struct.unpack(">II", ispe[12:20]) == gain_map.size
    [xmp_id] = [f for kind, f, to in refs if kind == "cdsc" and to == [gm_id]]
    assert b"<HDRGainMap:HDRGainMapHeadroom>3.362963<" in heif.read_item(src, items[xmp_id])
    [tmap_id] = [i for i, it in items.items() if it.type == "tmap"]
    assert ("dimg", tmap_id, [primary, gm_id]) in refs
    [exif_id] = [i for i, it in items.items() if it.type == "Exif"]
    assert ("cdsc", exif_id, [primary, tmap_id]) in refs
    assert heif.read_item(src, items[tmap_id]) == iso21496.tmap_payload(APPLE_ISO)
    assert any(g[4:8] == b"altr" and g[16:] == struct.pack(">III", 2, tmap_id, primary) for g in written.groups)
    # The HDR rendition's colour (the iPhone's Display P3 PQ profile) and pixel format, as the camera states them.
    [iphone_tmap] = [i for i, it in iphone.items.items() if it.type == "tmap"]
    for kind in ("colr", "pixi"):
        assert written.item_property(tmap_id, kind) == iphone.item_property(iphone_tmap, kind)
    assert written.item_property(tmap_id, "colr")[8:12] == b"prof"


@pytest.mark.samples
def test_tmap_payload_is_byte_for_byte_what_ios_writes():
    data = sample(APPLE_HEIC).read_bytes()
    iphone = HeifFile.parse(data)
    [tmap] = [item for item in iphone.items.values() if item.type == "tmap"]
    assert iso21496.tmap_payload(APPLE_ISO) == tmap.data


@pytest.mark.samples
def test_the_model_rewrites_the_iphone_file_without_changing_a_picture(tmp_path):
    """HeifFile reads and writes a camera file (grids, idat, tmap, altr) so libheif decodes it identically."""
    import pillow_heif

    data = sample(APPLE_HEIC).read_bytes()
    rewritten = HeifFile.parse(data).to_bytes()
    before, after = pillow_heif.open_heif(io.BytesIO(data)), pillow_heif.open_heif(io.BytesIO(rewritten))
    assert np.array_equal(np.asarray(before), np.asarray(after))
    assert after.info["aux"] == before.info["aux"]
    [aux] = after.info["aux"][APPLE_AUX_URN]
    assert np.array_equal(np.asarray(after.get_aux_image(aux)), np.asarray(before.get_aux_image(aux)))
    path = tmp_path / "rewritten.heic"
    path.write_bytes(rewritten)
    assert exiftool(path, "HDRGainMapHeadroom")["XMP-HDRGainMap:HDRGainMapHeadroom"] == pytest.approx(APPLE_HEADROOM)


def test_an_ultra_hdr_map_goes_into_heic_in_both_forms(tmp_path):
    """A Pixel-style map: Apple's form is derived (its own image item); the tmap keeps the original pixels."""
    pixels = synth.pattern_frames(1, (640, 480))[0]
    gain_map = _pixel_gain_map(pixels)
    hdr, sdr = _exported_pair(tmp_path, pixels, StillMetadata(), gain_map, "heic")
    assert hdr.hdr and hdr.skipped == []
    assert np.array_equal(_decoded(hdr.path), _decoded(sdr.path))
    apple_form = gainmap_forms.apple_form(gain_map)
    _close(_aux_map(hdr.path), apple_form.pixels)
    data = hdr.path.read_bytes()
    written = HeifFile.parse(data)
    [tmap] = [i for i in written.items.values() if i.type == "tmap"]
    [(_, _, (primary, map_id))] = [r for r in written.references if r[0] == "dimg" and r[1] == tmap.id]
    [(_, aux_id, _)] = [r for r in written.references if r[0] == "auxl"]
    assert map_id != aux_id and written.item_property(map_id, "auxC") is None
    assert tmap.data == iso21496.tmap_payload(PIXEL_ISO)
    import pillow_heif                     # the tmap's own map image, alone in a file, decodes to the original
    alone = replace(written.items[map_id], hidden=False)
    coded = HeifFile(b"heic", 0, [b"mif1", b"heic"], map_id, {map_id: alone}, written.properties, []).to_bytes()
    _close(np.asarray(pillow_heif.open_heif(io.BytesIO(coded))), gain_map.pixels)
    info = exiftool(hdr.path, "AuxiliaryImageType", "HDRGainMapHeadroom")
    assert info["XMP-HDRGainMap:HDRGainMapHeadroom"] == pytest.approx(4.0)


def test_a_three_channel_map_is_coded_without_chroma_subsampling(tmp_path):
    """Per-channel gains are not a colour: the ISO map image of an RGB gain map is coded 4:4:4."""
    pixels = synth.pattern_frames(1, (640, 480))[0]
    gain_map = _pixel_gain_map(pixels, channels=3)
    result = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="heic"), gain_map=gain_map)
    written = HeifFile.parse(result.path.read_bytes())
    [tmap] = [i for i in written.items.values() if i.type == "tmap"]
    [(_, _, (_primary, map_id))] = [r for r in written.references if r[0] == "dimg" and r[1] == tmap.id]
    assert written.item_property(map_id, "hvcC")[8 + 16] & 3 == 3          # chroma_format_idc 3: 4:4:4
    import pillow_heif
    alone = replace(written.items[map_id], hidden=False)
    coded = HeifFile(b"heic", 0, [b"mif1", b"heic"], map_id, {map_id: alone}, written.properties, []).to_bytes()
    _close(np.asarray(pillow_heif.open_heif(io.BytesIO(coded))), gain_map.pixels, mean=1.0, worst=8)


def test_an_odd_sized_gain_map_keeps_its_size(tmp_path):
    """The encoder codes an odd width or height with a padding row/column and crops it with 'clap': the gain map
    read back has the size it was written with (a 151 x 202 picture's 76 x 101 map came back 76 x 102)."""
    pixels = synth.pattern_frames(1, (151, 202))[0]
    values = np.tile(np.arange(76, dtype=np.uint8) * 3, (101, 1))
    gain_map = GainMap(values, "apple", APPLE_HEADROOM, iso=APPLE_ISO, apple=APPLE_INFO)
    result = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="heic"), gain_map=gain_map)
    back = _aux_map(result.path)
    assert back.shape == (101, 76)
    _close(back, values, mean=1.5, worst=12)


def test_the_picture_and_its_map_images_are_coded_in_one_encoder_process(tmp_path, monkeypatch):
    """Each encoder process costs ~0.3 s to start: the picture and both map images (the slowest case, a
    Pixel-style map written in Apple's and the ISO form) are coded by one."""
    from livemoments_app.core.export import still

    calls = []
    real = still.run_encoder

    def counted(work, *args, **kwargs):
        calls.append(len(args[0]))
        return real(work, *args, **kwargs)

    monkeypatch.setattr(still, "run_encoder", counted)
    pixels = synth.pattern_frames(1, (320, 240))[0]
    result = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="heic", encoder_process=True),
                          gain_map=_pixel_gain_map(pixels))
    assert result.hdr and calls == [3]          # one process: the picture, Apple's map, the ISO map
    assert len(_aux_map(result.path).shape) == 2


def test_hdr_off_and_png_write_no_gain_map(tmp_path):
    pixels = synth.pattern_frames(1, (320, 240))[0]
    gain_map = _pixel_gain_map(pixels)
    off = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="heic", hdr=False), gain_map=gain_map)
    plain = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="heic", suffix="_P"))
    assert not off.hdr and off.path.read_bytes() == plain.path.read_bytes()
    png = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="png"), gain_map=gain_map)
    assert not png.hdr and any("PNG cannot hold" in s for s in png.skipped)


# ------------------------------------------------------------------------------------------------ JPEG


def _mpf_gain_map(path) -> bytes:
    """The second image of the MPF index, where exiftool reads the index to put it."""
    info = exiftool(path, "MPF:all")
    assert info["MPF0:NumberOfImages"] == 2 and info["MPImage1:MPImageStart"] == 0
    assert info["MPImage1:MPImageType"] == 0x030000             # Baseline MP Primary Image
    start, size = info["MPImage2:MPImageStart"], info["MPImage2:MPImageLength"]
    data = path.read_bytes()
    assert data[start:start + 2] == b"\xff\xd8"
    return data[start:start + size]


def _hdr_boost(data: bytes, sdr: np.ndarray) -> np.ndarray:
    """HDR over SDR luminance (linear) as libultrahdr renders the file at its full headroom."""
    imagecodecs = pytest.importorskip("imagecodecs")
    if not getattr(getattr(imagecodecs, "ULTRAHDR", None), "available", False):
        pytest.skip("imagecodecs was built without libultrahdr")
    hdr = imagecodecs.ultrahdr_decode(data).astype(np.float32)[..., :3]
    linear = np.where(sdr <= 0.04045, sdr / 12.92, ((sdr + 0.055) / 1.055) ** 2.4)
    return hdr.mean(axis=2) / np.maximum(linear.mean(axis=2), 1e-4)


@pytest.mark.samples
def test_jpeg_becomes_ultra_hdr_around_the_unchanged_sdr_jpeg(tmp_path, apple):
    pixels, meta, gain_map = apple
    hdr, sdr = _exported_pair(tmp_path, pixels, meta, gain_map, "jpeg")
    assert hdr.hdr and hdr.skipped == []
    data = hdr.path.read_bytes()
    plain = sdr.path.read_bytes()
    assert np.array_equal(_decoded(hdr.path), _decoded(sdr.path))
    # Byte level: the SDR JPEG plus two APP2 segments (ISO version, MPF) and the gain-map image behind it.
    gain_map_jpeg = _mpf_gain_map(hdr.path)
    assert data.endswith(gain_map_jpeg) and len(data) - len(gain_map_jpeg) - len(plain) < 2048

    info = exiftool(hdr.path, "XMP-hdrgm:all", "XMP-Container:all", struct=True)
    assert str(info["XMP-hdrgm:Version"]) == "1.0"
    items = [entry["Item"] for entry in first(info, "Directory")]
    assert [(i["Semantic"], i["Mime"]) for i in items] == [("Primary", "image/jpeg"), ("GainMap", "image/jpeg")]
    assert int(items[1]["Length"]) == len(gain_map_jpeg)
    gm_info = exiftool_embedded_hdrgm(hdr.path)
    assert str(gm_info["Version"]) == "1.0" and gm_info["GainMapMax"] == pytest.approx(1.749733)
    assert gm_info["GainMapMin"] == pytest.approx(-0.734375) and gm_info["Gamma"] == pytest.approx(1.112305)
    assert gm_info["HDRCapacityMax"] == pytest.approx(1.749733) and gm_info["BaseRenditionIsHDR"] in (False, "False")
    with Image.open(io.BytesIO(gain_map_jpeg)) as im:
        _close(np.asarray(im), gain_map.pixels, mean=1.5, worst=12)
    iso_segment = iso21496.URN + iso21496.encode(APPLE_ISO)
    assert iso_segment in gain_map_jpeg
    assert iso21496.URN + iso21496.VERSION_ONLY in data[:len(data) - len(gain_map_jpeg)]

    # libultrahdr renders it as the parameters say: boost = 2^(min + (max - min) g^(1/gamma)) at full headroom.
    boost = _hdr_boost(data, _decoded(sdr.path).astype(np.float32) / 255)
    up = np.asarray(Image.fromarray(gain_map.pixels).resize(boost.shape[::-1], Image.BILINEAR)) / 255.0
    lit = _decoded(sdr.path).mean(axis=2) > 60          # away from the offsets' and JPEG's effect in shadows
    expected = 2 ** (-0.734375 + (1.749733 + 0.734375) * up ** (1 / 1.112305))
    ratio = boost[lit] / expected[lit]
    assert expected[lit].max() > 2.5 and np.median(ratio) == pytest.approx(1.0, abs=0.02)
    assert np.percentile(np.abs(np.log2(ratio)), 90) < 0.06


def exiftool_embedded_hdrgm(path) -> dict:
    """The hdrgm fields of the embedded gain-map image: exiftool -ee reports them as a second document (-G3)."""
    import json
    import shutil
    import subprocess

    exiftool(path, "FileType")             # skips the test when exiftool is missing
    out = subprocess.run([shutil.which("exiftool"), "-j", "-ee", "-G3", "-n", "-XMP-hdrgm:all", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    docs: dict[str, dict] = {}
    for key, value in json.loads(out)[0].items():
        if ":" in key:
            doc, name = key.split(":", 1)
            docs.setdefault(doc, {})[name] = value
    [gain_map] = [d for d in docs.values() if "GainMapMax" in d]
    return gain_map


def test_three_channel_ultra_hdr_map_round_trips_through_libultrahdr(tmp_path):
    pixels = synth.pattern_frames(1, (640, 480))[0]
    gain_map = _pixel_gain_map(pixels, channels=3)
    hdr, sdr = _exported_pair(tmp_path, pixels, StillMetadata(), gain_map, "jpeg")
    data = hdr.path.read_bytes()
    gain_map_jpeg = _mpf_gain_map(hdr.path)
    assert b"<hdrgm:GainMapMax><rdf:Seq><rdf:li>2.0</rdf:li><rdf:li>1.5</rdf:li>" in gain_map_jpeg
    with Image.open(io.BytesIO(gain_map_jpeg)) as im:
        assert im.mode == "RGB"
        _close(np.asarray(im), gain_map.pixels, mean=1.5, worst=16)
    boost = _hdr_boost(data, _decoded(sdr.path).astype(np.float32) / 255)
    assert np.isfinite(boost).all() and boost.max() > 1.5


def test_apple_map_without_iso_parameters_becomes_exact_ultra_hdr():
    """Apple's curve 1 + (H - 1) g^2.2 re-encoded as hdrgm stops: within a level's rounding everywhere."""
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    form = gainmap_forms.iso_form(GainMap(levels, "apple", APPLE_HEADROOM, apple=APPLE_INFO))
    stops = math.log2(APPLE_HEADROOM)
    assert form.params.gain_max == (stops,) and form.params.gamma == (1.0,) and form.params.offset_sdr == (0.0,)
    apple_gain = np.log2(1 + (APPLE_HEADROOM - 1) * (levels / 255.0) ** 2.2)
    hdrgm_gain = form.pixels / 255.0 * stops
    assert np.abs(apple_gain - hdrgm_gain).max() <= 0.5 / 255 * stops + 1e-9
    back = gainmap_forms.apple_form(GainMap(form.pixels, "ultrahdr", APPLE_HEADROOM, iso=form.params))
    assert back.headroom == pytest.approx(APPLE_HEADROOM)
    back_gain = np.log2(1 + (APPLE_HEADROOM - 1) * (back.pixels / 255.0) ** 2.2)
    assert np.abs(back_gain - apple_gain).max() < 0.02          # two 8-bit requantisations, in stops


# ------------------------------------------------------------------------------------------------ write-back


def _directory(path) -> list[dict]:
    info = exiftool(path, "XMP:all", extract_embedded=True, struct=True)
    return [entry["Item"] for entry in first(info, "Directory") or []]


@pytest.mark.parametrize("writer", ["google", "samsung"])
def test_motion_photo_jpeg_lists_primary_gain_map_and_clip(tmp_path, writer):
    frames = synth.pattern_frames(20, (192, 144))
    (tmp_path / "src").mkdir()
    if writer == "google":
        source = synth.write_motion_photo_jpeg(tmp_path / "src" / "PXL_1.MP.jpg", frames=frames, key_index=10)
    else:
        source = synth.write_samsung_motion_photo_jpeg(tmp_path / "src" / "20240101_1.jpg", frames=frames)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with open_live_photo(source) as lp:
        clip = source.read_bytes()[lp.video_range.offset:lp.video_range.offset + lp.video_range.length]
        pixels = lp.still.pixels
        frame, kind = 4, lp.format
        frame_time = float(lp.clip.times[frame])
        gain_map = _pixel_gain_map(pixels)
        result = write_back_result(lp, pixels, frame, out_dir, ExportOptions(format="jpeg"), gain_map=gain_map)
    [out] = result.paths
    data = out.read_bytes()

    with open_live_photo(out) as back:             # the app's reader still finds the clip and the key time
        assert back.format == kind and back.key_frame_index == frame
        assert data[back.video_range.offset:back.video_range.offset + back.video_range.length] == clip
        assert back.clip.times[frame] == pytest.approx(frame_time)
        assert np.array_equal(back.still.pixels, _decoded(out))

    items = _directory(out)
    assert [i["Semantic"] for i in items] == ["Primary", "GainMap", "MotionPhoto"]
    # Walked back from the end of the file, as Motion Photo readers do: the video, then the gain-map JPEG.
    video_start = len(data) - int(items[2]["Length"])
    assert data[video_start:video_start + int(items[2]["Length"]) - int(items[2]["Padding"])] == clip
    gain_map_start = video_start - int(items[1]["Length"])
    gain_map_jpeg = _mpf_gain_map(out)
    assert data[gain_map_start:gain_map_start + len(gain_map_jpeg)] == gain_map_jpeg
    info = exiftool(out, "MPF:all", "MotionPhotoPresentationTimestampUs", "XMP-hdrgm:Version")
    assert info["MPF0:NumberOfImages"] == 2 and info["MPImage2:MPImageStart"] == gain_map_start
    assert first(info, "MotionPhotoPresentationTimestampUs") == round(frame_time * 1e6)
    assert str(info["XMP-hdrgm:Version"]) == "1.0"
    assert _hdr_boost(data, _decoded(out).astype(np.float32) / 255).max() > 2.0


def test_motion_photo_heic_keeps_the_gain_map_inside_the_heic(tmp_path):
    frames = synth.pattern_frames(16, (192, 144))
    (tmp_path / "src").mkdir()
    source = synth.write_samsung_motion_photo_heic(tmp_path / "src" / "20240101_2.heic", frames=frames)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with open_live_photo(source) as lp:
        clip = source.read_bytes()[lp.video_range.offset:lp.video_range.offset + lp.video_range.length]
        gain_map = _pixel_gain_map(lp.still.pixels)
        [out] = write_back(lp, lp.still.pixels, 3, out_dir, ExportOptions(format="heic"), gain_map=gain_map)
    with open_live_photo(out) as back:
        assert back.format == LiveFormat.SAMSUNG_MOTION_PHOTO and back.key_frame_index == 3
        assert out.read_bytes()[back.video_range.offset:back.video_range.offset + back.video_range.length] == clip
    assert _aux_map(out).shape == gain_map.pixels.shape
    items = _directory(out)
    assert [i["Semantic"] for i in items] == ["Primary", "MotionPhoto"]
    import pillow_heif
    assert pillow_heif.open_heif(out).size == (frames[0].shape[1] * 2, frames[0].shape[0] * 2)


@pytest.mark.samples
def test_apple_write_back_keeps_hdr_and_the_pairing(tmp_path, apple):
    pixels, _, gain_map = apple
    with open_live_photo(sample(APPLE_HEIC)) as lp:
        result = write_back_result(lp, pixels, 12, tmp_path, gain_map=gain_map)
    still, mov = result.paths
    with open_live_photo(still) as back:
        assert back.video_path == mov and back.content_identifier == result.content_identifier
        assert back.key_frame_index == 12
    info = exiftool(still, "AuxiliaryImageType", "HDRHeadroom", "MediaGroupUUID")
    assert info["QuickTime:AuxiliaryImageType"] == APPLE_AUX_URN
    assert info["Apple:HDRHeadroom"] == pytest.approx(1.00999999)
    assert info["Apple:MediaGroupUUID"] == result.content_identifier
    _close(_aux_map(still), gain_map.pixels)


# ------------------------------------------------------------------------------------------------ pieces


def test_maker_note_headroom_is_replaced_in_place_and_kept_when_equal():
    exif = synth.build_exif(maker_note=synth.apple_maker_note("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"))
    unchanged, notes = apple_hdr.with_maker_note_values(exif, APPLE_INFO)
    assert unchanged == exif and notes and all("not in the key photo" in n for n in notes)


@pytest.mark.samples
def test_maker_note_values_of_a_new_map_are_written(tmp_path):
    from livemoments_app.core.export import exif_edit

    with open_live_photo(sample(APPLE_HEIC)) as lp:
        source = exif_edit.rebuild(lp.still.exif, 100, 80).data
    same, notes = apple_hdr.with_maker_note_values(source, APPLE_INFO)
    assert same == source and notes == []
    new_info = AppleGainMapInfo(maker_headroom=1.2, maker_gain=0.5)
    edited, notes = apple_hdr.with_maker_note_values(source, new_info)
    assert notes == [] and len(edited) == len(source)
    assert sum(a != b for a, b in zip(edited, source)) <= 16
    path = tmp_path / "x.jpg"
    Image.new("RGB", (100, 80)).save(path, exif=edited)
    info = exiftool(path, "HDRHeadroom", "HDRGain", "MediaGroupUUID")
    assert info["Apple:HDRHeadroom"] == pytest.approx(1.2) and info["Apple:HDRGain"] == pytest.approx(0.5)
    assert info["Apple:MediaGroupUUID"] == "ED2A2552-C906-486E-9DA5-17DABDF672A7"


def test_xmp_directory_and_hdrgm_version_replace_the_sources():
    source = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description rdf:about="" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" '
              b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" hdrgm:Version="1.0" xmp:Rating="3"/></rdf:RDF></x:xmpmeta>')
    items = (xmp_edit.DirectoryItem("image/jpeg", "Primary", 0, 0),
             xmp_edit.DirectoryItem("image/jpeg", "GainMap", 1234, 0))
    packet, problems = xmp_edit.edit(source, directory=items, gain_map_version="1.0")
    assert problems == []
    text = packet.decode()
    assert text.count('hdrgm:Version="1.0"') == 1 and 'xmp:Rating="3"' in text
    assert 'Item:Semantic="GainMap"' in text and 'Item:Length="1234"' in text and "MotionPhoto" not in text
    plain, _ = xmp_edit.edit(source)
    assert b"hdrgm" not in plain           # a source's gain-map claim never survives on its own


def test_gain_map_xmp_is_what_libultrahdr_parses():
    packet = ultrahdr.gain_map_xmp(PIXEL_ISO).decode()
    for attribute in ('hdrgm:Version="1.0"', 'hdrgm:GainMapMin="0.0"', 'hdrgm:GainMapMax="2.0"',
                      'hdrgm:Gamma="1.0"', 'hdrgm:OffsetSDR="0.015625"', 'hdrgm:HDRCapacityMax="2.0"',
                      'hdrgm:BaseRenditionIsHDR="False"'):
        assert attribute in packet


def test_a_map_whose_parameters_cannot_be_written_is_left_out_and_said(tmp_path):
    pixels = synth.pattern_frames(1, (320, 240))[0]
    broken = GainMap(_pixel_gain_map(pixels).pixels, "ultrahdr", 4.0,
                     iso=IsoGainMapParams(gain_min=(0.0,), gain_max=(float("nan"),), capacity_max=2.0))
    result = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="jpeg"), gain_map=broken)
    assert not result.hdr and any("not finite" in s for s in result.skipped)
    assert b"MPF\x00" not in result.path.read_bytes()
    heic = export_still(pixels, StillMetadata(), tmp_path, ExportOptions(format="heic"), gain_map=broken)
    assert not heic.hdr and heic.skipped
