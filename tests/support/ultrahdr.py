"""Ultra HDR JPEG test files: a primary JPEG and a gain-map JPEG, with the gain map described by ISO 21496-1 (APP2)
and/or Adobe hdrgm XMP, joined by an MPF index (the app's own joiner, core/export/ultrahdr.join) or found only
through the primary's Container directory -- the variants phones and editors write, which the app's writer (always
both descriptions, always MPF) does not."""

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
    from livemoments_app.core.export.ultrahdr import join

    head = b""
    if exif is not None:
        head += _segment(0xE1, b"Exif\x00\x00" + exif)
    if directory:
        head += _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + _directory_xmp(len(secondary)))
    base = _insert_after_soi(_jpeg(primary), head)
    if mpf:
        return join(base, secondary)        # adds the primary's ISO version block and the MPF index
    if iso:
        base = _insert_after_soi(base, _segment(0xE2, ISO_URN + struct.pack(">HH", 0, 0)))
    return base + secondary
