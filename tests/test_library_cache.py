"""The library cache: a folder reads from it the second time, a changed file is read again, a damaged or foreign
cache is rebuilt rather than trusted, and nothing is ever written beside the photos."""

from __future__ import annotations

import os
import sqlite3

import pytest

from livemoments_app.core.library import LibraryCache, list_folder, read_listing, summarize
import livemoments_app.core.library.scan as scan_mod
from tests.library_helpers import make_library, tree_state


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    return root, make_library(root)


def _scan(root, cache):
    listing = list_folder(root)
    return listing, list(read_listing(listing, cache))


def _scanned_then_edited(root, path, *edits: tuple[str, tuple]) -> None:
    """Scans ``root`` into a new cache at ``path``, then changes its database behind its back."""
    cache = LibraryCache(path)
    _scan(root, cache)
    cache.close()
    db = sqlite3.connect(path)
    for statement, values in edits:
        db.execute(statement, values)
    db.commit()
    db.close()


def _forbid_reading(monkeypatch):
    """Makes reading any file fail the test: what follows must come from the cache."""
    def describe(candidate):
        raise AssertionError(f"{candidate.path.name} was read again")
    monkeypatch.setattr(scan_mod, "describe", describe)


def test_the_second_scan_reads_nothing(folder, tmp_path, monkeypatch):
    root, _ = folder
    cache = LibraryCache(tmp_path / "cache" / "library.sqlite3")
    listing, first = _scan(root, cache)
    assert not any(f.cached for f in first)
    cache.close()
    _forbid_reading(monkeypatch)
    again = LibraryCache(tmp_path / "cache" / "library.sqlite3")
    listing2, second = _scan(root, again)
    assert all(f.cached for f in second)
    assert [(f.candidate.path, f.kind) for f in second] == [(f.candidate.path, f.kind) for f in first]
    for a, b in zip(first, second):
        if a.entry is not None:
            assert b.entry.info() == a.entry.info()
            assert b.entry.thumbnail == a.entry.thumbnail
    assert summarize(listing2, second) == summarize(listing, first)
    assert again.rebuilt is None and again.disabled is None


