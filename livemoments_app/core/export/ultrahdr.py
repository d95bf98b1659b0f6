"""Ultra HDR JPEG: the exported SDR JPEG, unchanged, joined with a gain-map JPEG (Google's Ultra HDR 1.0 layout).

libultrahdr (bundled by imagecodecs) tone-maps an HDR input itself and cannot take an SDR picture of our own, so
the joining is done here, byte for byte as libultrahdr lays it out:

* primary: its own segments (EXIF, ICC, an XMP with ``hdrgm:Version`` and a ``Container:Directory`` listing Primary
  and GainMap, written by xmp_edit), then an APP2 ISO 21496-1 version block and an APP2 MPF index (CIPA DC-007)
  giving both images' sizes and offsets, then the coded picture;
* gain map: SOI, APP1 XMP with the hdrgm parameters, APP2 ISO 21496-1 full metadata, then its coded picture.

Anything after the gain map (a Motion Photo's video) is listed in the XMP directory only; MPF counts the two images.
"""

from __future__ import annotations

import io
import struct

import numpy as np

from livemoments_app.core.errors import ExportError
from livemoments_app.core.export import xmp_edit
from livemoments_app.core.hdr import iso21496
from livemoments_app.core.hdr.model import IsoGainMapParams
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.xmp import NS_HDRGM, XMP_STANDARD_SIG, jpeg_segments

HDRGM_VERSION = "1.0"
GAIN_MAP_QUALITY = 90          # 3 MP iPhone map: 277 kB, mean error 0.004 stops
GAIN_MAP_MIME = "image/jpeg"
_MPF_SIG = b"MPF\x00"
_MP_PRIMARY = 0x030000          # MP entry attribute: Baseline MP Primary Image, JPEG
_MPF_SIZE = len(_MPF_SIG) + 8 + 2 + 3 * 12 + 4 + 2 * 16


def _segment(marker: int, body: bytes) -> bytes:
    if len(body) + 2 > 0xFFFF:
        raise ExportError(f"a JPEG segment cannot hold {len(body)} bytes of gain-map metadata")
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}.0"


def gain_map_xmp(params: IsoGainMapParams) -> bytes:
    """The gain-map image's XMP: hdrgm attributes on one rdf:Description (per-channel values as rdf:Seq)."""
    single = {"GainMapMin": params.gain_min, "GainMapMax": params.gain_max, "Gamma": params.gamma,
              "OffsetSDR": params.offset_sdr, "OffsetHDR": params.offset_hdr}
    attrs = [f'hdrgm:Version="{HDRGM_VERSION}"']
    children = []
    for name, values in single.items():
        if len(set(values)) == 1:
            attrs.append(f'hdrgm:{name}="{_number(values[0])}"')
        else:
            items = "".join(f"<rdf:li>{_number(v)}</rdf:li>" for v in values)
            children.append(f"<hdrgm:{name}><rdf:Seq>{items}</rdf:Seq></hdrgm:{name}>")
    attrs += [f'hdrgm:HDRCapacityMin="{_number(params.capacity_min)}"',
              f'hdrgm:HDRCapacityMax="{_number(params.capacity_max)}"',
              f'hdrgm:BaseRenditionIsHDR="{"True" if params.base_is_hdr else "False"}"']
    body = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:hdrgm="{NS_HDRGM}" {" ".join(attrs)}'
            + (f">{''.join(children)}</rdf:Description>" if children else "/>")
            + "</rdf:RDF></x:xmpmeta>")
    return xmp_edit.wrap(body, padding=0)


def gain_map_jpeg(pixels: np.ndarray, params: IsoGainMapParams, quality: int = GAIN_MAP_QUALITY) -> bytes:
    """The gain-map image: a grey (or RGB, 4:4:4) JPEG with its hdrgm XMP and ISO 21496-1 metadata."""
    from PIL import Image

    mode = "L" if pixels.ndim == 2 else "RGB"
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode).save(out, "JPEG", quality=quality, subsampling=0)
    coded = out.getvalue()
    metadata = (_segment(0xE1, XMP_STANDARD_SIG + gain_map_xmp(params))
                + _segment(0xE2, iso21496.URN + iso21496.encode(params)))
    return coded[:2] + metadata + coded[2:]


def directory_item(gain_map: bytes) -> xmp_edit.DirectoryItem:
    """The primary XMP's directory entry for the gain-map image (listed right after the Primary)."""
    return xmp_edit.DirectoryItem(GAIN_MAP_MIME, "GainMap", len(gain_map), 0)


def _mpf(primary_size: int, gain_map_size: int, gain_map_offset: int) -> bytes:
    """APP2 body: 'MPF\\0' + a big-endian TIFF with the MP index IFD (version, count, two 16-byte entries)."""
    entries_offset = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack(">H", 3)
    ifd += struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
    ifd += struct.pack(">HHII", 0xB001, 4, 1, 2)
    ifd += struct.pack(">HHII", 0xB002, 7, 32, entries_offset)
    ifd += struct.pack(">I", 0)
    entries = struct.pack(">IIIHH", _MP_PRIMARY, primary_size, 0, 0, 0)
    entries += struct.pack(">IIIHH", 0, gain_map_size, gain_map_offset, 0, 0)
    body = _MPF_SIG + b"MM\x00*" + struct.pack(">I", 8) + ifd + entries
    assert len(body) == _MPF_SIZE
    return body


def join(primary: bytes, gain_map: bytes) -> bytes:
    """``primary`` + ``gain_map`` as one Ultra HDR file; the primary's coded picture and metadata are kept as they
    are, and the ISO version block and the MPF index go after its last application segment."""
    src = ByteSource(primary)
    try:
        segments = jpeg_segments(src)
    except Exception as exc:  # noqa: BLE001 - our own encoder's output; any failure is an export failure
        raise ExportError(f"the JPEG to join a gain map to is unreadable ({exc})") from exc
    header = [s for s in segments if 0xE0 <= s.marker <= 0xEF or s.marker == 0xFE]
    at = max((s.end for s in header), default=2)
    iso = _segment(0xE2, iso21496.URN + iso21496.VERSION_ONLY)
    mpf_at = at + len(iso)
    primary_size = len(primary) + len(iso) + 4 + _MPF_SIZE
    # MPF offsets count from the TIFF header inside the MPF segment (marker, length and 'MPF\0' before it).
    gain_map_offset = primary_size - (mpf_at + 4 + len(_MPF_SIG))
    mpf = _segment(0xE2, _mpf(primary_size, len(gain_map), gain_map_offset))
    return primary[:at] + iso + mpf + primary[at:] + gain_map
