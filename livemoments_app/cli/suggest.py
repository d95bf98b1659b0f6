"""`livemoments suggest PATH [PARTNER] [--top N] [--json]`: which frames of a Live Photo are worth choosing.

Prints the frames best first with their score (0..1), time, parts and reasons; ``--json`` prints
``{"frames": [{"index", "time_s", "score", "parts", "reasons", ...}, ...], "notes": [...], ...}`` sorted best
first (``index`` 0-based within the clip). The files are only read.

PATH may be a folder: every Live Photo under it (as the app's library finds them) is ranked, and ``--json``
prints a list with one entry per photo, ``{"path": ..., "frames": [...], ...}`` (``{"path", "error"}`` for a
photo that cannot be read). Rankings are kept in the library cache (``--no-cache``: neither read nor written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_TOP = 5


def register(subparsers) -> None:
    parser = subparsers.add_parser("suggest", help="rank the frames of a Live Photo as candidates for a new key photo",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the still, the MOV of an Apple pair, or a Motion Photo")
    parser.add_argument("partner", nargs="?", type=Path, help="the other file of a pair (a still + video given "
                        "explicitly)")
    parser.add_argument("--top", type=int, metavar="N", help=f"print the N best frames (default {DEFAULT_TOP}; "
                        "with --json every frame)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--no-faces", action="store_true", help="leave faces out of the score")
    parser.add_argument("--no-cache", action="store_true", help="with a folder: do not use the library cache")
    parser.set_defaults(func=run)


def check_args(args: argparse.Namespace) -> None:
    if args.top is not None and args.top < 1:
        raise SystemExit("livemoments suggest: error: --top must be at least 1")


def suggest_photo(path: Path, partner: Path | None, *, faces: bool = True, progress=None) -> dict:
    """The JSON-ready ranking of one Live Photo (``path`` names it as the reader accepts)."""
    from livemoments_app.core.library.best import score_photo
    from livemoments_app.core.livephoto import open_live_photo

    with open_live_photo(path, partner) as live:
        scores = score_photo(live, progress, faces)
        return {"path": str(live.still_path), **scores["ranking"], "key_time_s": round(scores["key_time_s"], 6)}


def _text(result: dict, top: int) -> str:
    lines = [f"{result['path']}: {result['frame_count']} frames, key photo at frame {result['key_index']}"]
    for rank, f in enumerate(result["frames"][:top], 1):
        parts = ", ".join(f"{k} {v:.2f}" for k, v in f["parts"].items())
        key = "  (key photo)" if f.get("is_key") else ""
        lines.append(f"{rank:2d}. frame {f['index']:3d}  {f['time_s']:6.3f} s  score {f['score']:.3f}{key}")
        lines.append(f"      {parts}")
        for reason in f["reasons"][:4]:
            lines.append(f"      - {reason}")
    for note in result["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    check_args(args)
    if args.path.is_dir():
        return run_folder(args)
    return run_photo(args)


def run_photo(args: argparse.Namespace) -> int:
    """One Live Photo: its ranking as text or JSON."""
    from livemoments_app.cli.restore import terminal_progress

    progress, close = terminal_progress(sys.stderr.isatty() and not args.json)
    try:
        result = suggest_photo(args.path, args.partner, faces=not args.no_faces, progress=progress)
    finally:
        close()
    if args.json:
        if args.top is not None:
            result["frames"] = result["frames"][:args.top]
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_text(result, args.top or DEFAULT_TOP))
    return 0


def run_folder(args: argparse.Namespace) -> int:
    """A folder: every Live Photo under it with its ranking (JSON: a list, one entry per photo)."""
    from livemoments_app.cli.restore import terminal_progress
    from livemoments_app.core.library import LibraryCache, list_folder, read_listing, summarize
    from livemoments_app.core.library.best import ranking_entry

    if args.partner is not None:
        raise SystemExit("livemoments suggest: error: a folder takes no second file")
    progress, close = terminal_progress(sys.stderr.isatty())
    cache = None if args.no_cache else LibraryCache()
    try:
        listing = list_folder(args.path, progress.sub(0.0, 0.01))
        found = list(read_listing(listing, cache, progress.sub(0.01, 0.09)))
        photos = [f.entry for f in found if f.entry is not None]
        results = [ranking_entry(entry, cache, progress.sub(0.1 + 0.9 * k / len(photos), 0.9 / len(photos)),
                                 faces=not args.no_faces) for k, entry in enumerate(photos)]
    finally:
        close()
        if cache is not None:
            cache.close()
    if args.json:
        for result in results:
            result["frames"] = result["frames"][:args.top] if args.top is not None else result["frames"]
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for result in results:
            print(_folder_line(result, args.path))
    summary = summarize(listing, found)
    skipped = [f"{n} {what}{'s' if n != 1 else ''} {why}" for n, what, why in (
        (summary.stills_without_clip, "still", "without a clip"),
        (summary.videos_without_still, "video", "without a photo")) if n]
    print(f"{len(results)} Live Photo{'s' if len(results) != 1 else ''} in {args.path}"
          + (f"; skipped {', '.join(skipped)}" if skipped else ""), file=sys.stderr)
    failed = [r for r in results if "error" in r]
    for result in failed:
        print(f"  {result['error']}", file=sys.stderr)
    return 1 if failed else 0


def _folder_line(result: dict, root: Path) -> str:
    name = Path(result["path"]).relative_to(root) if Path(result["path"]).is_relative_to(root) else result["path"]
    if "error" in result:
        error = result["error"]
        prefix = f"{Path(result['path']).name}: "
        return f"{name}: cannot be ranked: {error[len(prefix):] if error.startswith(prefix) else error}"
    best = result["frames"][0]
    offset = best["time_s"] - result["key_time_s"]
    where = "the key photo" if best.get("is_key") else f"frame {best['index']}, {offset:+.2f} s from the key photo"
    reason = f" -- {best['reasons'][0]}" if best["reasons"] else ""
    return f"{name}: best {where} (score {best['score']:.2f}){reason}"