def test_a_changed_file_is_read_again(folder, tmp_path, monkeypatch):
    root, paths = folder
    cache = LibraryCache(tmp_path / "library.sqlite3")
    _scan(root, cache)
    # A still touched, a pair's video replaced, and a plain still that gets a video beside it.
    st = paths["top_heic"].stat()
    os.utime(paths["top_heic"], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    paths["nested_mov"].write_bytes(paths["nested_mov"].read_bytes() + b"\0" * 16)
    (paths["plain"].with_suffix(".MOV")).write_bytes(paths["top_mov"].read_bytes())
    read = []
    real = scan_mod.describe
    monkeypatch.setattr(scan_mod, "describe", lambda c: read.append(c.path) or real(c))
    _, found = _scan(root, cache)
    assert sorted(read) == sorted([paths["top_heic"], paths["nested_jpeg"], paths["plain"]])
    plain = next(f for f in found if f.candidate.path == paths["plain"])
    assert plain.kind == "live" and plain.entry.partner == paths["plain"].with_suffix(".MOV")


def test_a_damaged_cache_file_is_rebuilt(folder, tmp_path, monkeypatch):
    root, _ = folder
    path = tmp_path / "library.sqlite3"
    cache = LibraryCache(path)
    _, first = _scan(root, cache)
    cache.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    data = bytearray(path.read_bytes())
    data[:100] = os.urandom(100)                       # the header: SQLite no longer recognises the file
    path.write_bytes(bytes(data))
    rebuilt = LibraryCache(path)
    assert rebuilt.rebuilt is not None and rebuilt.disabled is None
    _, found = _scan(root, rebuilt)
    assert not any(f.cached for f in found)            # nothing taken from the damaged file
    assert [f.kind for f in found] == [f.kind for f in first]
    rebuilt.close()
    _forbid_reading(monkeypatch)
    _, third = _scan(root, LibraryCache(path))         # and the new file is a good cache again
    assert all(f.cached for f in third)


def test_garbage_that_is_not_a_database_is_replaced(tmp_path):
    path = tmp_path / "library.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    cache = LibraryCache(path)
    assert cache.rebuilt is not None
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_damaged_records_are_not_trusted(folder, tmp_path, monkeypatch):
    root, paths = folder
    path = tmp_path / "library.sqlite3"
    _scanned_then_edited(root, path,
                         ("UPDATE files SET thumbnail = ? WHERE path = ?", (b"not a jpeg", str(paths["top_heic"]))),
                         ("UPDATE files SET info = ? WHERE path = ?", ("{broken json", str(paths["nested_jpeg"]))),
                         ("UPDATE files SET info = ? WHERE path = ?", ('{"path": 1}', str(paths["motion"]))),
                         ("UPDATE files SET kind = ? WHERE path = ?", ("something else", str(paths["deep_heic"]))))
    read = []
    real = scan_mod.describe
    monkeypatch.setattr(scan_mod, "describe", lambda c: read.append(c.path) or real(c))
    _, found = _scan(root, LibraryCache(path))
    assert sorted(read) == sorted([paths["top_heic"], paths["nested_jpeg"], paths["motion"], paths["deep_heic"]])
    assert all(f.entry.thumbnail[:2] == b"\xff\xd8" for f in found if f.kind == "live")


def test_records_of_another_version_are_dropped(folder, tmp_path, monkeypatch):
    root, _ = folder
    path = tmp_path / "library.sqlite3"
    _scanned_then_edited(root, path, ("UPDATE meta SET value = '0.0.0-other' WHERE key = 'writer'", ()))
    _, found = _scan(root, LibraryCache(path))
    assert not any(f.cached for f in found)


def test_nothing_is_written_beside_the_photos(folder, tmp_path):
    root, _ = folder
    before = tree_state(root)
    cache = LibraryCache(tmp_path / "elsewhere" / "library.sqlite3")
    _scan(root, cache)
    _scan(root, cache)
    cache.close()
    assert tree_state(root) == before


def test_an_unusable_cache_folder_leaves_a_working_in_memory_cache(folder, tmp_path):
    root, _ = folder
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = LibraryCache(blocker / "cache" / "library.sqlite3")
    assert cache.disabled is not None and cache.path == ":memory:"
    _, first = _scan(root, cache)
    _, second = _scan(root, cache)
    assert all(f.cached for f in second) and len(second) == len(first)


def test_scores_are_kept_while_the_file_is_unchanged(folder, tmp_path):
    from livemoments_app.core.library import FileKey

    root, paths = folder
    cache = LibraryCache(tmp_path / "library.sqlite3")
    _scan(root, cache)
    key, video = FileKey.of(paths["top_heic"]), FileKey.of(paths["top_mov"])
    ranking = {"key_time_s": 0.2, "ranking": {"frames": [{"index": 3, "time_s": 0.1, "score": 0.9,
                                                          "parts": {}, "reasons": ["sharp"]}]}}
    cache.store_scores(key, ranking, "v1", video)
    assert cache.scores(key, "v1", video) == ranking
    assert cache.scores(key, "v2", video) is None       # another scorer's ranking is not this one's
    # the ranking is the clip's: another video, or this one changed, has none
    assert cache.scores(key, "v1") is None
    st = paths["top_mov"].stat()
    os.utime(paths["top_mov"], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache.scores(key, "v1", FileKey.of(paths["top_mov"])) is None
    os.utime(paths["top_mov"], ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.scores(key, "v1", video) == ranking
    st = paths["top_heic"].stat()
    os.utime(paths["top_heic"], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache.scores(FileKey.of(paths["top_heic"]), "v1", video) is None


def test_a_closed_or_busy_cache_skips_the_step_and_keeps_the_file(folder, tmp_path):
    """Only damage rebuilds the file: a worker finishing after the window closed the cache, or another process
    holding the write lock, must not cost the user their cache."""
    root, paths = folder
    path = tmp_path / "library.sqlite3"
    cache = LibraryCache(path)
    listing, _ = _scan(root, cache)
    cache.close()
    cache.store(listing.candidates[0], "still", None)             # after close: nothing happens
    assert cache.rebuilt is None
    busy = LibraryCache(path)
    busy._db.close()                                               # the same file, waiting 0.1 s for locks
    busy._db = sqlite3.connect(path, timeout=0.1, check_same_thread=False, isolation_level=None)
    other = sqlite3.connect(path, timeout=0)
    other.execute("BEGIN EXCLUSIVE")                               # another process writing
    assert busy.lookup(listing.candidates) == {}                   # skipped, not "damaged"
    assert busy.rebuilt is None
    other.rollback()
    other.close()
    assert len(LibraryCache(path).lookup(listing.candidates)) == len(listing.candidates)
