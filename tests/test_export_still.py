"""Still export on the real samples: EXIF (date, offsets, GPS, make/model, lens), ICC and XMP survive every format;
pixels are upright with Orientation 1; GPS can be stripped; names are free and sources are never overwritten."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import ExportOptions, StillMetadata, export_still
from livemoments_app.core.export import exif_edit, xmp_edit
from tests.conftest import sample
from tests.export_helpers import exiftool, first, reopen_image, small

pytestmark = pytest.mark.samples

APPLE_HEIC = "apple_iphone15pro_IMG_4394.HEIC"
APPLE_JPEG = "apple_iphone6s_0FFBE909.jpeg"
SAMSUNG_HEIC = "samsung_s22_oneui6_motionphoto.heic"
EXTRA_XMP_FIELDS = (b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
                    b'xmp:Rating="4" exif:GPSLatitude="34,43.8527N" ')


@pytest.fixture(scope="module")
def opened():
    from livemoments_app.core.livephoto import open_live_photo

    photos = {}
    for name in (APPLE_HEIC, APPLE_JPEG, SAMSUNG_HEIC):
        lp = open_live_photo(sample(name))
        photos[name] = lp
    yield photos
    for lp in photos.values():
        lp.close()


def _with_extra_xmp(meta: StillMetadata) -> StillMetadata:
    """The sample's metadata plus an XMP rating and an XMP GPS field (the real samples carry no keepable XMP)."""
    base = meta.xmp or (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""/>'
                        b'</rdf:RDF></x:xmpmeta>')
    xmp = base.replace(b'rdf:about=""', b'rdf:about="" ' + EXTRA_XMP_FIELDS, 1)
    return StillMetadata(exif=meta.exif, icc_profile=meta.icc_profile, xmp=xmp, bit_depth=meta.bit_depth,
                         mime=meta.mime, source_paths=meta.source_paths)


def _exif_of(im: Image.Image) -> Image.Exif:
    return im.getexif()


@pytest.mark.parametrize("name", [APPLE_HEIC, APPLE_JPEG, SAMSUNG_HEIC])
@pytest.mark.parametrize("fmt", ["jpeg", "heic", "png"])
def test_metadata_round_trip(opened, tmp_path, name, fmt):
    lp = opened[name]
    meta = _with_extra_xmp(StillMetadata.of(lp))
    pixels = small(lp.still.pixels)
    result = export_still(pixels, meta, tmp_path, ExportOptions(format=fmt))
    assert result.skipped == []
    assert result.path.parent == tmp_path and result.path.stem == f"{lp.still_path.stem}_LM"
    im = reopen_image(result.path)
    assert im.size == (pixels.shape[1], pixels.shape[0])        # upright pixels, no rotation applied by readers
    got = _exif_of(im)
    src = exif_edit.load(lp.still.exif)
    assert got.get(0x0112) == 1
    for tag in (0x010F, 0x0110, 0x0132):                        # Make, Model, DateTime
        assert got.get(tag) == src.get(tag)
    assert str(got.get(0x0131)).startswith("LiveMoments")
    got_exif, src_exif = got.get_ifd(0x8769), src.get_ifd(0x8769)
    for tag in (0x9003, 0x9011, 0xA434, 0x920A):                # DateTimeOriginal, OffsetTimeOriginal, lens, focal
        assert got_exif.get(tag) == src_exif.get(tag)
    assert (got_exif.get(0xA002), got_exif.get(0xA003)) == (pixels.shape[1], pixels.shape[0])
    assert dict(got.get_ifd(0x8825)) == dict(src.get_ifd(0x8825))   # GPS (empty for the Samsung sample)
    if lp.still.icc_profile:
        assert im.info.get("icc_profile") == lp.still.icc_profile
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    xmp = xmp.encode() if isinstance(xmp, str) else xmp
    assert xmp and b'Rating="4"' in xmp and b"GPSLatitude" in xmp
    assert b"MotionPhoto" not in xmp and b"Container" not in xmp  # a plain still has no video behind it
    assert b"HDRGainMap" not in xmp                                 # no gain map is written


def test_exiftool_reads_pairing_key_colour_and_place(opened, tmp_path):
    lp = opened[APPLE_HEIC]
    result = export_still(small(lp.still.pixels), lp, tmp_path)
    assert result.format == "heic" and result.path.name == "apple_iphone15pro_IMG_4394_LM.HEIC"
    info = exiftool(result.path, "MediaGroupUUID", "ProfileDescription", "GPSLatitude", "Orientation",
                    "OffsetTimeOriginal", "LensModel", "Rotation")
    assert first(info, "MediaGroupUUID") == lp.content_identifier
    assert first(info, "ProfileDescription") == "Display P3"
    assert abs(first(info, "GPSLatitude") - 34.7308777) < 1e-5
    assert first(info, "Orientation") == 1
    assert first(info, "OffsetTimeOriginal") == "-05:00"
    assert "iPhone 15 Pro" in first(info, "LensModel")
    assert first(info, "Rotation") in (None, 0)


