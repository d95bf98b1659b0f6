"""Unit tests of the container parsers on hand-built bytes: boxes, XMP, SEF, EXIF/MakerNote, Google offsets."""

from __future__ import annotations

import struct

import pytest

from livemoments_app.core.errors import CorruptFileError
from livemoments_app.core.livephoto import apple, bmff, google, sef, xmp
from livemoments_app.core.livephoto.bmff import ByteSource
from tests.support.synth import apple_maker_note, build_exif


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(kind: bytes, version: int, payload: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + payload)


# ---------------------------------------------------------------------------------------------- bmff


def test_boxes_walk_and_find_by_path():
    data = box(b"ftyp", b"qt  \0\0\0\0") + box(b"moov", box(b"trak", box(b"mdia", box(b"hdlr", b"x" * 24))))
    src = ByteSource(data)
    assert [b.type for b in bmff.iter_boxes(src)] == ["ftyp", "moov"]
    hdlr = bmff.find(src, "moov/trak/mdia/hdlr")
    assert hdlr is not None and hdlr.start == 16 + 24 and hdlr.payload_size == 24
    assert bmff.find(src, "moov/trak/nope") is None


def test_largesize_and_size_zero_boxes():
    payload = b"v" * 20
    large = struct.pack(">I4sQ", 1, b"mpvd", 16 + len(payload)) + payload
    src = ByteSource(large + struct.pack(">I4s", 0, b"free") + b"tail")
    boxes = list(bmff.iter_boxes(src))
    assert (boxes[0].type, boxes[0].header_size, boxes[0].payload_size) == ("mpvd", 16, 20)
    assert boxes[1].type == "free" and boxes[1].end == src.size


@pytest.mark.parametrize("data", [
    struct.pack(">I4s", 4, b"moov"),                       # smaller than its own header
    struct.pack(">I4s", 1000, b"moov") + b"x" * 10,        # runs past the end
    struct.pack(">I4sQ", 1, b"mdat", 2 ** 62),             # 64-bit size far outside the file
])
def test_bad_box_sizes_are_corrupt_file_errors(data):
    with pytest.raises(CorruptFileError):
        list(bmff.iter_boxes(ByteSource(data, path="bad.mov")))


def test_truncated_box_is_reported_when_allowed():
    src = ByteSource(box(b"ftyp", b"isom") + struct.pack(">I4s", 5000, b"mdat") + b"cut")
    last = list(bmff.iter_boxes(src, allow_truncated=True))[-1]
    assert last.type == "mdat" and last.truncated and last.end == src.size


def test_reads_outside_the_data_are_refused():
    src = ByteSource(b"0123456789", path="x.bin")
    with pytest.raises(CorruptFileError, match="outside the file"):
        src.read(8, 4)
    with pytest.raises(CorruptFileError):
        src.read(-1, 2)
    assert src.read_upto(8, 4) == b"89"


def test_edit_list_versions_and_empty_edits():
    v0 = full(b"elst", 0, struct.pack(">I", 2) + struct.pack(">Iii", 740, -1, 0x10000) + struct.pack(">Iii", 1, 0,
                                                                                                         0x10000))
    v1 = full(b"elst", 1, struct.pack(">I", 1) + struct.pack(">Qqi", 2 ** 33, 5, 0x8000))
    e0 = bmff.parse_elst(ByteSource(v0), bmff.read_box_header(ByteSource(v0), 0, len(v0)))
    assert [(e.segment_duration, e.media_time, e.rate) for e in e0] == [(740, -1, 1.0), (1, 0, 1.0)]
    e1 = bmff.parse_elst(ByteSource(v1), bmff.read_box_header(ByteSource(v1), 0, len(v1)))
    assert (e1[0].segment_duration, e1[0].media_time, e1[0].rate) == (2 ** 33, 5, 0.5)
    lying = full(b"elst", 0, struct.pack(">I", 10 ** 6))
    with pytest.raises(CorruptFileError):
        bmff.parse_elst(ByteSource(lying), bmff.read_box_header(ByteSource(lying), 0, len(lying)))


