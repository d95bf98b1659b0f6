"""Carry the key photo's XMP over to an exported image, and write the Motion Photo container fields.

The packet is parsed safely (defusedxml), edited as a tree and written back as one packet with padding, so a
later in-place fix of a number (the HEIC primary length, known only after encoding) keeps the byte length.
Properties are matched by namespace URI, never by prefix.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET

from livemoments_app.core.hdr.apple import XMP_NS as NS_APPLE_GAIN_MAP
from livemoments_app.core.livephoto.xmp import (NS_CAMERA, NS_CONTAINER, NS_HDRGM, NS_ITEM, NS_RDF, NS_XMP_NOTE,
                                                canonical_ns)

NS_X = "adobe:ns:meta/"
NS_TIFF = "http://ns.adobe.com/tiff/1.0/"
NS_EXIF = "http://ns.adobe.com/exif/1.0/"
NS_XMP_BASIC = "http://ns.adobe.com/xap/1.0/"
# The source's gain-map descriptions go: left on the primary they would promise a gain map that may not be written
# (a written one gets fresh ones, see ``gain_map_version``).
_GAIN_MAP_URIS = {NS_APPLE_GAIN_MAP, NS_HDRGM}

PACKET_PADDING = 512
_LOCK = threading.Lock()   # ElementTree's prefix registry is global
_OUR_PREFIXES = {"x": NS_X, "rdf": NS_RDF, "GCamera": NS_CAMERA, "Container": NS_CONTAINER, "Item": NS_ITEM,
                 "tiff": NS_TIFF, "exif": NS_EXIF, "xmp": NS_XMP_BASIC, "hdrgm": NS_HDRGM}


@dataclass(frozen=True)
class DirectoryItem:
    mime: str
    semantic: str            # "Primary" | "GainMap" | "MotionPhoto"
    length: int
    padding: int


@dataclass(frozen=True)
class MotionFields:
    presentation_timestamp_us: int
    items: tuple[DirectoryItem, ...]


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def _is_motion(uri: str, local: str) -> bool:
    uri = canonical_ns(uri)     # the reader's folding of the URI spellings seen in the wild
    if uri == NS_CAMERA:
        return local.startswith(("MotionPhoto", "MicroVideo"))
    return uri in (NS_CONTAINER, NS_ITEM)


def _is_location(uri: str, local: str) -> bool:
    return uri in (NS_EXIF, "http://cipa.jp/exif/1.0/") and local.startswith("GPS")


def _drop(uri: str, local: str, *, strip_location: bool, drop_motion: bool) -> bool:
    if uri in _GAIN_MAP_URIS:
        return True
    if uri == NS_XMP_NOTE and local == "HasExtendedXMP":
        return True   # the extended packet is not carried, so the pointer to it must go
    if drop_motion and _is_motion(uri, local):
        return True
    return strip_location and _is_location(uri, local)


def _register_prefixes(text: str) -> None:
    for prefix, uri in re.findall(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']([^"\']*)["\']', text):
        if re.fullmatch(r"ns\d+", prefix) or uri in _OUR_PREFIXES.values():
            continue
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:
            pass
    for prefix, uri in _OUR_PREFIXES.items():
        ET.register_namespace(prefix, uri)


def _packet_body(xmp: bytes) -> str:
    text = xmp.decode("utf-8", "replace")
    start = text.find("<x:xmpmeta")
    if start < 0:
        start = text.find("<rdf:RDF")
    end_meta = text.rfind("</x:xmpmeta>")
    if start < 0:
        raise ValueError("no XMP packet")
    if end_meta >= 0 and text.find("<x:xmpmeta") >= 0:
        return text[start:end_meta + len("</x:xmpmeta>")]
    end_rdf = text.rfind("</rdf:RDF>")
    return text[start:end_rdf + len("</rdf:RDF>")]


def _new_root() -> ET.Element:
    root = ET.Element(f"{{{NS_X}}}xmpmeta")
    ET.SubElement(root, f"{{{NS_RDF}}}RDF")
    return root


def _set_if_present(desc: ET.Element, key: str, value: str) -> None:
    if key in desc.attrib:
        desc.attrib[key] = value
    for child in desc.findall(key):
        child.text = value


def _fix_layout(desc: ET.Element, size: tuple[int, int] | None) -> None:
    """Upright pixels (Orientation 1) and, where the packet states them, the new dimensions."""
    _set_if_present(desc, f"{{{NS_TIFF}}}Orientation", "1")
    if size is not None:
        width, height = (str(v) for v in size)
        for ns, wkey, hkey in ((NS_TIFF, "ImageWidth", "ImageLength"),
                               (NS_EXIF, "PixelXDimension", "PixelYDimension")):
            _set_if_present(desc, f"{{{ns}}}{wkey}", width)
            _set_if_present(desc, f"{{{ns}}}{hkey}", height)


def _container_description(motion: MotionFields | None, items: tuple[DirectoryItem, ...],
                           gain_map_version: str | None) -> ET.Element:
    """One rdf:Description with the Motion Photo fields, the hdrgm version and the Container directory (as
    Google's Ultra HDR Motion Photos write them), whichever of these are given."""
    attrs = {f"{{{NS_RDF}}}about": ""}
    if gain_map_version is not None:
        attrs[f"{{{NS_HDRGM}}}Version"] = gain_map_version
    if motion is not None:
        attrs.update({
            f"{{{NS_CAMERA}}}MotionPhoto": "1",
            f"{{{NS_CAMERA}}}MotionPhotoVersion": "1",
            f"{{{NS_CAMERA}}}MotionPhotoPresentationTimestampUs": str(int(motion.presentation_timestamp_us)),
        })
    desc = ET.Element(f"{{{NS_RDF}}}Description", attrs)
    if not items:
        return desc
    seq = ET.SubElement(ET.SubElement(desc, f"{{{NS_CONTAINER}}}Directory"), f"{{{NS_RDF}}}Seq")
    for item in items:
        li = ET.SubElement(seq, f"{{{NS_RDF}}}li", {f"{{{NS_RDF}}}parseType": "Resource"})
        ET.SubElement(li, f"{{{NS_CONTAINER}}}Item", {
            f"{{{NS_ITEM}}}Mime": item.mime,
            f"{{{NS_ITEM}}}Semantic": item.semantic,
            f"{{{NS_ITEM}}}Length": str(int(item.length)),
            f"{{{NS_ITEM}}}Padding": str(int(item.padding)),
        })
    return desc


def edit(xmp: bytes | None, *, strip_location: bool = False, drop_motion: bool = True,
         motion: MotionFields | None = None, padding: int = PACKET_PADDING,
         size: tuple[int, int] | None = None, directory: tuple[DirectoryItem, ...] | None = None,
         gain_map_version: str | None = None) -> tuple[bytes | None, list[str]]:
    """The XMP packet to write, and the problems met (a packet that cannot be parsed is left out and reported).

    ``drop_motion`` removes Motion Photo / MicroVideo fields and the container directory (a plain still has no
    video behind it); ``motion`` adds a fresh set describing the file being written. ``directory`` replaces the
    container directory (``motion.items`` otherwise) and ``gain_map_version`` adds ``hdrgm:Version`` (Ultra HDR).
    """
    items = directory if directory is not None else (motion.items if motion is not None else ())
    ours = motion is not None or bool(items) or gain_map_version is not None
    problems: list[str] = []
    with _LOCK:
        root = None
        if xmp:
            try:
                body = _packet_body(xmp)
                _register_prefixes(body)
                root = SafeET.fromstring(body, forbid_dtd=True)
                if _split(root.tag) == (NS_RDF, "RDF"):
                    wrapper = _new_root()
                    wrapper.remove(wrapper[0])
                    wrapper.append(root)
                    root = wrapper
            except Exception as exc:  # noqa: BLE001 - hostile or broken XMP: leave it out, say so
                problems.append(f"XMP (unreadable: {exc})")
                root = None
        else:
            _register_prefixes("")
        if root is None:
            if not ours:
                return None, problems
            root = _new_root()
        rdf = root.find(f"{{{NS_RDF}}}RDF")
        if rdf is None:
            rdf = ET.SubElement(root, f"{{{NS_RDF}}}RDF")
        for desc in list(rdf.findall(f"{{{NS_RDF}}}Description")):
            for key in list(desc.attrib):
                if _drop(*_split(key), strip_location=strip_location, drop_motion=drop_motion or ours):
                    del desc.attrib[key]
            for child in list(desc):
                if _drop(*_split(child.tag), strip_location=strip_location, drop_motion=drop_motion or ours):
                    desc.remove(child)
            _fix_layout(desc, size)
            if len(desc) == 0 and set(desc.attrib) <= {f"{{{NS_RDF}}}about"}:
                rdf.remove(desc)
        if ours:
            rdf.append(_container_description(motion, items, gain_map_version))
        if len(rdf) == 0:
            return None, problems
        text = ET.tostring(root, encoding="unicode")
    return wrap(text, padding), problems


def wrap(body: str, padding: int = PACKET_PADDING) -> bytes:
    """An XMP packet: xpacket header, ``body``, whitespace padding (room for in-place edits), trailer."""
    head = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    pad = (" " * 99 + "\n") * (padding // 100) + " " * (padding % 100)
    return (head + body + "\n" + pad + '<?xpacket end="w"?>').encode("utf-8")


def set_number_in_place(packet: bytes, old_attr: bytes, new_attr: bytes) -> bytes | None:
    """``packet`` with the one ``old_attr`` replaced by ``new_attr``, the padding absorbing the size change."""
    if packet.count(old_attr) != 1:
        return None
    grow = len(new_attr) - len(old_attr)
    edited = packet.replace(old_attr, new_attr)
    tail = b'<?xpacket end="w"?>'
    cut = edited.rfind(tail)
    if cut < 0:
        return None
    body, pad = edited[:cut].rstrip(b" \n"), edited[len(edited[:cut].rstrip(b" \n")):cut]
    if grow > len(pad) - 1:
        return None
    new_pad = pad[:len(pad) - grow] if grow >= 0 else pad + b" " * (-grow)
    out = body + new_pad + tail
    return out if len(out) == len(packet) else None
