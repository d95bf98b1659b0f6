"""HEIF item table (meta/iinf + iloc + iref + pitm + iprp): find the primary image's Exif and XMP, and the
items and properties around it (an HDR gain map), without decoding anything.

A HEIC holds metadata items for several images (Apple stores the HDR gain map's own XMP); an item's 'cdsc'
reference says which image it describes, so the primary's metadata is the one linked to the 'pitm' item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livemoments_app.core.livephoto import bmff
from livemoments_app.core.livephoto.bmff import Box, ByteSource
from livemoments_app.core.livephoto.tiff import strip_exif_prefix

MAX_ITEMS = 4096
MAX_EXTENTS = 256
XMP_MIME = "application/rdf+xml"


@dataclass
class HeifItem:
    item_id: int
    type: str = ""
    name: str = ""
    content_type: str = ""
    construction_method: int = 0
    extents: list[tuple[int, int]] = field(default_factory=list)   # (absolute offset, length)
    describes: list[int] = field(default_factory=list)   # 'cdsc' targets: the items this metadata is about
    # Every 'iref' reference from this item, by type: 'auxl' (an auxiliary image of), 'dimg' (derived from, in
    # order), 'thmb', 'cdsc' (the same as ``describes``).
    refs: dict[str, list[int]] = field(default_factory=dict)
    hidden: bool = False        # 'infe' flag 1: not meant to be shown on its own (tiles, gain maps, metadata)


def _cstring(cur: bmff._Cursor) -> str:
    rest = cur.data[cur.pos:]
    end = rest.find(b"\0")
    if end < 0:
        cur.pos = len(cur.data)
        return rest.decode("utf-8", "replace")
    cur.pos += end + 1
    return rest[:end].decode("utf-8", "replace")


def _parse_infe(src: ByteSource, box: Box) -> HeifItem:
    cur, version, flags = bmff._full(src, box)
    if version >= 2:
        item_id = cur.u16() if version == 2 else cur.u32()
        cur.u16()
        item_type = cur.take(4).decode("latin-1")
        item = HeifItem(item_id, item_type, _cstring(cur), hidden=bool(flags & 1))
        if item_type == "mime":
            item.content_type = _cstring(cur)
        return item
    item_id = cur.u16()
    cur.u16()
    item = HeifItem(item_id, "", _cstring(cur))
    item.content_type = _cstring(cur)
    return item


def _parse_iloc(src: ByteSource, box: Box, idat: Box | None) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    cur, version, _ = bmff._full(src, box)
    sizes = cur.u8()
    offset_size, length_size = sizes >> 4, sizes & 15
    sizes = cur.u8()
    base_offset_size = sizes >> 4
    index_size = (sizes & 15) if version in (1, 2) else 0
    for s in (offset_size, length_size, base_offset_size, index_size):
        if s not in (0, 4, 8):
            raise src.error(f"'iloc' box uses an invalid field size {s}")
    count = cur.u16() if version < 2 else cur.u32()
    if count > MAX_ITEMS:
        raise src.error(f"'iloc' box claims {count} items")
    out: dict[int, tuple[int, list[tuple[int, int]]]] = {}
    for _ in range(count):
        item_id = cur.u16() if version < 2 else cur.u32()
        method = (cur.u16() & 15) if version in (1, 2) else 0
        cur.u16()  # data_reference_index
        base = cur.uint(base_offset_size)
        n_ext = cur.u16()
        if n_ext > MAX_EXTENTS:
            raise src.error(f"'iloc' item {item_id} claims {n_ext} extents")
        extents = []
        for _ in range(n_ext):
            cur.uint(index_size)
            off, length = cur.uint(offset_size), cur.uint(length_size)
            if method == 1:
                if idat is None:
                    raise src.error(f"item {item_id} lives in an 'idat' box that is missing")
                start = idat.payload_start + base + off
            else:
                start = base + off
            if length == 0:   # "the whole rest of the file / idat"
                length = (idat.end if method == 1 and idat else src.size) - start
            extents.append((start, length))
        out[item_id] = (method, extents)
    return out


def references(src: ByteSource, meta: Box | None = None) -> list[tuple[str, int, list[int]]]:
    """(reference type, from item, to items) of the 'meta' box's 'iref', in file order; version 0 uses 16-bit item
    ids, 1 uses 32-bit."""
    meta = meta or bmff.find(src, "meta")
    box = next((b for b in bmff.children(src, meta) if b.type == "iref"), None) if meta is not None else None
    if box is None:
        return []
    version, _ = bmff.full_box_header(src, box)
    width = 2 if version == 0 else 4
    out = []
    for n, ref in enumerate(bmff.children(src, box)):
        if n >= MAX_ITEMS:
            break
        cur = bmff._Cursor(bmff.payload(src, ref, 1 << 20), src, f"'{ref.type}' reference")
        from_id = cur.uint(width)
        count = cur.u16()
        out.append((ref.type, from_id, [cur.uint(width) for _ in range(min(count, cur.remaining // width))]))
    return out


def primary_item_id(src: ByteSource, meta: Box | None = None) -> int | None:
    """The 'pitm' item (the image a viewer shows), or None when the file does not say."""
    meta = meta or bmff.find(src, "meta")
    if meta is None:
        return None
    pitm = next((b for b in bmff.children(src, meta) if b.type == "pitm"), None)
    if pitm is None:
        return None
    cur, version, _ = bmff._full(src, pitm)
    return cur.u16() if version == 0 else cur.u32()


def items(src: ByteSource, meta: Box | None = None) -> dict[int, HeifItem]:
    """Items of the top-level 'meta' box, with their locations (checked later, at read time) and references."""
    meta = meta or bmff.find(src, "meta")
    if meta is None:
        return {}
    kids = list(bmff.children(src, meta))
    result: dict[int, HeifItem] = {}
    iinf = next((b for b in kids if b.type == "iinf"), None)
    if iinf is not None:
        version, _ = bmff.full_box_header(src, iinf)
        skip = 4 + (2 if version == 0 else 4)
        for n, infe in enumerate(bmff.iter_boxes(src, iinf.payload_start + skip, iinf.end)):
            if n >= MAX_ITEMS:
                break
            if infe.type == "infe":
                item = _parse_infe(src, infe)
                result[item.item_id] = item
    iloc = next((b for b in kids if b.type == "iloc"), None)
    idat = next((b for b in kids if b.type == "idat"), None)
    if iloc is not None:
        for item_id, (method, extents) in _parse_iloc(src, iloc, idat).items():
            item = result.setdefault(item_id, HeifItem(item_id))
            item.construction_method, item.extents = method, extents
    for ref_type, from_id, to_ids in references(src, meta):
        if from_id not in result:
            continue
        result[from_id].refs.setdefault(ref_type, []).extend(to_ids)
        if ref_type == "cdsc":
            result[from_id].describes.extend(to_ids)
    return result


@dataclass(frozen=True)
class Property:
    type: str          # 'ispe', 'irot', 'imir', 'auxC', 'hvcC', 'colr', 'pixi', ...
    data: bytes        # the payload (after the box header)
    essential: bool = False


MAX_PROPERTY_BYTES = 1 << 20


def property_table(src: ByteSource, meta: Box | None = None) -> tuple[list[Box], dict[int, list[tuple[int, bool]]]]:
    """The 'ipco' property boxes in order, and each item's associations from 'ipma' as (1-based index into them,
    essential), in association order (the order transformations apply in)."""
    meta = meta or bmff.find(src, "meta")
    iprp = next((b for b in bmff.children(src, meta) if b.type == "iprp"), None) if meta is not None else None
    if iprp is None:
        return [], {}
    kids = list(bmff.children(src, iprp))
    ipco = next((b for b in kids if b.type == "ipco"), None)
    if ipco is None:
        return [], {}
    boxes = []
    for n, box in enumerate(bmff.children(src, ipco)):
        if n >= MAX_ITEMS:
            break
        boxes.append(box)
    associations: dict[int, list[tuple[int, bool]]] = {}
    for ipma in (b for b in kids if b.type == "ipma"):
        cur, version, flags = bmff._full(src, ipma)
        count = cur.u32()
        if count > MAX_ITEMS:
            raise src.error(f"'ipma' box claims {count} items")
        top = 0x8000 if flags & 1 else 0x80
        for _ in range(count):
            item_id = cur.u16() if version < 1 else cur.u32()
            for _ in range(cur.u8()):
                raw = cur.u16() if flags & 1 else cur.u8()
                index = raw & (top - 1)
                if 0 < index <= len(boxes):     # index 0 means "no property"; others past the end are ignored
                    associations.setdefault(item_id, []).append((index, bool(raw & top)))
    return boxes, associations


def item_properties(src: ByteSource, meta: Box | None = None) -> dict[int, list[Property]]:
    """The properties associated with each item ('iprp': 'ipco' + 'ipma'), in association order (the order
    transformations apply in)."""
    boxes, associations = property_table(src, meta)
    out: dict[int, list[Property]] = {}
    read: dict[int, Property] = {}          # items share properties: each payload is read once
    for item_id, indices in associations.items():
        for index, essential in indices:
            prop = read.get(index)
            if prop is None:
                box = boxes[index - 1]
                data = bmff.payload(src, box) if box.payload_size <= MAX_PROPERTY_BYTES else b""
                prop = read[index] = Property(box.type, data)
            out.setdefault(item_id, []).append(Property(prop.type, prop.data, essential))
    return out


def image_size(props: list[Property]) -> tuple[int, int] | None:
    """(width, height) as stored ('ispe'), before any rotation."""
    ispe = next((p for p in props if p.type == "ispe" and len(p.data) >= 12), None)
    if ispe is None:
        return None
    return int.from_bytes(ispe.data[4:8], "big"), int.from_bytes(ispe.data[8:12], "big")


def transforms(props: list[Property]) -> list[tuple[str, int]]:
    """The image's transformations in the order they apply: ('irot', quarter turns anticlockwise) and ('imir',
    axis: 0 = about a vertical axis, i.e. left-right; 1 = about a horizontal axis, i.e. top-bottom)."""
    out = []
    for p in props:
        if p.type == "irot" and p.data:
            out.append(("irot", p.data[0] & 3))
        elif p.type == "imir" and p.data:
            out.append(("imir", p.data[0] & 1))
    return out


def _about(item: HeifItem, primary: int | None) -> bool:
    """Metadata of the primary image: linked to it, or linked to nothing (then it describes the file)."""
    return primary is None or not item.describes or primary in item.describes


def read_item(src: ByteSource, item: HeifItem, limit: int = 32 << 20) -> bytes:
    if item.construction_method not in (0, 1):
        raise src.error(f"item {item.item_id} uses an unsupported construction method {item.construction_method}")
    total = sum(length for _, length in item.extents)
    if total > limit:
        raise src.error(f"item {item.item_id} is too large ({total} bytes)")
    return b"".join(src.read(off, length) for off, length in item.extents)


def exif_payload(src: ByteSource, all_items: dict[int, HeifItem], primary: int | None = None) -> bytes | None:
    """The EXIF (TIFF header onwards) of the first 'Exif' item about the primary image."""
    for item in all_items.values():
        if item.type != "Exif" or not item.extents or not _about(item, primary):
            continue
        data = read_item(src, item)
        if len(data) < 4:
            return None
        header_offset = int.from_bytes(data[:4], "big")
        body = data[4:]
        # Writers disagree: the offset field may point past 'Exif\0\0' or be 0 while the prefix stays.
        if 0 < header_offset < len(body) and body[header_offset:header_offset + 2] in (b"MM", b"II"):
            return body[header_offset:]
        body = strip_exif_prefix(body)
        for magic in (b"MM\x00*", b"II*\x00"):
            at = body.find(magic, 0, 64)
            if at >= 0:
                return body[at:]
        return None
    return None


def xmp_payloads(src: ByteSource, all_items: dict[int, HeifItem], primary: int | None = None) -> list[bytes]:
    """XMP packets about the primary image (with ``primary=None``: every packet in the file)."""
    return [read_item(src, item, 8 << 20) for item in all_items.values()
            if item.type == "mime" and item.content_type.split(";")[0].strip() == XMP_MIME and item.extents
            and _about(item, primary)]