def test_tkhd_rotation_from_matrix():
    def tkhd(matrix):
        body = struct.pack(">IIIII", 0, 0, 1, 0, 600) + b"\0" * 8 + struct.pack(">hhhH", 0, 0, 0, 0)
        body += struct.pack(">9i", *matrix) + struct.pack(">II", 1920 << 16, 1440 << 16)
        data = full(b"tkhd", 0, body)
        return bmff.parse_tkhd(ByteSource(data), bmff.read_box_header(ByteSource(data), 0, len(data)))

    one = 0x10000
    assert tkhd([one, 0, 0, 0, one, 0, 0, 0, 0x40000000])["rotation"] == 0
    assert tkhd([0, one, 0, -one, 0, 0, 1440 << 16, 0, 0x40000000])["rotation"] == 90
    assert tkhd([-one, 0, 0, 0, -one, 0, 0, 0, 0x40000000])["rotation"] == 180
    assert tkhd([0, -one, 0, one, 0, 0, 0, 0, 0x40000000])["rotation"] == 270


def test_ftyp_probe():
    data = b"junk" + box(b"ftyp", b"mp42\0\0\0\0isom") + b"more"
    src = ByteSource(data)
    assert bmff.looks_like_ftyp(src, 4) and not bmff.looks_like_ftyp(src, 0)
    assert not bmff.looks_like_ftyp(src, 4, end=10)   # the box would run past the candidate range


# ---------------------------------------------------------------------------------------------- XMP


def _packet(prefix: str, container: str = "Container", item: str = "Item") -> bytes:
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:{prefix}="http://ns.google.com/photos/1.0/camera/"
 xmlns:{container}="http://ns.google.com/photos/1.0/container/"
 xmlns:{item}="http://ns.google.com/photos/1.0/container/item/"
 {prefix}:MotionPhoto="1" {prefix}:MotionPhotoVersion="1">
 <{prefix}:MotionPhotoPresentationTimestampUs>1234</{prefix}:MotionPhotoPresentationTimestampUs>
 <{container}:Directory><rdf:Seq>
  <rdf:li rdf:parseType="Resource"><{container}:Item {item}:Mime="image/jpeg" {item}:Semantic="Primary"
   {item}:Length="0" {item}:Padding="0"/></rdf:li>
  <rdf:li rdf:parseType="Resource"><{container}:Item><rdf:Description {item}:Mime="video/mp4">
   <{item}:Semantic>MotionPhoto</{item}:Semantic><{item}:Length>500</{item}:Length></rdf:Description>
  </{container}:Item></rdf:li>
 </rdf:Seq></{container}:Directory>
</rdf:Description></rdf:RDF></x:xmpmeta>""".encode()


@pytest.mark.parametrize("prefix,container,item", [("GCamera", "Container", "Item"), ("Camera", "Container", "Item"),
                                                    ("GCamera", "GContainer", "GContainerItem"),
                                                    ("cam", "c", "i")])
def test_xmp_matches_namespaces_by_uri_not_prefix(prefix, container, item):
    data = xmp.parse_xmp([b"\0\0  " + _packet(prefix, container, item) + b"\0\0\0  "])
    assert google.is_motion_photo(data)
    assert google.presentation_timestamp_us(data) == 1234
    assert data.directory == [{"Mime": "image/jpeg", "Semantic": "Primary", "Length": "0", "Padding": "0"},
                              {"Mime": "video/mp4", "Semantic": "MotionPhoto", "Length": "500"}]
    assert google.directory_candidate(data, 2000) == google.Candidate("xmp_directory", 1500, 500)


BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol3;</x:xmpmeta>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/">&ext;</x:xmpmeta>"""


@pytest.mark.parametrize("packet", [BOMB, EXTERNAL])
def test_hostile_xmp_is_refused(packet):
    with pytest.raises(CorruptFileError, match="XMP metadata refused"):
        xmp.parse_xmp([packet], path="hostile.jpg")


def test_broken_xmp_is_ignored_not_fatal():
    data = xmp.parse_xmp([b"<x:xmpmeta><rdf:RDF unclosed", b"no xml at all"])
    assert data.empty