def test_strip_location_removes_gps_from_exif_and_xmp(opened, tmp_path):
    lp = opened[APPLE_JPEG]
    meta = _with_extra_xmp(StillMetadata.of(lp))
    result = export_still(small(lp.still.pixels), meta, tmp_path, ExportOptions(format="jpeg", strip_location=True))
    im = reopen_image(result.path)
    assert not im.getexif().get_ifd(0x8825)
    assert b"GPS" not in (im.info.get("xmp") or b"")
    assert im.getexif().get_ifd(0x8769).get(0x9003) == "2019:12:29 19:01:15"   # the date stays


def test_orientation_is_normalised_for_a_rotated_jpeg_source(opened, tmp_path):
    lp = opened[APPLE_JPEG]
    assert exif_edit.load(lp.still.exif).get(0x0112) == 6          # the sample is stored sideways
    pixels = small(lp.still.pixels, 16)
    assert pixels.shape[0] > pixels.shape[1]                        # the reader made it upright (portrait)
    for fmt in ("jpeg", "heic"):
        out = export_still(pixels, lp, tmp_path, ExportOptions(format=fmt))
        im = reopen_image(out.path)
        assert im.size == (pixels.shape[1], pixels.shape[0])
        assert im.getexif().get(0x0112) == 1
        diff = np.abs(np.asarray(im.convert("RGB"), dtype=np.int16) - pixels.astype(np.int16)).mean()
        assert diff < 6


