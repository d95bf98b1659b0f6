"""Add a gain map to an encoded HEIC, laid out as an iPhone lays it out.

* Apple: a hidden HEVC image item (monochrome 8-bit, coded by the same encoder as the picture) with ``hvcC``,
  ``ispe``, ``pixi``, ``colr`` and an essential ``auxC`` property naming ``urn:com:apple:photo:2020:aux:hdrgainmap``;
  an ``auxl`` reference from it to the primary item; its own XMP item (HDRGainMapVersion, HDRGainMapHeadroom)
  attached with ``cdsc``.
* ISO 21496-1 (where the map has those parameters): a ``tmap`` derived item over [primary, gain map] whose payload
  is the binary metadata, the primary's ``ispe``, a ``pixi`` for the HDR rendition (three 10-bit channels) and,
  when the key photo's ``tmap`` had one, its ``colr`` ICC profile (the HDR rendition's colour space: Display P3
  with PQ on iPhones), an ``altr`` entity group [tmap, primary] (a reader that knows
  ``tmap`` shows the HDR rendition, any other the primary), the ``tmap`` brand, and the primary's EXIF/XMP items
  describing the ``tmap`` too. When the map's pixels are the Apple image's (iPhone maps), both forms share that one
  image item, as iOS 18 writes them.

The primary item, its properties and its coded bytes are not touched.
"""

from __future__ import annotations

import struct

import numpy as np

from livemoments_app.core.export import apple_hdr
from livemoments_app.core.export.bmff_write import box, full_box
from livemoments_app.core.export.gainmap_forms import AppleForm, IsoForm
from livemoments_app.core.export.heif_write import HeifFile
from livemoments_app.core.hdr import iso21496
from livemoments_app.core.hdr.model import APPLE_AUX_URN
from livemoments_app.core.livephoto import heif

# Properties of the encoder's own file that describe a picture's placement, not its coding: never copied. Its
# 'clap' stays: for an odd width or height the encoder codes one padding row/column and crops it with 'clap'
# ('ispe' names the padded size), and without it a 76 x 101 map read back as 76 x 102.
_PLACEMENT = {b"irot", b"imir"}
# iPhones mark their gain map's colour as unspecified (primaries, transfer, matrix 2), full range: its samples are
# gains in Apple's own encoding, not colours; the encoder's nclx would call them sRGB.
_APPLE_MAP_COLOUR = box("colr", b"nclx" + struct.pack(">HHHB", 2, 2, 2, 0x80))
# The HDR rendition a 'tmap' reader reconstructs: three channels of 10 bits, as iPhones state it.
_TMAP_PIXI = full_box("pixi", 0, 0, bytes([3, 10, 10, 10]))


def _coded_image(heic: bytes) -> tuple[bytes, list[tuple[bytes, bool]]]:
    """The primary item's coded bytes and (property box, essential) list of a one-image HEIC."""
    single = HeifFile.parse(heic)
    item = single.items[single.primary]
    if item.type != "hvc1":
        raise ValueError(f"the gain map was coded as a '{item.type}' item, not a single HEVC image")
    props = [(single.properties[index - 1], essential) for index, essential in item.properties
             if single.properties[index - 1][4:8] not in _PLACEMENT]
    return item.data, props


def _shared(apple: AppleForm | None, iso: IsoForm | None) -> bool:
    """Both forms describe the same pixels (an iPhone map): one image item serves both."""
    if apple is None or iso is None:
        return False
    a, b = apple.pixels, iso.pixels
    return a is b or (a.shape == b.shape and bool(np.array_equal(a, b)))


def images(apple: AppleForm | None, iso: IsoForm | None) -> list[np.ndarray]:
    """The gain-map pictures :func:`add_gain_map` needs coded, in its order: Apple's, then the ISO form's unless
    it shares Apple's."""
    out = [apple.pixels] if apple is not None else []
    if iso is not None and not _shared(apple, iso):
        out.append(iso.pixels)
    return out


def add_gain_map(heic: bytes, apple: AppleForm | None, iso: IsoForm | None, coded: list[bytes]) -> bytes:
    """``heic`` with the gain map added in Apple's form and/or the ISO 21496-1 form; ``coded``: the pictures of
    :func:`images`, each coded as a one-image HEIC by the project's encoder."""
    if apple is None and iso is None:
        return heic
    shared = _shared(apple, iso)           # compares the two maps' pixels: once
    wanted = (apple is not None) + (iso is not None and not shared)
    if len(coded) != wanted:
        raise ValueError(f"{len(coded)} coded gain-map images for the {wanted} the HEIC needs")
    coded_images = iter(coded)
    out = HeifFile.parse(heic)
    primary = out.primary
    map_item = None
    if apple is not None:
        data, props = _coded_image(next(coded_images))
        props = [(p, essential) for p, essential in props if p[4:8] != b"colr"] + [(_APPLE_MAP_COLOUR, False)]
        aux = full_box("auxC", 0, 0, APPLE_AUX_URN.encode("ascii") + b"\0")
        map_item = out.add_item("hvc1", data, properties=props + [(aux, True)], hidden=True)
        out.add_reference("auxl", map_item.id, [primary])
        headroom = apple.info.xmp_headroom or apple.headroom
        xmp = out.add_item("mime", apple_hdr.gain_map_xmp(headroom, apple.info.version), hidden=True,
                           content_type=heif.XMP_MIME)
        out.add_reference("cdsc", xmp.id, [map_item.id])
    if iso is not None:
        if not shared:
            data, props = _coded_image(next(coded_images))
            map_item = out.add_item("hvc1", data, properties=props, hidden=True)
        ispe = out.item_property(primary, "ispe")
        props = [(ispe, False)] if ispe is not None else []
        if iso.alternate_icc:
            props.append((box("colr", b"prof" + iso.alternate_icc), True))
        tmap = out.add_item("tmap", iso21496.tmap_payload(iso.params), properties=props + [(_TMAP_PIXI, False)])
        out.add_reference("dimg", tmap.id, [primary, map_item.id])
        out.add_group("altr", [tmap.id, primary])
        out.add_brand(b"tmap")
        # The primary's EXIF/XMP describe the HDR rendition too (iOS links its Exif item to both).
        out.references = [(kind, src, to + [tmap.id] if kind == "cdsc" and primary in to else to)
                          for kind, src, to in out.references]
    return out.to_bytes()
