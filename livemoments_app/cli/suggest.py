"""`livemoments suggest PATH [PARTNER] [--top N] [--json]`: which frames of a Live Photo are worth choosing.

Prints the frames best first with their score (0..1), time, parts and reasons; ``--json`` prints
``{"frames": [{"index", "time_s", "score", "parts", "reasons", ...}, ...], "notes": [...], ...}`` sorted best
first (``index`` 0-based within the clip). The files are only read.
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
    parser.set_defaults(func=run)


def check_args(args: argparse.Namespace) -> None:
    if args.top is not None and args.top < 1:
        raise SystemExit("livemoments suggest: error: --top must be at least 1")


def suggest_photo(path: Path, partner: Path | None, *, faces: bool = True, progress=None) -> dict:
    """The JSON-ready ranking of one Live Photo (``path`` names it as the reader accepts)."""
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.moments import MomentOptions, suggest

    with open_live_photo(path, partner) as live:
        result = suggest(live, progress, options=MomentOptions(faces=faces))
        out = result.to_json()
        out["path"] = str(live.still_path)
        out["key_time_s"] = round(float(live.key_time_s), 6)
    return out


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
