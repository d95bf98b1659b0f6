"""Ultra HDR JPEG test files: a primary JPEG and a gain-map JPEG joined by an MPF index, with the gain map
described by ISO 21496-1 (APP2) and/or Adobe hdrgm XMP, as Pixels and Samsung phones write them (the app's own
writer lives in core/export; this builder exists so the reader is tested against bytes it did not produce)."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

ISO_URN = b"urn:iso:std:iso:ts:21496:-1\x00"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _jpeg(pixels: np.ndarray, quality: int = 95) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def iso_payload(gain_min: float, gain_max: float, gamma: float, alternate_headroom: float, *,
                offset: float = 1 / 64, with_version: bool = False, common_denominator: bool = False) -> bytes:
    """ISO 21496-1 binary metadata for a one-channel map (denominators 10**6, or one shared one)."""
    den = 1_000_000
    head = (b"\x00" if with_version else b"") + struct.pack(">HH", 0, 0)
    if common_denominator:
        return head + bytes([0x08]) + struct.pack(">III", den, 0, round(alternate_headroom * den)) + struct.pack(
            ">iiIii", round(gain_min * den), round(gain_max * den), round(gamma * den), round(offset * den),
            round(offset * den))
    body = struct.pack(">IIII", 0, den, round(alternate_headroom * den), den)
    for value, fmt in ((gain_min, ">i"), (gain_max, ">i"), (gamma, ">I"), (offset, ">i"), (offset, ">i")):
        body += struct.pack(fmt, round(value * den)) + struct.pack(">I", den)
    return head + bytes([0x00]) + body


def hdrgm_xmp(gain_min: float, gain_max: float, gamma: float, capacity_max: float, *, seq: bool = False) -> bytes:
    """An XMP packet with the hdrgm description; ``seq`` writes GainMapMax as a per-channel rdf:Seq."""
    maximum = (f'<hdrgm:GainMapMax><rdf:Seq><rdf:li>{gain_max}</rdf:li><rdf:li>{gain_max}</rdf:li>'
               f'<rdf:li>{gain_max}</rdf:li></rdf:Seq></hdrgm:GainMapMax>') if seq else ""
    attr_max = "" if seq else f' hdrgm:GainMapMax="{gain_max}"'
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" '
            f'hdrgm:GainMapMin="{gain_min}"{attr_max} hdrgm:Gamma="{gamma}" hdrgm:OffsetSDR="0.015625" '
            f'hdrgm:OffsetHDR="0.015625" hdrgm:HDRCapacityMin="0" hdrgm:HDRCapacityMax="{capacity_max}" '
            f'hdrgm:BaseRenditionIsHDR="False">{maximum}</rdf:Description></rdf:RDF></x:xmpmeta>').encode()


def _insert_after_soi(jpeg: bytes, segments: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + segments + jpeg[2:]


def _mpf(primary_size: int, secondary_size: int, secondary_offset: int) -> bytes:
    """APP2 MPF payload (big-endian): version, 2 images, their entries (offsets from the TIFF header)."""
    entries_at = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack(">H", 3)
    ifd += struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
    ifd += struct.pack(">HHII", 0xB001, 4, 1, 2)
    ifd += struct.pack(">HHII", 0xB002, 7, 32, entries_at)
    ifd += struct.pack(">I", 0)
    entries = struct.pack(">IIIHH", 0x030000, primary_size, 0, 0, 0)
    entries += struct.pack(">IIIHH", 0, secondary_size, secondary_offset, 0, 0)
    return b"MPF\x00" + b"MM\x00*" + struct.pack(">I", 8) + ifd + entries


def _directory_xmp(gain_map_length: int) -> bytes:
    """The primary's XMP with a Google Container directory (Primary + GainMap), as Pixels write it."""
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:Container="http://ns.google.com/photos/1.0/container/" '
            'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
            'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0"><Container:Directory><rdf:Seq>'
            '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/>'
            '</rdf:li><rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" '
            f'Item:Mime="image/jpeg" Item:Length="{gain_map_length}"/></rdf:li></rdf:Seq></Container:Directory>'
            '</rdf:Description></rdf:RDF></x:xmpmeta>').encode()


def ultrahdr_jpeg(primary: np.ndarray, gain_map: np.ndarray, *, gain_min: float = 0.0, gain_max: float = 2.0,
                  gamma: float = 1.0, iso: bool = True, hdrgm: bool = True, exif: bytes | None = None,
                  mpf: bool = True, directory: bool = False) -> bytes:
    """primary (RGB uint8) + gain map (grey uint8), both in stored orientation; ``exif`` (TIFF bytes) goes into
    the primary (e.g. with an Orientation); ``directory`` adds the Container directory XMP; without ``mpf`` that
    directory is the only way to the gain map."""
    gm_segments = b""
    if iso:
        gm_segments += _segment(0xE2, ISO_URN + iso_payload(gain_min, gain_max, gamma, gain_max))
    if hdrgm:
        gm_segments += _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + hdrgm_xmp(gain_min, gain_max, gamma,
                                                                                     gain_max))
    secondary = _insert_after_soi(_jpeg(gain_map), gm_segments)
    head = b""
    if exif is not None:
        head += _segment(0xE1, b"Exif\x00\x00" + exif)
    if directory:
        head += _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _directory_xmp(len(secondary)))
    if iso:
        head += _segment(0xE2, ISO_URN + struct.pack(">HH", 0, 0))
    base = _jpeg(primary)
    if not mpf:
        return _insert_after_soi(base, head) + secondary
    placeholder = _segment(0xE2, _mpf(0, 0, 0))
    mpf_at = 2 + len(head) + 4          # the MPF TIFF header: after SOI, the other segments, FF E2 len, "MPF\0"
    primary_size = len(base) + len(head) + len(placeholder)
    real = _segment(0xE2, _mpf(primary_size, len(secondary), primary_size - (mpf_at + 4)))
    return _insert_after_soi(base, head + real) + secondary
