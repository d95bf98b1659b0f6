"""The gain map of a HEIC: Apple's auxiliary image and/or an ISO 21496-1 'tmap' item, from the item table.

An iPhone (iOS 18) writes both over the same pixels: the gain map is an auxiliary image of the primary ('auxl'
reference, 'auxC' = ``urn:com:apple:photo:2020:aux:hdrgainmap``, with its own XMP item giving
HDRGainMap:HDRGainMapVersion and HDRGainMapHeadroom), and a 'tmap' derived image item takes the primary and that
same gain map as its inputs ('dimg' [primary, gain map]), its payload the ISO 21496-1 parameters; a 'altr' group
offers the 'tmap' image first and the SDR primary as the fallback. The 'tmap' item is that "extra 10-bit item":
it has no coded data of its own, its 'pixi' describes the HDR rendition a reader reconstructs (3 x 10 bits).

Apple's map is decoded by libheif (pillow-heif), which applies the item's own rotation like the primary's. A map
that is only a 'tmap' input (no Apple auxiliary type) is not exposed by pillow-heif: it is decoded here from its
HEVC item(s) with FFmpeg (a grid is decoded tile by tile) and turned with its own 'irot'/'imir'.
"""

from __future__ import annotations

import os

import numpy as np

from livemoments_app.core.hdr.apple import XMP_NS as APPLE_XMP_NS
from livemoments_app.core.hdr import iso21496
from livemoments_app.core.hdr.model import APPLE_AUX_URN, AppleGainMapInfo
from livemoments_app.core.livephoto import heif
from livemoments_app.core.livephoto import xmp as xmp_mod
from livemoments_app.core.livephoto.apple import AppleMakerNote
from livemoments_app.core.livephoto.bmff import ByteSource
from livemoments_app.core.livephoto.gain_map import GainMapRef, headroom_of

MAX_TILES = 1024


def _aux_type(props: list[heif.Property]) -> str | None:
    aux = next((p for p in props if p.type == "auxC" and len(p.data) > 4), None)
    if aux is None:
        return None
    return aux.data[4:].split(b"\0", 1)[0].decode("latin-1", "replace")


def _upright_size(props: list[heif.Property]) -> tuple[int, int] | None:
    size = heif.image_size(props)
    if size is None:
        return None
    turns = sum(n for kind, n in heif.transforms(props) if kind == "irot")
    return (size[1], size[0]) if turns % 2 else size


def _apple_xmp(src: ByteSource, items: dict[int, heif.HeifItem], gain_id: int) -> tuple[bytes | None, dict]:
    for item in items.values():
        if item.type == "mime" and item.content_type.split(";")[0].strip() == heif.XMP_MIME and item.extents \
                and gain_id in item.describes:
            packet = heif.read_item(src, item, 1 << 20)
            props = xmp_mod.parse_xmp([packet], src.path).props
            return packet, props
    return None, {}


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and np.isfinite(value) else None


def find(src: ByteSource, items: dict[int, heif.HeifItem], primary: int | None, note: AppleMakerNote | None
         ) -> GainMapRef | None:
    """The primary image's gain map, or None when the file has none (or one this reader cannot use). ``note``: the
    primary's Apple maker note, whose HDRHeadroom/HDRGain give the headroom of older iPhones' maps."""
    if primary is None or not items:
        return None
    props = heif.item_properties(src)
    apple_id = next((i for i, item in items.items() if primary in item.refs.get("auxl", ())
                     and _aux_type(props.get(i, [])) == APPLE_AUX_URN), None)
    tmap = next((item for item in items.values() if item.type == "tmap"
                 and len(item.refs.get("dimg", ())) == 2 and item.refs["dimg"][0] == primary and item.extents), None)
    iso, raw = None, {}
    if tmap is not None:
        payload = heif.read_item(src, tmap, 4096)
        try:
            iso = iso21496.parse(payload, with_version=True)
        except iso21496.IsoMetadataError:
            iso = None          # an ISO form we cannot read: Apple's own form may still be there
        if iso is not None:
            raw["tmap"] = payload
            icc = next((p.data[4:] for p in props.get(tmap.item_id, []) if p.type == "colr" and p.data[:4] == b"prof"),
                       None)
            if icc:
                raw["tmap_icc"] = icc
    gain_id = apple_id if apple_id is not None else (tmap.refs["dimg"][1] if iso is not None else None)
    if gain_id is None or gain_id not in items:
        return None
    size = _upright_size(props.get(gain_id, []))
    if size is None:
        return None
    info = None
    if apple_id is not None:
        packet, xmp = _apple_xmp(src, items, apple_id)
        if packet is not None:
            raw["apple_xmp"] = packet
        version = _number(xmp.get((APPLE_XMP_NS, "HDRGainMapVersion")))
        info = AppleGainMapInfo(version=int(version) if version is not None else None,
                                xmp_headroom=_number(xmp.get((APPLE_XMP_NS, "HDRGainMapHeadroom"))),
                                maker_headroom=note.hdr_headroom if note else None,
                                maker_gain=note.hdr_gain if note else None)
    headroom = headroom_of(iso, info)
    if headroom is None:
        return None             # an Apple map without any headroom value cannot be applied
    pixi = next((p.data for p in props.get(gain_id, []) if p.type == "pixi" and len(p.data) >= 5), None)
    channels = 3 if pixi is not None and pixi[4] == 3 else 1
    if apple_id is not None:
        return GainMapRef("apple", size, headroom, src.path, decode_aux, (apple_id,), iso, info, raw, 1)
    return GainMapRef("iso21496", size, headroom, src.path, decode_item, (gain_id,), iso, None, raw, channels)