def test_free_names_and_the_source_is_never_overwritten(opened, tmp_path):
    lp = opened[APPLE_JPEG]
    pixels = small(lp.still.pixels, 16)
    a = export_still(pixels, lp, tmp_path, ExportOptions(format="jpeg"))
    b = export_still(pixels, lp, tmp_path, ExportOptions(format="jpeg"))
    assert a.path.name == "apple_iphone6s_0FFBE909_LM.jpeg" and b.path.name == "apple_iphone6s_0FFBE909_LM_2.jpeg"
    with pytest.raises(ExportError, match="original"):
        export_still(pixels, lp, lp.still_path, ExportOptions(format="jpeg", overwrite=True))
    named = tmp_path / "mine.jpg"
    export_still(pixels, lp, named)
    with pytest.raises(ExportError, match="already exists"):
        export_still(pixels, lp, named)
    export_still(pixels, lp, named, ExportOptions(overwrite=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["apple_iphone6s_0FFBE909_LM.jpeg",
                                                           "apple_iphone6s_0FFBE909_LM_2.jpeg", "mine.jpg"]


def test_high_bit_depth_is_kept_in_png_and_heic(opened, tmp_path):
    import cv2

    lp = opened[APPLE_HEIC]
    pixels16 = small(lp.still.pixels, 16).astype(np.uint16) * 257 + 100   # values an 8-bit file cannot hold
    png = export_still(pixels16, lp, tmp_path)                            # auto: 16-bit pixels -> PNG
    assert png.format == "png" and png.bit_depth == 16
    back = cv2.imread(str(png.path), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and np.array_equal(back[:, :, ::-1], pixels16)
    assert reopen_image(png.path).info.get("icc_profile") == lp.still.icc_profile
    heic = export_still(pixels16, lp, tmp_path, ExportOptions(format="heic"))
    import pillow_heif
    assert heic.bit_depth == 10 and pillow_heif.open_heif(heic.path, convert_hdr_to_8bit=False).info["bit_depth"] == 10
    jpeg = export_still(pixels16, lp, tmp_path, ExportOptions(format="jpeg"))
    assert jpeg.bit_depth == 8


def test_unreadable_exif_is_reported_not_fatal(tmp_path):
    meta = StillMetadata(exif=b"MM\x00*\x00\x00\x00\x08\xff\xff garbage", mime="image/jpeg")
    result = export_still(np.full((40, 60, 3), 128, np.uint8), meta, tmp_path / "x.jpg")
    assert result.path.exists()
    assert reopen_image(result.path).getexif().get(0x0112) == 1
    assert [s for s in result.skipped if "EXIF" in s]


def test_hostile_xmp_is_left_out_and_reported(tmp_path):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            b'&a;</x:xmpmeta>')
    out, problems = xmp_edit.edit(bomb)
    assert out is None and problems


def test_no_temporary_files_are_left_behind(tmp_path):
    with pytest.raises(ExportError):
        export_still(np.zeros((4, 4), np.uint8), None, tmp_path / "bad.png")
    export_still(np.zeros((8, 8, 3), np.uint8), None, tmp_path / "ok.png")
    assert [p.name for p in tmp_path.iterdir()] == ["ok.png"]


def test_smaller_file_option_makes_a_smaller_jpeg(opened):
    from livemoments_app.core.export import encode

    lp = opened[APPLE_HEIC]
    pixels = small(lp.still.pixels, 4)
    default = encode(pixels, lp, ExportOptions(format="jpeg")).data
    smaller = encode(pixels, lp, ExportOptions(format="jpeg", smaller_file=True)).data
    assert len(smaller) < 0.8 * len(default)
    assert Image.open(io.BytesIO(smaller)).size == (pixels.shape[1], pixels.shape[0])


def test_a_named_file_must_match_the_format(tmp_path):
    with pytest.raises(ExportError, match="format"):
        export_still(np.zeros((8, 8, 3), np.uint8), None, tmp_path / "x.jpg", ExportOptions(format="png"))
    assert export_still(np.zeros((8, 8, 3), np.uint8), None, tmp_path / "x.png").format == "png"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_cancelled_export_leaves_nothing(tmp_path):
    from livemoments_app.core.jobs import CancelToken, Cancelled, Progress

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        export_still(np.zeros((8, 8, 3), np.uint8), None, tmp_path, progress=Progress(token=token))
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_is_an_export_error(tmp_path):
    with pytest.raises(ExportError, match="folder does not exist"):
        export_still(np.zeros((8, 8, 3), np.uint8), None, tmp_path / "missing" / "x.jpg")
    assert list(tmp_path.iterdir()) == []


def test_xmp_orientation_and_dimensions_follow_the_pixels():
    packet = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
              b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:Camera="http://ns.google.com/photos/1.0/camera/" '
              b'tiff:Orientation="6" exif:PixelXDimension="4032" Camera:MicroVideo="1" Camera:MicroVideoOffset="9">'
              b'<exif:PixelYDimension>3024</exif:PixelYDimension></rdf:Description></rdf:RDF></x:xmpmeta>')
    out, problems = xmp_edit.edit(packet, size=(300, 400))
    assert problems == []
    assert b'tiff:Orientation="1"' in out and b'exif:PixelXDimension="300"' in out
    assert b"<exif:PixelYDimension>400</exif:PixelYDimension>" in out
    assert b"MicroVideo" not in out
    assert out.startswith(b"<?xpacket begin=") and out.endswith(b'<?xpacket end="w"?>')


@pytest.mark.parametrize("spelled", ["new/", "new"])
def test_a_new_folder_name_is_created_and_gets_a_free_file_name(tmp_path, spelled):
    source = tmp_path / "IMG_0001.JPG"
    meta = StillMetadata(source_paths=[source])
    result = export_still(np.zeros((8, 8, 3), np.uint8), meta, f"{tmp_path}/{spelled}")
    assert result.path == tmp_path / "new" / "IMG_0001_LM.JPG"
    assert result.path.is_file() and (tmp_path / "new").is_dir()


def test_a_pair_is_written_under_one_free_name_or_not_at_all(tmp_path, monkeypatch):
    """A Live Photo's still and MOV share one free name: a parallel export that takes the MOV's name midway makes
    both move on to the next name, and a failed MOV takes the written still with it."""
    from livemoments_app.core.export import files

    real = files.write_bytes_atomic

    def racing(target, data, *, overwrite):
        if target.name == "IMG_1_LM.MOV":
            target.write_bytes(b"theirs")          # another export took the name meanwhile
        return real(target, data, overwrite=overwrite)

    monkeypatch.setattr(files, "write_bytes_atomic", racing)
    paths = files.write_free(tmp_path, "IMG_1", [(".HEIC", b"still"), (".MOV", b"clip")])
    assert [p.name for p in paths] == ["IMG_1_LM_2.HEIC", "IMG_1_LM_2.MOV"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1_LM.MOV", "IMG_1_LM_2.HEIC", "IMG_1_LM_2.MOV"]
    assert (tmp_path / "IMG_1_LM.MOV").read_bytes() == b"theirs" and paths[1].read_bytes() == b"clip"

    def failing(target, data, *, overwrite):
        if target.suffix == ".MOV":
            raise ExportError("no space left", target)
        return real(target, data, overwrite=overwrite)

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(files, "write_bytes_atomic", failing)
    with pytest.raises(ExportError, match="no space left"):
        files.write_free(out, "IMG_1", [(".HEIC", b"still"), (".MOV", b"clip")])
    assert list(out.iterdir()) == []
