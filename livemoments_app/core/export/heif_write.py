"""A HEIF file as items, properties and references that can be extended and written again.

The HEIC encoder (pillow-heif/libheif) writes one picture with its metadata but no auxiliary images, so a gain map
is added afterwards: :meth:`HeifFile.parse` reads the encoder's output into this model, items and properties are
appended, and :meth:`HeifFile.to_bytes` writes ``ftyp`` + ``meta`` + one ``mdat``. Coded data and property boxes
are copied byte for byte, so the pictures already in the file decode exactly as before.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from livemoments_app.core.export.bmff_write import box, full_box, header_size
from livemoments_app.core.livephoto import bmff, heif
from livemoments_app.core.livephoto.bmff import ByteSource

# Boxes of a HEIF 'meta' this model rebuilds itself; any other child (dinf, ...) is carried over as it was.
_REBUILT = {"hdlr", "pitm", "iinf", "iloc", "iref", "iprp", "idat", "grpl"}
# Top-level boxes that hold nothing of the images and may be dropped when the file is rewritten.
_DROPPABLE = {"free", "skip"}


@dataclass
class Item:
    id: int
    type: str                       # "hvc1", "Exif", "mime", "grid", "tmap", ...
    data: bytes = b""
    name: str = ""
    content_type: str = ""          # for "mime" items
    hidden: bool = False
    properties: list[tuple[int, bool]] = field(default_factory=list)   # (1-based 'ipco' index, essential)


@dataclass
class HeifFile:
    major_brand: bytes
    minor_version: int
    compatible_brands: list[bytes]
    primary: int
    items: dict[int, Item]
    properties: list[bytes]                               # whole property boxes, 'ipco' order
    references: list[tuple[str, int, list[int]]]          # (type, from item, to items)
    groups: list[bytes] = field(default_factory=list)     # whole entity-group boxes of 'grpl' ('altr', ...)
    handler: bytes = b"pict"
    other_meta: list[bytes] = field(default_factory=list)  # whole 'meta' children kept as they were

    @classmethod
    def parse(cls, data: bytes) -> "HeifFile":
        src = ByteSource(data)
        top = list(bmff.iter_boxes(src))
        kinds = [b.type for b in top]
        unknown = set(kinds) - {"ftyp", "meta", "mdat"} - _DROPPABLE
        if kinds[:1] != ["ftyp"] or "meta" not in kinds or unknown:
            raise src.error(f"not a plain HEIF image file (top-level boxes {', '.join(kinds)})")
        ftyp = bmff.payload(src, top[0])
        brands = [ftyp[i:i + 4] for i in range(8, len(ftyp) - 3, 4)]
        meta = top[kinds.index("meta")]
        kids = list(bmff.children(src, meta))
        hdlr = next((b for b in kids if b.type == "hdlr"), None)
        handler = bmff.payload(src, hdlr)[8:12] if hdlr is not None else b"pict"
        primary = heif.primary_item_id(src, meta)
        if primary is None:
            raise src.error("the HEIF file names no primary image ('pitm')")
        boxes, associations = heif.property_table(src, meta)
        properties = [src.read(b.start, b.size) for b in boxes]
        items = {}
        for found in heif.items(src, meta).values():
            if not found.type:
                raise src.error(f"item {found.item_id} has a location but no 'infe' entry")
            data_bytes = heif.read_item(src, found, 1 << 30) if found.extents else b""
            items[found.item_id] = Item(found.item_id, found.type, data_bytes, found.name, found.content_type,
                                        found.hidden, associations.get(found.item_id, []))
        references = heif.references(src, meta)
        groups: list[bytes] = []
        grpl = next((b for b in kids if b.type == "grpl"), None)
        if grpl is not None:
            groups = [src.read(g.start, g.size) for g in bmff.iter_boxes(src, grpl.payload_start, grpl.end)]
        return cls(ftyp[:4], struct.unpack(">I", ftyp[4:8])[0], brands, primary, items, properties, references,
                   groups, handler, [src.read(b.start, b.size) for b in kids if b.type not in _REBUILT])

    # ------------------------------------------------------------------------------------------- editing

    def next_id(self) -> int:
        """A free id for an item or an entity group (the two share one id space)."""
        used = set(self.items)
        for group in self.groups:
            used.add(struct.unpack(">I", group[12:16])[0])
        return max(used, default=0) + 1

    def add_property(self, prop: bytes) -> int:
        """The 1-based index of ``prop`` (a whole box), appended unless an identical one is already there."""
        if prop in self.properties:
            return self.properties.index(prop) + 1
        self.properties.append(prop)
        return len(self.properties)

    def add_item(self, type_: str, data: bytes, *, properties: list[tuple[bytes, bool]] = (), hidden: bool = False,
                 content_type: str = "") -> Item:
        item = Item(self.next_id(), type_, data, "", content_type, hidden,
                    [(self.add_property(p), essential) for p, essential in properties])
        self.items[item.id] = item
        return item

    def add_reference(self, kind: str, from_id: int, to_ids: list[int]) -> None:
        self.references.append((kind, from_id, list(to_ids)))

    def add_group(self, kind: str, entity_ids: list[int]) -> int:
        group_id = self.next_id()
        self.groups.append(full_box(kind, 0, 0, struct.pack(">II", group_id, len(entity_ids))
                                    + b"".join(struct.pack(">I", e) for e in entity_ids)))
        return group_id

    def add_brand(self, brand: bytes) -> None:
        if brand not in self.compatible_brands:
            self.compatible_brands.append(brand)

    def item_property(self, item_id: int, kind: str) -> bytes | None:
        """The first property box of type ``kind`` associated with an item."""
        for index, _ in self.items[item_id].properties:
            prop = self.properties[index - 1]
            if prop[4:8] == kind.encode("latin-1"):
                return prop
        return None

    # ------------------------------------------------------------------------------------------- writing

    def _ids_wide(self) -> bool:
        return max(list(self.items) + [self.primary], default=0) > 0xFFFF

    def _iinf(self) -> bytes:
        wide = self._ids_wide()
        entries = []
        for item in self.items.values():
            body = (struct.pack(">I" if wide else ">H", item.id) + struct.pack(">H", 0)
                    + item.type.encode("latin-1") + item.name.encode("utf-8") + b"\0")
            if item.type == "mime":
                body += item.content_type.encode("utf-8") + b"\0"
            entries.append(full_box("infe", 3 if wide else 2, 1 if item.hidden else 0, body))
        count = len(entries)
        head = struct.pack(">H", count) if count <= 0xFFFF else struct.pack(">I", count)
        return full_box("iinf", 0 if count <= 0xFFFF else 1, 0, head + b"".join(entries))

    def _iref(self) -> bytes:
        wide = self._ids_wide()
        fmt = ">I" if wide else ">H"
        refs = b"".join(box(kind, struct.pack(fmt, src) + struct.pack(">H", len(dst))
                            + b"".join(struct.pack(fmt, d) for d in dst))
                        for kind, src, dst in self.references)
        return full_box("iref", 1 if wide else 0, 0, refs)

    def _iprp(self) -> bytes:
        wide_index = len(self.properties) > 0x7F
        wide_ids = self._ids_wide()
        associated = [item for item in self.items.values() if item.properties]
        body = struct.pack(">I", len(associated))
        for item in associated:
            body += struct.pack(">I" if wide_ids else ">H", item.id) + struct.pack(">B", len(item.properties))
            for index, essential in item.properties:
                if wide_index:
                    body += struct.pack(">H", index | (0x8000 if essential else 0))
                else:
                    body += struct.pack(">B", index | (0x80 if essential else 0))
        ipma = full_box("ipma", 1 if wide_ids else 0, 1 if wide_index else 0, body)
        return box("iprp", box("ipco", b"".join(self.properties)) + ipma)

    def _iloc(self, offsets: dict[int, int], wide: bool) -> bytes:
        """Every item with data as one extent in 'mdat' (construction method 0), offsets from the file start."""
        with_data = [item for item in self.items.values() if item.data]
        size = 8 if wide else 4
        body = struct.pack(">BB", (size << 4) | size, 0)
        ids_wide = self._ids_wide()
        body += struct.pack(">I", len(with_data)) if ids_wide else struct.pack(">H", len(with_data))
        for item in with_data:
            body += struct.pack(">IH", item.id, 0) if ids_wide else struct.pack(">H", item.id)   # v2: method 0
            body += struct.pack(">HH", 0, 1)          # data reference: this file; one extent
            body += (offsets.get(item.id, 0)).to_bytes(size, "big") + len(item.data).to_bytes(size, "big")
        return full_box("iloc", 2 if ids_wide else 0, 0, body)

    def _meta(self, offsets: dict[int, int], wide: bool) -> bytes:
        pitm = full_box("pitm", 1 if self._ids_wide() else 0, 0,
                        struct.pack(">I" if self._ids_wide() else ">H", self.primary))
        hdlr = full_box("hdlr", 0, 0, b"\0" * 4 + self.handler + b"\0" * 12 + b"\0")
        parts = [hdlr, *self.other_meta, pitm, self._iinf()]
        if self.references:
            parts.append(self._iref())
        parts.append(self._iprp())
        if self.groups:
            parts.append(box("grpl", b"".join(self.groups)))
        parts.append(self._iloc(offsets, wide))
        return full_box("meta", 0, 0, b"".join(parts))

    def to_bytes(self) -> bytes:
        ftyp = box("ftyp", self.major_brand + struct.pack(">I", self.minor_version)
                   + b"".join(self.compatible_brands))
        payload = b"".join(item.data for item in self.items.values())
        wide = len(payload) + 64 * 1024 * 1024 >= 1 << 32     # 64 MiB of room for 'meta' itself
        # The size of 'meta' does not depend on the offset values (fixed-width fields), so measure it first.
        meta_size = len(self._meta({}, wide))
        pos = len(ftyp) + meta_size + header_size(len(payload))
        offsets = {}
        for item in self.items.values():
            offsets[item.id] = pos
            pos += len(item.data)
        meta = self._meta(offsets, wide)
        assert len(meta) == meta_size
        return ftyp + meta + box("mdat", payload)