def test_timestamp_minus_one_means_unknown_and_microvideo_is_ignored_by_v1():
    cam = "http://ns.google.com/photos/1.0/camera/"
    data = xmp.XmpData(props={(cam, "MotionPhoto"): "1", (cam, "MotionPhotoPresentationTimestampUs"): "-1",
                              (cam, "MicroVideoPresentationTimestampUs"): "5000"})
    assert google.presentation_timestamp_us(data) is None
    micro = xmp.XmpData(props={(cam, "MicroVideo"): "1", (cam, "MicroVideoOffset"): "300",
                               (cam, "MicroVideoPresentationTimestampUs"): "5000"})
    assert google.presentation_timestamp_us(micro) == 5000
    assert google.micro_video_candidate(micro, 1000) == google.Candidate("xmp_micro_video", 700, 300)


def test_directory_walk_matches_samsung_numbers():
    # samsung_s22_oneui6: Primary Length=452276 Padding=8, MotionPhoto Length=3226668 Padding=199
    data = xmp.XmpData(directory=[{"Mime": "image/heic", "Semantic": "Primary", "Length": "452276", "Padding": "8"},
                                  {"Mime": "video/mp4", "Semantic": "MotionPhoto", "Length": "3226668",
                                   "Padding": "199"}])
    assert google.directory_candidate(data, 3678952) == google.Candidate("xmp_directory", 452284, 3226668)


def test_jpeg_extended_xmp_is_reassembled():
    from tests.support.synth import write_motion_photo_jpeg

    # built in memory by the synth writer: the directory lives only in the extended packet
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = write_motion_photo_jpeg(Path(tmp) / "ext.jpg", extended_xmp=True)
        with ByteSource.open(path) as src:
            meta = xmp.read_jpeg_metadata(src)
            data = xmp.jpeg_xmp(meta)
    assert len(meta.extended_xmp) == 1
    assert [i["Semantic"] for i in data.directory] == ["Primary", "MotionPhoto"]


# ---------------------------------------------------------------------------------------------- SEF


def _sef(blocks: list[tuple[int, bytes, bytes]], stale: bool = False) -> bytes:
    body = b""
    offsets = []
    for type_code, name, data in blocks:
        offsets.append(len(body))
        body += struct.pack("<HHI", 0, type_code, len(name)) + name + data
    directory = b"SEFH" + struct.pack("<II", 107, len(blocks))
    for (type_code, name, data), off in zip(blocks, offsets):
        back = len(body) - off + (10 ** 6 if stale else 0)
        directory += struct.pack("<HHII", 0, type_code, back, 8 + len(name) + len(data))
    return body + directory + struct.pack("<I", len(directory)) + b"SEFT"


def test_sef_trailer_entries():
    trailer = b"JPEGDATA" + _sef([(0x0A01, b"Image_UTC_Data", b"1705124333853"),
                                  (0x0A30, b"MotionPhoto_Data", b"\0\0\0\x18ftypmp42")])
    parsed = sef.read_sef(ByteSource(trailer), 0, len(trailer))
    assert [e.name for e in parsed.entries] == ["Image_UTC_Data", "MotionPhoto_Data"]
    entry = parsed.find(sef.TYPE_MOTION_PHOTO)
    assert trailer[entry.data_offset:entry.data_offset + entry.data_size] == b"\0\0\0\x18ftypmp42"


def test_sef_stale_offsets_are_skipped_not_followed():
    trailer = _sef([(0x0A30, b"MotionPhoto_Data", b"video")], stale=True)
    parsed = sef.read_sef(ByteSource(trailer), 0, len(trailer))
    assert parsed.entries == [] and parsed.stale_entries == 1


def test_no_sef_trailer():
    assert sef.read_sef(ByteSource(b"x" * 100), 0, 100) is None
    lying = b"x" * 20 + struct.pack("<I", 10 ** 9) + b"SEFT"
    assert sef.read_sef(ByteSource(lying), 0, len(lying)) is None


# ---------------------------------------------------------------------------------------------- EXIF


def test_apple_maker_note_round_trip():
    cid = "ED2A2552-C906-486E-9DA5-17DABDF672A7"
    exif = build_exif(maker_note=apple_maker_note(cid), orientation=6)
    note = apple.read_maker_note(exif)
    assert note.content_identifier == cid
    assert exif[note.content_identifier_offset:note.content_identifier_offset + len(cid)] == cid.encode()
    assert apple.read_maker_note(b"Exif\x00\x00" + exif).content_identifier == cid


