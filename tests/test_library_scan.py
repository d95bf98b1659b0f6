"""The folder scan of core.library: what it finds under a folder, what it skips and counts, broken files listed
with their error, thumbnails and dates, and the order tiles appear in."""

from __future__ import annotations

import time

import pytest

from livemoments_app.core.library import list_folder, read_listing, summarize
from livemoments_app.core.library.thumbnail import read_thumbnail
from tests.conftest import sample
from tests.library_helpers import image_size, make_library, make_thousand


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    return root, make_library(root)


def test_nested_pairs_are_found_in_folder_order(library):
    root, paths = library
    listing = list_folder(root)
    found = list(read_listing(listing))
    live = [f.entry for f in found if f.kind == "live"]
    names = [e.path.relative_to(root).as_posix() for e in live]
    assert names == ["IMG_0001.HEIC", "2024/PXL_0001.MP.jpg", "2024/May/IMG_0002.JPG",
                     "2024/May/day two/IMG_0003.HEIC"]
    by_name = {e.name: e for e in live}
    assert by_name["IMG_0001.HEIC"].partner == paths["top_mov"]
    assert by_name["IMG_0002.JPG"].partner == paths["nested_mov"]
    assert by_name["IMG_0001.HEIC"].format == "apple_live_photo"
    assert by_name["PXL_0001.MP.jpg"].format == "google_motion_photo"
    assert by_name["PXL_0001.MP.jpg"].partner is None
    assert by_name["IMG_0002.JPG"].still_type == "JPEG" and by_name["IMG_0001.HEIC"].still_type == "HEIC"
    assert all(e.key_time_s is not None and e.duration_s and e.duration_s > 0 for e in live)


def test_skipped_files_are_counted_and_broken_ones_listed_with_their_error(library):
    root, paths = library
    listing = list_folder(root)
    found = list(read_listing(listing))
    summary = summarize(listing, found)
    assert summary.live == 4
    assert summary.stills_without_clip == 1                # IMG_0004.JPG
    assert summary.videos_without_still == 1               # clip_only.MOV
    errors = {f.entry.path: f.entry.error for f in found if f.kind == "error"}
    assert set(errors) == {paths["cut"], paths["mismatch"]}
    assert errors[paths["cut"]].startswith("IMG_0005.HEIC: ")
    assert "ContentIdentifier" in errors[paths["mismatch"]]
    # Broken files come in folder order like the others: the scan went on past them.
    order = [f.candidate.path.relative_to(root).as_posix() for f in found]
    assert order.index("broken/IMG_0005.HEIC") < order.index("broken/IMG_0006.HEIC")


def test_hidden_files_and_folders_are_not_scanned(library):
    root, _ = library
    listing = list_folder(root)
    scanned = [c.path.relative_to(root).as_posix() for c in listing.candidates]
    assert not any(part.startswith(".") for name in scanned for part in name.split("/"))
    assert listing.folders == 5          # root, 2024, 2024/May, 2024/May/day two, broken; not .thumbnails
    assert sorted(scanned) == sorted(set(scanned))


def test_thumbnails_are_small_upright_and_the_date_is_read(library):
    root, paths = library
    found = {f.candidate.path: f for f in read_listing(list_folder(root))}
    portrait = found[paths["top_heic"]].entry.thumbnail
    w, h = image_size(portrait)
    assert h > w, "a portrait still gives a portrait thumbnail"
    for f in found.values():
        if f.kind == "live":
            w, h = image_size(f.entry.thumbnail)
            assert max(w, h) <= 384
    thumb = read_thumbnail(paths["plain"])
    assert thumb.taken == "2024-05-01T10:20:30+02:00"


def test_a_folder_that_cannot_be_read_is_noted_and_the_scan_goes_on(tmp_path, monkeypatch):
    import os

    from livemoments_app.core.library import walk

    root = tmp_path / "lib"
    make_library(root)
    locked = root / "2024" / "May"
    real_scandir = os.scandir

    def scandir(path):        # as a folder without read permission answers (tests may run as root)
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(walk.os, "scandir", scandir)
    listing = list_folder(root)
    assert listing.problems == [(locked, "Permission denied")]
    names = [c.path.relative_to(root).as_posix() for c in listing.candidates]
    assert "IMG_0001.HEIC" in names and "2024/PXL_0001.MP.jpg" in names and "broken/IMG_0005.HEIC" in names
    assert not any(name.startswith("2024/May/") for name in names)


def test_real_samples_are_read_with_their_embedded_thumbnails():
    heic = sample("apple_iphone15pro_IMG_4394.HEIC")
    root = heic.parent
    found = {f.candidate.path.name: f for f in read_listing(list_folder(root))}
    apple = found["apple_iphone15pro_IMG_4394.HEIC"].entry
    assert apple.format == "apple_live_photo" and apple.partner.name == "apple_iphone15pro_IMG_4394.mov"
    assert apple.taken == "2025-08-06T17:14:22-05:00"
    assert found["apple_iphone6s_0FFBE909.jpeg"].entry.partner.name == "apple_iphone6s_0FFBE909_3.mov"
    assert found["samsung_s22_oneui6_motionphoto.heic"].entry.format == "samsung_motion_photo"
    # The HEIC's thumbnail item, upright like the photo (4032 x 3024 turned by its orientation: portrait).
    thumb = read_thumbnail(heic)
    assert thumb.source == "embedded" and thumb.height > thumb.width
    # The iPhone 6s JPEG's EXIF thumbnail is 160 x 120: too small, so libjpeg decodes at 1/8 instead.
    assert read_thumbnail(sample("apple_iphone6s_0FFBE909.jpeg")).source == "reduced"
    # The Samsung S20 JPEG carries a 320 x 240 EXIF thumbnail: used.
    assert read_thumbnail(sample("samsung_s20ultra_microvideo_v1_truncated.jpg")).source == "embedded"


def test_a_thousand_photos_start_arriving_at_once(tmp_path):
    """Functional bound (generous; benchmarks/library.py measures): the first photo of 1,000 is read well
    before the whole folder is, and every one of them is found."""
    root = make_thousand(tmp_path / "many")
    started = time.perf_counter()
    listing = list_folder(root)
    first = next(iter(read_listing(listing)))
    first_s = time.perf_counter() - started
    assert first.kind == "live"
    assert first_s < 5.0
    assert len(listing.candidates) == 1000
