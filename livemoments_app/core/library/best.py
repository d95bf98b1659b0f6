"""Each photo's best moment: core.moments ranks the frames of its clip; the ranking is kept in the library cache.

Scoring opens the photo and reads its whole clip (a few seconds a photo), so the library scores in the background
after the thumbnails are shown, and a photo that has not been scored shows that instead of a guess.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from livemoments_app.core.jobs import Progress
from livemoments_app.core.library.cache import LibraryCache
from livemoments_app.core.library.entry import BestMoment, FileKey, LibraryEntry

if TYPE_CHECKING:
    from livemoments_app.core.moments import Suggestions


def scorer_version(faces: bool = True) -> str:
    """Stored with the scores: rankings made by another scorer (its code or weights changed, or faces were left
    out) are made again."""
    return _scorer_digest() + ("" if faces else "-nofaces")


@lru_cache(maxsize=1)
def _scorer_digest() -> str:
    """A digest of core.moments' source, read once: any edit to the scorer counts."""
    from livemoments_app.core import moments

    digest = hashlib.sha256()
    for path in sorted(Path(moments.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def best_from_scores(scores: dict | None) -> BestMoment | None:
    """The top frame of a stored ranking (:func:`score_entry`'s dict); None when it holds none."""
    scores = scores or {}
    ranking = scores.get("ranking") if isinstance(scores.get("ranking"), dict) else {}
    frames = ranking.get("frames") or []
    if not frames or not isinstance(frames[0], dict):
        return None
    top = frames[0]
    try:
        time_s = float(top["time_s"])
        key_time_s = scores.get("key_time_s")
        offset = time_s - float(key_time_s) if key_time_s is not None else 0.0
        if top.get("is_key"):
            offset = 0.0            # the key photo's own frame, whatever rounding says
        return BestMoment(index=int(top["index"]), time_s=time_s, score=float(top["score"]), offset_s=offset,
                          reasons=tuple(str(r) for r in top.get("reasons") or ()))
    except (KeyError, TypeError, ValueError):
        return None


def score_photo(live, progress: Progress | None = None, faces: bool = True) -> dict:
    """The stored form of core.moments' ranking of an open LivePhoto: the ranking's JSON (sorted best first)
    and the key photo's time in the clip (so the best moment can be told as an offset from it)."""
    from livemoments_app.core.moments import suggest
    from livemoments_app.core.moments.scoring import MomentOptions

    return _stored(live, suggest(live, progress, options=MomentOptions(faces=faces)))


def _stored(live, found: "Suggestions") -> dict:
    return {"key_time_s": float(live.key_time_s), "ranking": found.to_json()}


def ranked(live, cache: LibraryCache | None, progress: Progress | None = None) -> "Suggestions":
    """core.moments' ranking of the open photo ``live``: the one ``cache`` holds for the file as it is now (the
    library or ``suggest`` made it), else made now, and kept there when the library knows the photo."""
    from livemoments_app.core.moments import suggest

    found = cached_suggestions(cache, live) if cache is not None else None
    if found is not None:
        return found
    found = suggest(live, progress)
    if cache is not None:
        try:
            key, partner = FileKey.of(Path(live.still_path)), _key_of(live.video_path)
        except OSError:
            return found
        cache.store_scores(key, _stored(live, found), scorer_version(), partner)
    return found


def score_entry(entry: LibraryEntry, cache: LibraryCache | None, progress: Progress | None = None, *,
                faces: bool = True, live=None) -> dict:
    """Scores ``entry``'s photo (opening it, unless ``live`` is it open already), stores the ranking in ``cache``
    and on the entry, and returns it. A ranking the cache already holds for the unchanged file is taken from
    there."""
    from livemoments_app.core.livephoto import open_live_photo

    progress = progress or Progress()
    key, partner = FileKey.of(entry.path), _key_of(entry.partner)
    version = scorer_version(faces)
    scores = cache.scores(key, version, partner) if cache is not None else None
    if scores is None:
        progress.set(0.0, f"Scoring {entry.name}")
        if live is not None:
            scores = score_photo(live, progress.sub(0.05, 0.95), faces)
        else:
            with open_live_photo(entry.path, entry.partner) as opened:
                scores = score_photo(opened, progress.sub(0.05, 0.95), faces)
        if cache is not None:
            cache.store_scores(key, scores, version, partner)
    entry.scores, entry.scores_version = scores, version
    entry.best = best_from_scores(scores)
    return scores


def cached_suggestions(cache: LibraryCache, live) -> "Suggestions | None":
    """The ranking ``cache`` holds for the open photo ``live`` (made by this scorer, of the file as it is now), so
    the editor need not score a photo the library has scored; None when it holds none."""
    from livemoments_app.core.moments import Suggestions

    try:
        key, partner = FileKey.of(Path(live.still_path)), _key_of(live.video_path)
    except OSError:
        return None
    scores = cache.scores(key, scorer_version(), partner)
    try:
        found = Suggestions.from_json(scores["ranking"]) if scores else None
    except (KeyError, TypeError, ValueError):
        return None
    if found is None or len(found.frames) != live.clip.frame_count or found.key_index != live.key_frame_index:
        return None
    return found


def _key_of(path: Path | None) -> FileKey | None:
    """The video's FileKey; None for a clip inside the still, and for a video gone missing (no stored ranking has
    that: opening the photo then says what is wrong)."""
    return None if path is None else FileKey.of_existing(Path(path))


def ranking_entry(entry: LibraryEntry, cache: LibraryCache | None, progress: Progress | None = None, *,
                  faces: bool = True) -> dict:
    """One photo of a folder as ``livemoments suggest DIR --json`` prints it: ``{"path", "frames" (best first),
    "notes", "key_index", "frame_count", "key_time_s"}``, or ``{"path", "error", "frames": []}`` for a photo that
    cannot be read or scored."""
    from livemoments_app.core.errors import LivePhotoError

    if entry.error:
        return {"path": str(entry.path), "error": entry.error, "frames": []}
    try:
        scores = score_entry(entry, cache, progress, faces=faces)
    except LivePhotoError as exc:
        return {"path": str(entry.path), "error": str(exc), "frames": []}
    return {"path": str(entry.path), **scores["ranking"], "key_time_s": scores["key_time_s"]}


def attach_best(entry: LibraryEntry) -> None:
    """Sets ``entry.best`` from cached scores made by this scorer (scores by another one are dropped)."""
    if entry.scores is not None and entry.scores_version != scorer_version():
        entry.scores = entry.scores_version = None
    entry.best = best_from_scores(entry.scores)
