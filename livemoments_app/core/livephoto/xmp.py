"""XMP: find the packets (JPEG APP1 standard + extended XMP, HEIF 'mime' items) and read them safely.

Parsing goes through defusedxml with DTDs and entities forbidden, so entity bombs and external entities are
refused. Properties are keyed by namespace URI, never by prefix (writers use GCamera:/Camera:, Container:/
GContainer: for the same URIs).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from livemoments_app.core.errors import CorruptFileError
from livemoments_app.core.livephoto.bmff import ByteSource

NS_CAMERA = "http://ns.google.com/photos/1.0/camera/"
NS_CONTAINER = "http://ns.google.com/photos/1.0/container/"
NS_ITEM = "http://ns.google.com/photos/1.0/container/item/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XMP_NOTE = "http://ns.adobe.com/xmp/note/"
NS_HDRGM = "http://ns.adobe.com/hdr-gain-map/1.0/"    # Adobe/Google gain-map parameters (Ultra HDR)

XMP_STANDARD_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXTENDED_SIG = b"http://ns.adobe.com/xmp/extension/\x00"
MAX_PACKET = 16 << 20
MAX_DEPTH = 64


def canonical_ns(uri: str) -> str:
    """Fold the URI spellings seen in the wild onto the three Google namespaces (others pass unchanged)."""
    u = uri.strip()
    if u.startswith(("http://ns.google.com/photos/", "https://ns.google.com/photos/")):
        if u.rstrip("/").endswith("/container/item"):
            return NS_ITEM
        if u.rstrip("/").endswith("/container"):
            return NS_CONTAINER
        if u.rstrip("/").endswith("/camera"):
            return NS_CAMERA
    return u


# ---------------------------------------------------------------------------------------------- JPEG side


@dataclass(frozen=True)
class JpegSegment:
    marker: int        # e.g. 0xE1 for APP1
    offset: int        # absolute offset of the 0xFF of the marker
    length: int        # length field (payload + 2)

    @property
    def payload_start(self) -> int:
        return self.offset + 4

    @property
    def payload_size(self) -> int:
        return self.length - 2

    @property
    def end(self) -> int:
        return self.offset + 2 + self.length


def is_jpeg(src: ByteSource) -> bool:
    return src.read_upto(0, 3) == b"\xff\xd8\xff"


def jpeg_segments(src: ByteSource) -> list[JpegSegment]:
    """Marker segments from SOI up to (and including) SOS; entropy-coded data is not scanned."""
    if not is_jpeg(src):
        raise src.error("not a JPEG file")
    segments: list[JpegSegment] = []
    pos = 2
    while True:
        if pos + 2 > src.size:
            raise src.error("JPEG header is cut short")
        head = src.read(pos, 2)
        if head[0] != 0xFF:
            raise src.error(f"JPEG marker expected at byte {pos}")
        marker = head[1]
        if marker == 0xFF:        # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            break
        if pos + 4 > src.size:
            raise src.error("JPEG header is cut short")
        (length,) = struct.unpack(">H", src.read(pos + 2, 2))
        if length < 2:
            raise src.error(f"JPEG segment at byte {pos} has an impossible length {length}")
        seg = JpegSegment(marker, pos, length)
        if seg.end > src.size:
            raise src.error(f"JPEG segment at byte {pos} runs past the end of the file")
        segments.append(seg)
        if marker == 0xDA:
            break
        pos = seg.end
        if len(segments) > 10000:
            raise src.error("JPEG has an implausible number of segments")
    return segments


@dataclass
class JpegMetadata:
    exif: bytes | None = None                       # TIFF header onwards
    xmp_packets: list[bytes] = field(default_factory=list)   # standard packets, in file order
    extended_xmp: dict[str, bytes] = field(default_factory=dict)  # GUID → reassembled packet
    segments: list[JpegSegment] = field(default_factory=list)     # every marker segment up to SOS (gain-map MPF)


def read_jpeg_metadata(src: ByteSource) -> JpegMetadata:
    meta = JpegMetadata(segments=jpeg_segments(src))
    chunks: dict[str, tuple[int, dict[int, bytes]]] = {}
    for seg in meta.segments:
        if seg.marker == 0xE1:
            data = src.read(seg.payload_start, seg.payload_size)
            if data.startswith(b"Exif\x00\x00") and meta.exif is None:
                meta.exif = data[6:]
            elif data.startswith(XMP_STANDARD_SIG):
                meta.xmp_packets.append(data[len(XMP_STANDARD_SIG):])
            elif data.startswith(XMP_EXTENDED_SIG) and len(data) >= len(XMP_EXTENDED_SIG) + 40:
                body = data[len(XMP_EXTENDED_SIG):]
                guid = body[:32].decode("latin-1")
                full_len, offset = struct.unpack(">II", body[32:40])
                if full_len <= MAX_PACKET:
                    total, parts = chunks.setdefault(guid, (full_len, {}))
                    if total == full_len:
                        parts[offset] = body[40:]
    for guid, (full_len, parts) in chunks.items():
        buf = bytearray(full_len)
        covered = 0
        for off, part in sorted(parts.items()):
            if off + len(part) > full_len:
                continue
            buf[off:off + len(part)] = part
            covered += len(part)
        if covered >= full_len:
            meta.extended_xmp[guid] = bytes(buf)
    return meta


# ---------------------------------------------------------------------------------------------- parsing


@dataclass
class XmpData:
    """Properties from all packets, keyed by (namespace URI, local name); the Container directory, if any."""

    props: dict[tuple[str, str], str] = field(default_factory=dict)
    directory: list[dict[str, str]] = field(default_factory=list)
    packets: list[bytes] = field(default_factory=list)

    def get(self, ns: str, name: str) -> str | None:
        return self.props.get((ns, name))

    def get_int(self, ns: str, name: str) -> int | None:
        value = self.get(ns, name)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            try:
                return int(float(value.strip()))
            except ValueError:
                return None

    @property
    def empty(self) -> bool:
        return not self.props and not self.directory


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return canonical_ns(uri), local
    return "", tag


def _trim_packet(packet: bytes) -> bytes:
    start = packet.find(b"<")
    end = packet.rfind(b">")
    if start < 0 or end < start:
        return b""
    return packet[start:end + 1]


def parse_packet(packet: bytes, path=None) -> Element | None:
    """The XML tree of one packet; hostile XML (DTD, entities) is a CorruptFileError, junk is ignored."""
    if len(packet) > MAX_PACKET:
        raise CorruptFileError(f"XMP packet is implausibly large ({len(packet)} bytes)", path)
    body = _trim_packet(packet)
    if not body:
        return None
    try:
        return SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise CorruptFileError(f"XMP metadata refused: it declares a DTD or entities ({type(exc).__name__})",
                               path) from None
    except (ParseError, ValueError, UnicodeError, RecursionError):
        return None   # unparseable XMP is treated as absent; the file may still be usable


def _collect(elem: Element, props: dict, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        return
    ns, local = _split_tag(elem.tag)
    if ns == NS_RDF and local == "Description" or depth == 0:
        for key, value in elem.attrib.items():
            kns, klocal = _split_tag(key)
            if kns and kns != NS_RDF:
                props.setdefault((kns, klocal), value)
    for child in elem:
        cns, clocal = _split_tag(child.tag)
        if ns == NS_RDF and local == "Description" and cns and cns != NS_RDF and len(child) == 0:
            props.setdefault((cns, clocal), (child.text or "").strip())
        _collect(child, props, depth + 1)


def _directory(root: Element) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    for directory in root.iter():
        if _split_tag(directory.tag) != (NS_CONTAINER, "Directory"):
            continue
        for li in directory.iter(f"{{{NS_RDF}}}li"):
            item: dict[str, str] = {}
            for node in li.iter():
                for key, value in node.attrib.items():
                    kns, klocal = _split_tag(key)
                    if kns == NS_ITEM:
                        item.setdefault(klocal, value)
                nns, nlocal = _split_tag(node.tag)
                if nns == NS_ITEM and len(node) == 0:
                    item.setdefault(nlocal, (node.text or "").strip())
            if item:
                items.append(item)
        if items:
            break
    return items


def parse_xmp(packets: list[bytes], path=None) -> XmpData:
    data = XmpData(packets=list(packets))
    for packet in packets:
        root = parse_packet(packet, path)
        if root is None:
            continue
        _collect(root, data.props)
        if not data.directory:
            data.directory = _directory(root)
    return data


def jpeg_xmp(meta: JpegMetadata, path=None) -> XmpData:
    """All XMP of a JPEG: the standard packets and the extended packet they point to (or every one)."""
    main = parse_xmp(meta.xmp_packets, path)
    wanted = main.get(NS_XMP_NOTE, "HasExtendedXMP")
    extended = [p for guid, p in meta.extended_xmp.items()
                if wanted is None or guid == wanted or hashlib.md5(p).hexdigest().upper() == (wanted or "").upper()]
    if not extended:
        return main
    combined = parse_xmp(meta.xmp_packets + extended, path)
    return combined
