"""The gain map of an Ultra HDR JPEG (Pixel, Samsung, and anything libultrahdr writes): a second JPEG after the
primary, found through the primary's MPF index (APP2 ``MPF``) -- or, without one, through the Google Container
directory's ``GainMap`` item -- and described by ISO 21496-1 metadata in its APP2 segment and/or Adobe's ``hdrgm``
XMP. ISO wins when both are there (it is the newer, binary and exact form).

The map is stored in the primary's stored orientation; the primary's EXIF Orientation turns both upright.
"""

from __future__ import annotations

import io
from xml.etree.ElementTree import Element

import numpy as np

from livemoments_app.core.errors import CorruptFileError
from livemoments_app.core.hdr import iso21496
from livemoments_app.core.hdr.model import IsoGainMapParams
from livemoments_app.core.livephoto import tiff
from livemoments_app.core.livephoto import xmp as xmp_mod
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.gain_map import GainMapRef, headroom_of, orient

MPF_SIG = b"MPF\x00"
TAG_MP_ENTRY = 0xB002
HEADER_BYTES = 256 << 10         # a gain map JPEG's markers (APP segments + tables) lie within its first bytes
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def mpf_images(src: ByteSource, segments: list[xmp_mod.JpegSegment]) -> list[tuple[int, int]]:
    """(absolute offset, length) of every image the primary's MPF index lists after the first."""
    seg = next((s for s in segments if s.marker == 0xE2
                and src.read_upto(s.payload_start, 4) == MPF_SIG), None)
    if seg is None:
        return []
    data = src.read(seg.payload_start + 4, seg.payload_size - 4)
    base = seg.payload_start + 4          # MPF offsets count from its TIFF header
    try:
        endian, first = tiff.tiff_header(data)
        entries, _ = tiff.read_ifd(data, first, endian)
    except (tiff.TiffError, ValueError):
        return []
    entry = entries.get(TAG_MP_ENTRY)
    if entry is None or not entry.value:
        return []
    out = []
    for k in range(1, len(entry.value) // 16):
        _attr, size, offset = (int.from_bytes(entry.value[k * 16 + j:k * 16 + j + 4], "big" if endian == ">"
                                              else "little") for j in (0, 4, 8))
        if size > 0 and offset > 0 and base + offset + size <= src.size:
            out.append((base + offset, size))
    return out


def directory_gain_map(directory: list[dict[str, str]], size: int) -> tuple[int, int] | None:
    """The Container directory's GainMap item as (offset, length): secondary items follow the primary in order,
    the last one ending at the end of the file."""
    if not directory or not any(item.get("Semantic") == "GainMap" for item in directory):
        return None
    end = size
    for item in reversed(directory[1:]):
        try:
            length = int(item.get("Length", "0"))
        except ValueError:
            return None
        start = end - length
        if item.get("Semantic") == "GainMap":
            return (start, length) if length > 0 and start > 0 else None
        end = start
    return None


def _numbers(elem: Element | None, attr: str | None) -> tuple[float, ...] | None:
    """A single value (attribute or element text) or an rdf:Seq of per-channel values."""
    try:
        if attr is not None:
            return (float(attr),)
        if elem is None:
            return None
        items = [li.text for li in elem.iter(f"{{{xmp_mod.NS_RDF}}}li")]
        values = items if items else [elem.text]
        return tuple(float((v or "").strip()) for v in values)
    except ValueError:
        return None


def hdrgm_params(packet: bytes, path=None) -> IsoGainMapParams | None:
    """The ``hdrgm`` description in an XMP packet (the gain map image's), or None without GainMapMax and
    HDRCapacityMax (which the format requires)."""
    root = xmp_mod.parse_packet(packet, path)
    if root is None:
        return None
    found: dict[str, tuple[float, ...] | str] = {}
    for node in root.iter():
        for key, value in node.attrib.items():
            if key.startswith(f"{{{xmp_mod.NS_HDRGM}}}"):
                name = key.split("}", 1)[1]
                found.setdefault(name, value if name == "BaseRenditionIsHDR" else _numbers(None, value))
        if node.tag.startswith(f"{{{xmp_mod.NS_HDRGM}}}"):
            name = node.tag.split("}", 1)[1]
            found.setdefault(name, (node.text or "").strip() if name == "BaseRenditionIsHDR"
                             else _numbers(node, None))
    if not isinstance(found.get("GainMapMax"), tuple) or not isinstance(found.get("HDRCapacityMax"), tuple):
        return None

    def get(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        value = found.get(name)
        return value if isinstance(value, tuple) and value else default

    gamma = get("Gamma", (1.0,))
    if any(g <= 0 for g in gamma):
        return None
    return IsoGainMapParams(gain_min=get("GainMapMin", (0.0,)), gain_max=get("GainMapMax", (1.0,)), gamma=gamma,
                            offset_sdr=get("OffsetSDR", (1 / 64,)), offset_hdr=get("OffsetHDR", (1 / 64,)),
                            capacity_min=get("HDRCapacityMin", (0.0,))[0],
                            capacity_max=get("HDRCapacityMax", (1.0,))[0],
                            base_is_hdr=str(found.get("BaseRenditionIsHDR", "")).lower() == "true")


def _describe_secondary(src: ByteSource, offset: int, length: int):
    """(params, raw blobs, (width, height, components)) of the JPEG at ``offset``, or None if it is no gain map."""
    head = ByteSource(src.read_upto(offset, min(length, HEADER_BYTES)), path=src.path)
    try:
        segments = xmp_mod.jpeg_segments(head)
    except CorruptFileError:
        return None
    iso = hdrgm = None
    raw: dict[str, bytes] = {}
    shape = None
    for seg in segments:
        if seg.marker == 0xE2:
            data = head.read(seg.payload_start, seg.payload_size)
            if data.startswith(iso21496.URN):
                try:
                    iso = iso21496.parse(data[len(iso21496.URN):], with_version=False)
                except iso21496.IsoMetadataError:
                    iso = None
                if iso is not None:
                    raw["iso21496"] = data[len(iso21496.URN):]
        elif seg.marker == 0xE1:
            data = head.read(seg.payload_start, seg.payload_size)
            if data.startswith(xmp_mod.XMP_STANDARD_SIG) and xmp_mod.NS_HDRGM.encode() in data:
                packet = data[len(xmp_mod.XMP_STANDARD_SIG):]
                hdrgm = hdrgm_params(packet, src.path)
                if hdrgm is not None:
                    raw["hdrgm_xmp"] = packet
        elif seg.marker in _SOF and seg.payload_size >= 6:
            data = head.read(seg.payload_start, 6)
            shape = (int.from_bytes(data[3:5], "big"), int.from_bytes(data[1:3], "big"), data[5])
    params = iso or hdrgm
    if params is None or shape is None or shape[0] == 0 or shape[1] == 0:
        return None
    return params, raw, shape


def find(src: ByteSource, segments: list[xmp_mod.JpegSegment], exif: bytes | None,
         directory: list[dict[str, str]]) -> GainMapRef | None:
    """The gain map of the JPEG in ``src``, or None."""
    candidates = mpf_images(src, segments)
    from_directory = directory_gain_map(directory, src.size)
    if from_directory is not None and from_directory not in candidates:
        candidates.append(from_directory)
    for offset, length in candidates:
        if src.read_upto(offset, 3) != b"\xff\xd8\xff":
            continue
        described = _describe_secondary(src, offset, length)
        if described is None:
            continue
        params, raw, (width, height, components) = described
        if params.base_is_hdr:
            continue            # an HDR base with an SDR alternate: not the form this app restores
        orientation = tiff.orientation(exif)
        size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        channels = 3 if params.channels == 3 and components == 3 else 1
        headroom = headroom_of(params, None) or 1.0
        return GainMapRef("ultrahdr", size, headroom, src.path, decode, (offset, length, orientation), params, None,
                          raw, channels)
    return None


def decode(ref: GainMapRef) -> np.ndarray:
    from PIL import Image

    offset, length, orientation = ref.locator
    with ByteSource.open(ref.path) as src:
        data = src.read(offset, min(length, src.size - offset))
    with Image.open(io.BytesIO(data)) as image:
        mode = "RGB" if ref.channels == 3 else "L"
        image.draft(mode, image.size)       # a grey map stored as YCbCr: decode the luma plane alone
        pixels = np.asarray(image.convert(mode))
    return orient(pixels, orientation)