# ------------------------------------------------------------------------------------------------ decoders


def decode_aux(ref: GainMapRef) -> np.ndarray:
    """Apple's auxiliary gain map through libheif (upright: libheif applies its rotation)."""
    import pillow_heif

    heif_file = pillow_heif.open_heif(os.fspath(ref.path), convert_hdr_to_8bit=True)
    pixels = np.asarray(heif_file.get_aux_image(ref.locator[0]))
    return pixels if pixels.ndim == 2 else pixels[..., 0]


def _hvcc_parameter_sets(hvcc: bytes) -> tuple[bytes, int]:
    """Annex-B VPS/SPS/PPS of an 'hvcC' record, and its NAL length size."""
    if len(hvcc) < 23:
        raise ValueError("the gain map's 'hvcC' is too short")
    length_size = (hvcc[21] & 3) + 1
    pos, out = 23, bytearray()
    for _ in range(hvcc[22]):
        if pos + 3 > len(hvcc):
            break
        count = int.from_bytes(hvcc[pos + 1:pos + 3], "big")
        pos += 3
        for _ in range(count):
            size = int.from_bytes(hvcc[pos:pos + 2], "big")
            out += b"\0\0\0\1" + hvcc[pos + 2:pos + 2 + size]
            pos += 2 + size
    return bytes(out), length_size


def _annex_b(data: bytes, length_size: int) -> bytes:
    out, pos = bytearray(), 0
    while pos + length_size <= len(data):
        size = int.from_bytes(data[pos:pos + length_size], "big")
        out += b"\0\0\0\1" + data[pos + length_size:pos + length_size + size]
        pos += length_size + size
    return bytes(out)


def _decode_hevc_item(src: ByteSource, item: heif.HeifItem, props: list[heif.Property], rgb: bool) -> np.ndarray:
    import av

    hvcc = next((p.data for p in props if p.type == "hvcC"), None)
    if hvcc is None:
        raise ValueError(f"item {item.item_id} has no 'hvcC'")
    headers, length_size = _hvcc_parameter_sets(hvcc)
    codec = av.CodecContext.create("hevc", "r")
    frames = codec.decode(av.Packet(headers + _annex_b(heif.read_item(src, item), length_size))) + codec.decode(None)
    if not frames:
        raise ValueError(f"item {item.item_id} decodes to no picture")
    frame = frames[0]
    return frame.to_ndarray(format="rgb24") if rgb else frame.to_ndarray(format="gray")


def _transform(pixels: np.ndarray, props: list[heif.Property]) -> np.ndarray:
    for kind, value in heif.transforms(props):
        if kind == "irot":
            pixels = np.rot90(pixels, value)          # anticlockwise quarter turns, as 'irot' counts them
        else:
            pixels = pixels[:, ::-1] if value == 0 else pixels[::-1]
    return np.ascontiguousarray(pixels)


def decode_item(ref: GainMapRef) -> np.ndarray:
    """A gain map that is a 'tmap' input: its HEVC item (or grid of items) decoded with FFmpeg, then turned."""
    with ByteSource.open(ref.path) as src:
        items = heif.items(src)
        props = heif.item_properties(src)
        item = items[ref.locator[0]]
        own = props.get(item.item_id, [])
        rgb = ref.channels == 3
        if item.type == "grid":
            pixels = _decode_grid(src, items, props, item, rgb)
        elif item.type == "hvc1":
            pixels = _decode_hevc_item(src, item, own, rgb)
        else:
            raise ValueError(f"gain map items of type {item.type!r} are not supported")
    return _transform(pixels, own)


def _decode_grid(src: ByteSource, items, props, grid: heif.HeifItem, rgb: bool) -> np.ndarray:
    data = heif.read_item(src, grid, 64)
    if len(data) < 8:
        raise ValueError("the gain map's 'grid' is too short")
    rows, cols = data[2] + 1, data[3] + 1
    wide = data[1] & 1
    width = int.from_bytes(data[4:8], "big") if wide else int.from_bytes(data[4:6], "big")
    height = int.from_bytes(data[8:12], "big") if wide else int.from_bytes(data[6:8], "big")
    tiles = grid.refs.get("dimg", [])
    if len(tiles) != rows * cols or rows * cols > MAX_TILES:
        raise ValueError(f"the gain map's grid has {len(tiles)} tiles for {rows}x{cols}")
    decoded = [_decode_hevc_item(src, items[t], props.get(t, []), rgb) for t in tiles]
    th, tw = decoded[0].shape[:2]
    canvas = np.zeros((rows * th, cols * tw) + decoded[0].shape[2:], np.uint8)
    for k, tile in enumerate(decoded):
        r, c = divmod(k, cols)
        canvas[r * th:r * th + tile.shape[0], c * tw:c * tw + tile.shape[1]] = tile[:th, :tw]
    return canvas[:height, :width]
