"""Best moments of a folder: `livemoments suggest DIR --json` (one entry per Live Photo, broken ones with their
error), the rankings kept in the cache, and restoring a photo's best moment through the one-photo pipeline."""

from __future__ import annotations

import json

import pytest

from livemoments_app.cli import main
from livemoments_app.core.errors import RestoreError
from livemoments_app.core.library import LibraryCache, list_folder, read_listing
from livemoments_app.core.library.best import best_from_scores, score_entry
from livemoments_app.core.library.entry import BestMoment
from livemoments_app.core.library.restore import RestoreSettings, restore_best_moment
from tests.library_helpers import portrait_frames, tree_state
from tests.support.synth import write_apple_pair, write_motion_photo_jpeg


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Two small Live Photos in nested folders, a still without a clip and a broken pair."""
    root = tmp_path_factory.mktemp("small")
    write_apple_pair(root, stem="IMG_0001", frames=portrait_frames(8))
    (root / "sub").mkdir()
    write_motion_photo_jpeg(root / "sub" / "PXL_0002.MP.jpg")
    cut, _ = write_apple_pair(root / "sub", stem="IMG_0003")
    cut.write_bytes(cut.read_bytes()[:300])
    return root


def test_suggest_dir_json_prints_one_entry_per_live_photo(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    before = tree_state(small)
    code = main(["suggest", str(small), "--json"])
    out = capsys.readouterr()
    results = json.loads(out.out)
    assert [r["path"] for r in results] == [str(small / "IMG_0001.HEIC"), str(small / "sub" / "IMG_0003.HEIC"),
                                            str(small / "sub" / "PXL_0002.MP.jpg")]
    for r in results[::2]:
        assert r["frames"] and "error" not in r
        frames = r["frames"]
        assert [f["score"] for f in frames] == sorted((f["score"] for f in frames), reverse=True)
        assert sorted(f["index"] for f in frames) == list(range(r["frame_count"]))
        assert all(0.0 <= f["score"] <= 1.0 and isinstance(f["reasons"], list) for f in frames)
    assert results[1]["frames"] == [] and results[1]["error"].startswith("IMG_0003.HEIC: ")
    assert code == 1                                           # one photo could not be ranked
    assert "2 Live Photos" not in out.err and "3 Live Photos" in out.err
    assert tree_state(small) == before
    assert list((tmp_path / "cache").rglob("library.sqlite3"))  # rankings kept in the user's cache folder


def test_suggest_dir_top_limits_each_photos_frames(small, capsys):
    main(["suggest", str(small), "--json", "--top", "2", "--no-cache"])
    results = json.loads(capsys.readouterr().out)
    assert all(len(r["frames"]) <= 2 for r in results)
    assert max(len(r["frames"]) for r in results) == 2


def test_rankings_come_from_the_cache_the_second_time(small, tmp_path, monkeypatch):
    import livemoments_app.core.library.best as best_mod

    cache = LibraryCache(tmp_path / "library.sqlite3")
    entry = next(f.entry for f in read_listing(list_folder(small), cache) if f.kind == "live")
    first = score_entry(entry, cache)
    monkeypatch.setattr(best_mod, "score_photo", lambda *a, **k: pytest.fail("scored again"))
    entry.scores = entry.best = None
    assert score_entry(entry, cache) == first
    assert entry.best == best_from_scores(first)


def test_the_editor_takes_a_cached_ranking_of_the_unchanged_file_only(small, tmp_path):
    import os
    import shutil

    from livemoments_app.core.library.best import cached_suggestions
    from livemoments_app.core.livephoto import open_live_photo

    folder = tmp_path / "photos"
    shutil.copytree(small, folder)
    cache = LibraryCache(tmp_path / "library.sqlite3")
    entry = next(f.entry for f in read_listing(list_folder(folder), cache) if f.kind == "live")
    scores = score_entry(entry, cache)
    with open_live_photo(entry.path) as live:
        found = cached_suggestions(cache, live)
        assert found is not None and found.to_json()["frames"] == scores["ranking"]["frames"]
        assert found.key_index == live.key_frame_index
        st = entry.partner.stat()
        os.utime(entry.partner, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the clip changed since
        assert cached_suggestions(cache, live) is None
        os.utime(entry.partner, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert cached_suggestions(cache, live) is not None
        st = entry.path.stat()
        os.utime(entry.path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))     # the still changed since
        assert cached_suggestions(cache, live) is None


def test_best_from_scores_reads_the_top_frame_and_the_key_photo():
    ranking = {"key_time_s": 1.0, "ranking": {"frames": [
        {"index": 4, "time_s": 0.6, "score": 0.8, "reasons": ["sharp"], "is_key": False},
        {"index": 9, "time_s": 1.0, "score": 0.5, "reasons": [], "is_key": True}]}}
    best = best_from_scores(ranking)
    assert best == BestMoment(4, 0.6, 0.8, pytest.approx(-0.4), ("sharp",)) and not best.is_key_photo
    ranking["ranking"]["frames"].reverse()
    assert best_from_scores(ranking).is_key_photo
    assert best_from_scores({"ranking": {"frames": []}}) is None
    assert best_from_scores({"ranking": {"frames": [{"index": "x"}]}}) is None


def test_restoring_a_best_moment_writes_it_and_the_key_photo_is_left_alone(small, tmp_path):
    entries = [f.entry for f in read_listing(list_folder(small)) if f.entry is not None]
    apple = next(e for e in entries if e.name == "IMG_0001.HEIC")
    settings = RestoreSettings(out_dir=tmp_path / "out", restorer="classic", format="jpeg")
    apple.best = BestMoment(index=2, time_s=0.066, score=0.9, offset_s=-0.1)
    result = restore_best_moment(apple, settings)
    assert [p.name for p in result.written] == ["IMG_0001_LM.JPG"]
    assert result.written[0].parent == tmp_path / "out" and result.preview[:2] == b"\xff\xd8"
    apple.best = BestMoment(index=5, time_s=0.166, score=0.9, offset_s=0.0)
    kept = restore_best_moment(apple, settings)
    assert kept.written == [] and "key photo" in kept.note
    broken = next(e for e in entries if e.error)
    with pytest.raises(RestoreError, match="IMG_0003.HEIC"):
        restore_best_moment(broken, settings)
