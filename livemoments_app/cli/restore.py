"""`livemoments restore`: restore one frame of a Live Photo (or a plain frame) with the key photo as reference.

    livemoments restore PATH (--time T | --frame I|key|best | --offset S) [--restorer classic|livemoments|auto]
                        [--device auto|cpu|cuda|mps] [--scale S] [--json] -o OUT
    livemoments restore --reference STILL --target FRAME [--scale S] [--json] -o OUT

The output keeps the key photo's metadata (EXIF, ICC profile, XMP). A progress bar is shown on a terminal only.
With --json one JSON object is printed instead of the line: the output path, its size and the frame's, the frame
index, the restorer, the seconds it took, the share of the picture restored from the key photo (the rest keeps
the clip frame's own pixels) and the share of the frame the alignment trusts. When ``--frame best`` finds the key
photo itself the best moment, nothing is written (its frame restored from the clip could only be worse than it):
the line says so, ``--json`` gives ``"output": null`` with a note, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from livemoments_app.cli import batch
from livemoments_app.core.errors import ExportError, RestoreError
from livemoments_app.core.jobs import Progress
from livemoments_app.core.pipeline import (DEVICES, KEY_PHOTO_IS_BEST, MOMENTS, RESTORERS, KeyPhotoIsBest, RestoreJob,
                                          restore_job, write_outcome)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "restore", help="restore a frame with the key photo as reference",
        description="Restore a chosen frame of a Live Photo / Motion Photo at the key photo's resolution and "
                    "rendering, or restore a plain image (--target) with another one (--reference).")
    parser.add_argument("inputs", nargs="*", metavar="PATH",
                        help="the Live Photo (still, MOV of a pair, or Motion Photo) and optionally its partner; "
                             "or many photos, folders and globs (batch mode, see --out)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--time", type=float, metavar="T", help="time of the frame in the clip, seconds")
    when.add_argument("--frame", type=batch.frame_arg, metavar="I",
                      help="index of the frame in the clip, 0-based (the app counts from 1: its \"Frame 38\" is "
                           "--frame 37); key: the key photo's own frame; best: the frame `livemoments suggest` "
                           "ranks first (when that is the key photo itself, nothing is written)")
    when.add_argument("--offset", type=float, metavar="S", help="seconds from the key photo (e.g. -0.3)")
    parser.add_argument("--reference", metavar="STILL", help="plain-image mode: the high-quality reference")
    parser.add_argument("--target", metavar="FRAME", help="plain-image mode: the low-quality image to restore")
    parser.add_argument("--restorer", choices=RESTORERS, default="auto",
                        help="auto: LiveMoments on a GPU with weights, else classic (default)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="for the diffusion restorer")
    parser.add_argument("--scale", type=float, metavar="S",
                        help="output size = frame size x S (default: the key photo's pixel density)")
    parser.add_argument("--models", metavar="DIR", action="append",
                        help="folder holding the diffusion weights (repeatable)")
    parser.add_argument("-o", "--output", metavar="OUT", help="output file or folder")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--format", choices=("auto", "jpeg", "heic", "png"), default="auto",
                        help="output format (auto: the key photo's, PNG for 16-bit)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON instead of text: for one photo its output, sizes, frame, restorer, "
                             "seconds, from_key_share and aligned_share; for a batch its summary")
    batch.add_arguments(parser)
    parser.set_defaults(func=run)


def check_args(args: argparse.Namespace) -> None:
    """The flag combinations that make no sense, named as the user typed them (the core's job check says the same
    in words that do not assume a command line)."""
    pair = args.reference is not None or args.target is not None
    when = args.time is not None or args.frame is not None or args.offset is not None
    if pair:
        if args.inputs:
            raise RestoreError("give either a Live Photo PATH or --reference/--target, not both")
        if args.reference is None or args.target is None:
            raise RestoreError("plain-image mode needs both --reference STILL and --target FRAME")
        if when:
            raise RestoreError("--time/--frame/--offset apply to a Live Photo, not to --reference/--target")
    else:
        if not args.inputs:
            raise RestoreError("give a Live Photo PATH (with --time or --frame) or --reference and --target")
        if not when:
            raise RestoreError("say which frame to restore: --time T, --frame I or --offset S")
    if args.scale is not None and not (0.05 <= args.scale <= 16):
        raise RestoreError(f"--scale must be between 0.05 and 16, got {args.scale}")


def job_from_args(args: argparse.Namespace) -> RestoreJob:
    inputs = list(args.inputs or [])
    return RestoreJob(path=Path(inputs[0]) if inputs else None,
                      partner=Path(inputs[1]) if len(inputs) > 1 else None,
                      time_s=args.time, offset_s=args.offset,
                      frame_index=None if args.frame in MOMENTS else args.frame,
                      moment=args.frame if args.frame in MOMENTS else None,
                      reference=Path(args.reference) if args.reference else None,
                      target=Path(args.target) if args.target else None,
                      restorer=args.restorer, device=args.device, scale=args.scale, model_dirs=args.models)


def terminal_progress(enabled: bool):
    """(Progress, close) -- a tqdm bar on a terminal, silence otherwise."""
    if not enabled:
        return Progress(), lambda: None
    from tqdm import tqdm

    from livemoments_app.cli.terminal import reported_size

    size = reported_size(sys.stderr)
    bar = tqdm(total=1000, unit="", bar_format="{desc:<28.28} {percentage:3.0f}%|{bar}| {elapsed}",
               file=sys.stderr, leave=False, ncols=min(size.columns, 100) if size else 80,
               nrows=size.lines if size else 24)

    def update(fraction: float, text: str) -> None:
        bar.n = int(round(fraction * 1000))
        if text:
            bar.set_description_str(text, refresh=False)
        bar.refresh()

    return Progress(update), bar.close


def _report_key_photo_is_best(kept: KeyPhotoIsBest, as_json: bool) -> int:
    """Nothing written, and why; not a failure (``--frame key`` restores that frame from the clip anyway)."""
    if as_json:
        import json

        print(json.dumps({"output": None, "frame_index": kept.frame_index, "key_frame_index": kept.frame_index,
                          "note": KEY_PHOTO_IS_BEST}, indent=2))
    else:
        print(f"{kept.path}: {KEY_PHOTO_IS_BEST} (frame {kept.frame_index}); nothing written")
    return 0


def run(args: argparse.Namespace) -> int:
    from livemoments_app.core.export import ExportOptions

    if batch.wants_batch(args):
        return batch.run(args)
    check_args(args)
    job = job_from_args(args)
    job.check()
    if args.output and not args.overwrite and Path(args.output).is_file():
        # Found out now, not after a restore that can take minutes (export_still makes the same check at the end).
        raise ExportError("a file of that name already exists (use --overwrite, or pick another name)",
                          Path(args.output))
    progress, close = terminal_progress(sys.stderr.isatty())
    try:
        outcome = restore_job(job, progress)
        options = ExportOptions(format=args.format, overwrite=args.overwrite)
        path = write_outcome(outcome, args.output, options).paths[0]
    except KeyPhotoIsBest as kept:
        return _report_key_photo_is_best(kept, args.json)
    finally:
        close()
    image = outcome.image
    h, w = image.pixels.shape[:2]
    if args.json:
        import json

        frame = image.from_key.shape[:2] if image.from_key is not None else (None, None)
        aligned = outcome.info.get("aligned_share")
        print(json.dumps({"output": str(path), "width": w, "height": h, "frame_width": frame[1],
                          "frame_height": frame[0], "frame_index": outcome.frame_index, "restorer": image.restorer,
                          "seconds": round(image.elapsed_s, 3), "from_key_share": image.from_key_share,
                          "aligned_share": aligned}, indent=2))
        return 0
    where = f" (frame {outcome.frame_index})" if outcome.frame_index is not None else ""
    print(f"{path}: {w}x{h}, {image.restorer} restorer{where}, {image.elapsed_s:.1f} s")
    return 0