@pytest.mark.parametrize("exif", [b"", b"MM\x00*\xff\xff\xff\xff", b"II*\x00\x08\x00\x00\x00\xff\xff",
                                  build_exif(maker_note=b"Nikon\0garbage")])
def test_exif_without_apple_note(exif):
    assert apple.read_maker_note(exif) is None


# ---------------------------------------------------------------------------------------------- HEIF items


@pytest.mark.parametrize("prefix", [
    struct.pack(">I", 6) + b"Exif\x00\x00",      # the offset field skips the 'Exif\0\0' prefix (the standard)
    struct.pack(">I", 0) + b"Exif\x00\x00",      # the quirk: offset 0 but the prefix kept
    struct.pack(">I", 0),                         # no prefix at all
])
def test_heif_exif_item_header_variants(prefix):
    from livemoments_app.core.livephoto import heif

    tiff = build_exif(maker_note=apple_maker_note("C3754624-A05F-474D-9F16-E9C47B5F892D"))
    data = b"pad" + prefix + tiff
    item = heif.HeifItem(1, "Exif", extents=[(3, len(data) - 3)])
    exif = heif.exif_payload(ByteSource(data), {1: item})
    assert exif == tiff
    assert apple.read_maker_note(exif).content_identifier == "C3754624-A05F-474D-9F16-E9C47B5F892D"


def test_heif_item_outside_the_file_is_refused():
    from livemoments_app.core.livephoto import heif

    item = heif.HeifItem(1, "Exif", extents=[(10, 10 ** 6)])
    with pytest.raises(CorruptFileError):
        heif.exif_payload(ByteSource(b"x" * 100, path="a.heic"), {1: item})


def _heif_meta(xmp_links: dict[int, list[int]], primary: int = 1) -> tuple[bytes, dict[int, bytes]]:
    """A HEIF 'meta' box: image items 1 and 2, one XMP 'mime' item per key of ``xmp_links`` (its 'cdsc' targets)."""
    packets = {item_id: f"<x:xmpmeta>item {item_id}</x:xmpmeta>".encode() for item_id in xmp_links}
    infe = [full(b"infe", 2, struct.pack(">HH4s", i, 0, b"hvc1") + b"\0") for i in (1, 2)]
    infe += [full(b"infe", 2, struct.pack(">HH4s", i, 0, b"mime") + b"\0application/rdf+xml\0")
             for i in packets]
    iinf = full(b"iinf", 0, struct.pack(">H", len(infe)) + b"".join(infe))
    refs = b"".join(box(b"cdsc", struct.pack(">HH", i, len(to)) + b"".join(struct.pack(">H", t) for t in to))
                    for i, to in xmp_links.items() if to)
    idat_payload = b"".join(packets.values())
    locs, at = [], 0
    for i, packet in packets.items():     # iloc version 1, construction method 1 (in 'idat'), 4-byte fields
        locs.append(struct.pack(">HHHIHII", i, 1, 0, 0, 1, at, len(packet)))
        at += len(packet)
    iloc = full(b"iloc", 1, bytes([0x44, 0x40]) + struct.pack(">H", len(locs)) + b"".join(locs))
    meta = full(b"meta", 0, full(b"pitm", 0, struct.pack(">H", primary)) + iinf + full(b"iref", 0, refs)
                + iloc + box(b"idat", idat_payload))
    return box(b"ftyp", b"heic\0\0\0\0") + meta, packets


@pytest.mark.parametrize("links, expected", [
    ({3: [2], 4: [1]}, [4]),          # the gain map's XMP first in the file: still the primary's is chosen
    ({3: [2]}, []),                   # only another image's XMP: the primary has none
    ({3: []}, [3]),                   # unlinked XMP describes the file, so it is the primary's too
])
def test_heif_xmp_is_the_primary_items(links, expected):
    from livemoments_app.core.livephoto import heif

    data, packets = _heif_meta(links)
    src = ByteSource(data)
    all_items = heif.items(src)
    assert heif.primary_item_id(src) == 1
    assert all_items[3].describes == links[3]
    assert heif.xmp_payloads(src, all_items, heif.primary_item_id(src)) == [packets[i] for i in expected]
    assert len(heif.xmp_payloads(src, all_items)) == len(links)     # without a primary: every packet


