"""`livemoments frames PATH [PARTNER] --out DIR [--every N | --times T ... | --indices I ... | --key]`: write
upright PNG frames of a Live Photo's clip (or of any plain video) in sRGB.

Files are named ``frame_<index>_<milliseconds>ms.png`` (index 0-based in presentation order, time in movie time)
and written atomically; the sources are only read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from livemoments_app.core.errors import ExportError, NotALivePhotoError


def register(subparsers) -> None:
    parser = subparsers.add_parser("frames", help="write PNG frames of a Live Photo's clip or of a video",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a Live Photo / Motion Photo (either file of a pair) or a plain video")
    parser.add_argument("partner", nargs="?", help="the other file of a pair (a still + video given explicitly)")
    parser.add_argument("--out", required=True, type=Path, help="folder to write PNGs into (created if missing)")
    pick = parser.add_mutually_exclusive_group()
    pick.add_argument("--every", type=int, metavar="N", help="every Nth frame (default: every frame)")
    pick.add_argument("--times", type=float, nargs="+", metavar="T",
                      help="the frames nearest these times, in seconds")
    pick.add_argument("--indices", type=int, nargs="+", metavar="I", help="these frame indices (0-based)")
    pick.add_argument("--key", action="store_true", help="only the frame nearest the key photo's time")
    parser.add_argument("--max-side", type=int, metavar="PX", help="scale frames down to at most PX pixels")
    parser.add_argument("--quiet", action="store_true", help="do not list the files written")
    parser.set_defaults(func=run)


def open_clip(path: Path, partner: Path | None):
    """(FrameSource, key time or None). Live Photos are parsed (the still is not decoded); a plain video is
    opened directly."""
    from livemoments_app.core.clip import FrameSource
    from livemoments_app.core.livephoto import inspect_live_photo

    try:
        parse = inspect_live_photo(path, partner)
    except NotALivePhotoError:
        if partner is not None:
            raise
        # A plain video (or a MOV without its still): its frames are still worth writing.
        return FrameSource.open(path), None
    clip = FrameSource.open(parse.clip_path, byte_range=parse.video_range)
    key = parse.key_time_s
    if key is None and parse.key_time_source.value == "spec_fallback_midpoint":
        from livemoments_app.core.livephoto.open import spec_fallback_time

        key = spec_fallback_time(clip.times, clip.duration_s)
    return clip, key


def select_indices(args, clip, key_time: float | None) -> list[int]:
    n = clip.frame_count
    if args.times:
        picked = [clip.nearest_index(t) for t in args.times]
    elif args.indices:
        bad = [i for i in args.indices if not 0 <= i < n]
        if bad:
            raise SystemExit(f"livemoments frames: error: frame index {bad[0]} out of range 0..{n - 1}")
        picked = list(args.indices)
    elif args.key:
        if key_time is None:
            raise SystemExit("livemoments frames: error: this file has no stored key time (give --times)")
        picked = [clip.nearest_index(key_time)]
    else:
        step = 1 if args.every is None else args.every
        if step < 1:
            raise SystemExit("livemoments frames: error: --every must be at least 1")
        picked = list(range(0, n, step))
    return sorted(set(picked))


def write_image(rgb, path: Path) -> None:
    """An RGB image (sRGB, no profile needed) encoded by the name's extension (PNG without one), written to a
    temporary name beside it, then renamed. `align -o` writes its overlay with it too."""
    import cv2

    from livemoments_app.core.export.files import write_bytes_atomic

    ext = path.suffix.lower() or ".png"
    params = [cv2.IMWRITE_PNG_COMPRESSION, 3] if ext == ".png" else []
    ok, data = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ExportError(f"cannot encode an image as {ext}", path)
    write_bytes_atomic(path.absolute(), data.tobytes(), overwrite=True)


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if args.max_side is not None and args.max_side < 1:
        raise SystemExit("livemoments frames: error: --max-side must be at least 1")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the output folder ({exc.strerror or exc})", out) from exc
    clip, key_time = open_clip(Path(args.path), Path(args.partner) if args.partner else None)
    with clip:
        wanted = select_indices(args, clip, key_time)
        if len(wanted) > 3:
            # Many frames: one sequential pass decodes each picture once.
            keep = set(wanted)
            frames = clip.iter_frames(wanted[0], wanted[-1] + 1, max_side=args.max_side)
            frames = ((i, rgb) for i, rgb in frames if i in keep)
        else:
            from livemoments_app.core.clip import fit_within

            side = args.max_side
            frames = ((i, fit_within(clip.frame(i), side) if side else clip.frame(i)) for i in wanted)
        written = 0
        for i, rgb in frames:
            name = out / f"frame_{i:04d}_{round(clip.times[i] * 1000):06d}ms.png"
            write_image(rgb, name)
            written += 1
            if not args.quiet:
                print(name)
    if not args.quiet:
        print(f"{written} frame(s) of {clip.frame_count} written to {out}", file=sys.stderr)
    return 0