def test_second_app1_xmp_block_is_read(tmp_path):
    from livemoments_app.core.livephoto import LiveFormat, inspect_live_photo
    from tests.support.synth import write_motion_photo_jpeg

    path = write_motion_photo_jpeg(tmp_path / "two.jpg", key_index=7)
    data = path.read_bytes()
    other = (b'http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
             b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
             b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"/></rdf:RDF></x:xmpmeta>')
    path.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(other) + 2) + other + data[2:])
    parse = inspect_live_photo(path)
    assert parse.format == LiveFormat.GOOGLE_MOTION_PHOTO
    assert parse.key_time_s == pytest.approx(7 / 30, abs=1e-6)


def test_a_window_of_a_file_keeps_absolute_offsets():
    data = box(b"ftyp", b"qt  ") + box(b"mdat", b"m" * 100) + box(b"moov", box(b"mvhd", b"h" * 12))
    moov_at = data.index(b"moov") - 4
    window = ByteSource(data[moov_at:], base=moov_at)
    assert [b.type for b in bmff.iter_boxes(window)] == ["moov"]
    mvhd = bmff.find(window, "moov/mvhd")
    assert mvhd.start == moov_at + 8 and data[mvhd.payload_start:mvhd.end] == b"h" * 12
    with pytest.raises(CorruptFileError):
        window.read(0, 4)                      # before the window: refused like a read past the end


# ---------------------------------------------------------------------------------------------- mebx samples

def _still_time_movie(sample: bytes, chunk_box: bytes) -> tuple[ByteSource, object]:
    """A still-image-time track (keys 1: still-image-time, 2: the transform) whose one sample is ``sample``."""
    from livemoments_app.core.livephoto.movie import Track

    stbl = box(b"stbl", chunk_box + full(b"stsz", 0, struct.pack(">II", 0, 1) + struct.pack(">I", len(sample))))
    data = stbl + sample
    src = ByteSource(data)
    stbl_box = next(iter(bmff.iter_boxes(src)))
    track = Track(stbl_box, 5, "meta", "mebx", 600, 1, {}, [], sample_count=1,
                  mebx_keys={1: apple.KEY_STILL_IMAGE_TIME, 2: apple.KEY_STILL_IMAGE_TRANSFORM}, _stbl=stbl_box)
    return src, track


def _still_time_movie_with_chunk_table(sample: bytes, wide: bool):
    """The sample right after stbl = [stco|co64][stsz] (8 + 20|24 + 24 bytes), the chunk table pointing at it."""
    offset = 8 + (24 if wide else 20) + 24
    chunk = full(b"co64", 0, struct.pack(">IQ", 1, offset)) if wide else full(b"stco", 0, struct.pack(">II", 1, offset))
    return (*_still_time_movie(sample, chunk), offset)


@pytest.mark.parametrize("wide", [False, True])
def test_still_image_transform_is_found_in_the_sample_by_key_id(wide):
    from livemoments_app.core.livephoto.movie import Movie

    matrix = (1.01, 0.0, 33.5, 0.0, 0.99, -5.25, 0.0, 0.0, 1.0)
    sample = (struct.pack(">II", 9, 1) + b"\xff" + struct.pack(">II", 12, 7) + b"skip"     # an unknown key id
              + struct.pack(">II", 80, 2) + struct.pack(">9d", *matrix))
    src, track, offset = _still_time_movie_with_chunk_table(sample, wide)
    assert src.read(offset, 9) == sample[:9]
    found = apple.still_image_transform(src, Movie(src, 600, 1, {}, [track]))
    assert found is not None and found.matrix == matrix
    assert src.read(found.value_offset, 72) == struct.pack(">9d", *matrix)


def test_a_malformed_or_short_transform_is_ignored():
    from livemoments_app.core.livephoto.movie import Movie

    short = struct.pack(">II", 9, 1) + b"\xff" + struct.pack(">II", 24, 2) + b"\0" * 16      # 16 bytes, not 72
    broken = struct.pack(">II", 9, 1) + b"\xff" + struct.pack(">II", 400, 2) + b"\0" * 72   # runs past the sample
    for sample in (short, broken):
        src, track, _ = _still_time_movie_with_chunk_table(sample, wide=False)
        assert apple.still_image_transform(src, Movie(src, 600, 1, {}, [track])) is None
