"""`livemoments restore`: restore one frame of a Live Photo (or a plain frame) with the key photo as reference.

    livemoments restore PATH (--time T | --frame I) [--restorer classic|livemoments|auto]
                        [--device auto|cpu|cuda|mps] [--scale S] -o OUT
    livemoments restore --reference STILL --target FRAME [--scale S] -o OUT

The output keeps the key photo's metadata (EXIF, ICC profile, XMP). A progress bar is shown on a terminal only.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from livemoments_app.cli import batch
from livemoments_app.core.errors import ExportError, LivePhotoError, RestoreError, UnreadableFileError
from livemoments_app.core.jobs import Progress

RESTORERS = ("auto", "classic", "livemoments")
DEVICES = ("auto", "cpu", "cuda", "mps")


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
    when.add_argument("--frame", type=int, metavar="I", help="index of the frame in the clip, 0-based (the app counts from 1: its \"Frame 38\" is --frame 37)")
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
    batch.add_arguments(parser)
    parser.set_defaults(func=run)


@dataclass
class RestoreJob:
    """One restoration, as the CLI (and a batch loop wrapping it) describes it."""

    path: Path | None = None
    partner: Path | None = None
    time_s: float | None = None
    frame_index: int | None = None
    offset_s: float | None = None       # seconds from the key photo
    reference: Path | None = None
    target: Path | None = None
    restorer: str = "auto"
    device: str = "auto"
    scale: float | None = None
    model_dirs: list[str] | None = None
    align_options: object | None = None     # core.align.AlignOptions; None: the aligner's defaults

    def check(self) -> None:
        pair = self.reference is not None or self.target is not None
        if pair:
            if self.path is not None:
                raise RestoreError("give either a Live Photo PATH or --reference/--target, not both")
            if self.reference is None or self.target is None:
                raise RestoreError("plain-image mode needs both --reference STILL and --target FRAME")
            if self.time_s is not None or self.frame_index is not None or self.offset_s is not None:
                raise RestoreError("--time/--frame apply to a Live Photo, not to --reference/--target")
        else:
            if self.path is None:
                raise RestoreError("give a Live Photo PATH (with --time or --frame) or --reference and --target")
            if self.time_s is None and self.frame_index is None and self.offset_s is None:
                raise RestoreError("say which frame to restore: --time T, --frame I or --offset S")
        if self.scale is not None and not (0.05 <= self.scale <= 16):
            raise RestoreError(f"--scale must be between 0.05 and 16, got {self.scale}")


@dataclass
class RestoreOutcome:
    image: object                      # RestoredImage
    metadata_source: object            # what export_still takes the metadata from (LivePhoto or StillMetadata)
    frame_index: int | None
    info: dict


def restore_job(job: RestoreJob, progress: Progress) -> RestoreOutcome:
    """Runs one restoration: open, pick the frame, align, restore. Writes nothing."""
    job.check()
    if job.reference is not None:
        return _restore_pair(job, progress)
    return _restore_live(job, progress)


def _restorer(job: RestoreJob):
    from livemoments_app.core.restore import registry

    restorer = registry.create(job.restorer, job.model_dirs)
    # Asked for by name: say why it cannot run rather than fall back silently. The diffusion restorer on an
    # explicit CPU device is allowed (slow but possible); missing weights still fail when it starts.
    if job.restorer != "auto" and not (job.restorer == "livemoments" and job.device == "cpu"):
        availability = restorer.availability()
        if not availability.ok:
            raise RestoreError(f"the {job.restorer} restorer is not available: {availability.reason}")
    return restorer


def _restore_live(job: RestoreJob, progress: Progress) -> RestoreOutcome:
    from livemoments_app.core.align import align
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.restore.base import RestoreRequest

    restorer = _restorer(job)
    progress.set(0.0, "Opening")
    with open_live_photo(job.path, job.partner) as live:
        clip = live.clip
        index = pick_frame(live, job)
        progress.set(0.05, "Aligning")
        alignment = align(live, index, job.align_options, progress=progress.sub(0.05, 0.2))
        frame = clip.frame(index)
        request = RestoreRequest(still=live.still.pixels, frame=frame, alignment=alignment, scale=job.scale,
                                 device=job.device)
        result = restorer.restore(request, progress.sub(0.25, 0.75))
        info = {"frame_index": index, "time_s": float(clip.times[index]), "key_time_s": live.key_time_s,
                "aligned_share": float(getattr(alignment, "aligned_share", float("nan")))}
    # The closed LivePhoto still carries the key photo's metadata and the clip's times that export reads.
    return RestoreOutcome(result, live, index, info)


def pick_frame(live, job: RestoreJob) -> int:
    """The clip frame ``job`` asks for (--frame, --time, or --offset from the key photo)."""
    clip = live.clip
    if job.frame_index is not None:
        if not 0 <= job.frame_index < clip.frame_count:
            raise RestoreError(f"--frame {job.frame_index} is outside the clip (0..{clip.frame_count - 1})",
                               job.path)
        return job.frame_index
    if job.offset_s is not None:
        t = live.key_time_s + job.offset_s
        what = f"--offset {job.offset_s:+g} s (key photo at {live.key_time_s:.3f} s)"
    else:
        t, what = job.time_s, f"--time {job.time_s:g} s"
    if not -0.5 <= t <= clip.duration_s + 0.5:
        raise RestoreError(f"{what} is outside the clip (0..{clip.duration_s:.3f} s)", job.path)
    return clip.nearest_index(t)


def read_image(path: Path, what: str) -> "object":
    """A plain image file as a Still (upright RGB, metadata kept)."""
    from livemoments_app.core.livephoto.still import decode_heif, decode_pillow

    if not path.is_file():
        raise UnreadableFileError(f"the {what} does not exist or is not a file", path)
    if path.suffix.lower() in (".heic", ".heif", ".hif", ".avif"):
        return decode_heif(path)
    return decode_pillow(path)


def _restore_pair(job: RestoreJob, progress: Progress) -> RestoreOutcome:
    from livemoments_app.core.align import align_pair
    from livemoments_app.core.export import StillMetadata
    from livemoments_app.core.restore.base import RestoreRequest

    restorer = _restorer(job)
    progress.set(0.0, "Reading the images")
    still = read_image(job.reference, "reference")
    frame = read_image(job.target, "target").pixels
    if frame.dtype != np.uint8:
        frame = (frame >> 8).astype(np.uint8)
    progress.set(0.05, "Aligning")
    try:
        alignment = align_pair(still.pixels, frame, job.align_options, progress=progress.sub(0.05, 0.2))
    except LivePhotoError as exc:
        raise type(exc)(exc.reason, job.target) from None
    request = RestoreRequest(still=still.pixels, frame=frame, alignment=alignment, scale=job.scale,
                             device=job.device)
    result = restorer.restore(request, progress.sub(0.25, 0.75))
    meta = replace(StillMetadata.of(still), source_paths=[job.reference, job.target])
    return RestoreOutcome(result, meta, None, {"aligned_share": float(getattr(alignment, "aligned_share", 0.0))})


def write_result(outcome: RestoreOutcome, output: str | os.PathLike, *, overwrite: bool = False,
                 fmt: str = "auto") -> Path:
    """Writes the restored image with the key photo's metadata (atomically; never over a source file)."""
    from livemoments_app.core.export import ExportOptions, export_still

    result = export_still(outcome.image, outcome.metadata_source, output,
                          ExportOptions(format=fmt, overwrite=overwrite))
    return result.path


def job_from_args(args: argparse.Namespace) -> RestoreJob:
    inputs = list(args.inputs or [])
    return RestoreJob(path=Path(inputs[0]) if inputs else None,
                      partner=Path(inputs[1]) if len(inputs) > 1 else None,
                      time_s=args.time, frame_index=args.frame, offset_s=args.offset,
                      reference=Path(args.reference) if args.reference else None,
                      target=Path(args.target) if args.target else None,
                      restorer=args.restorer, device=args.device, scale=args.scale, model_dirs=args.models)


def terminal_progress(enabled: bool):
    """(Progress, close) -- a tqdm bar on a terminal, silence otherwise."""
    if not enabled:
        return Progress(), lambda: None
    from tqdm import tqdm

    import shutil

    # A terminal that reports a 0x0 size (some ptys) would make tqdm draw nothing at all.
    size = shutil.get_terminal_size((80, 24))
    bar = tqdm(total=1000, unit="", bar_format="{desc:<28.28} {percentage:3.0f}%|{bar}| {elapsed}",
               file=sys.stderr, leave=False, ncols=min(size.columns or 80, 100), nrows=size.lines or 24)

    def update(fraction: float, text: str) -> None:
        bar.n = int(round(fraction * 1000))
        if text:
            bar.set_description_str(text, refresh=False)
        bar.refresh()

    return Progress(update), bar.close


def run(args: argparse.Namespace) -> int:
    if batch.wants_batch(args):
        return batch.run(args)
    job = job_from_args(args)
    job.check()
    if args.output and not args.overwrite and Path(args.output).is_file():
        # Found out now, not after a restore that can take minutes (export_still makes the same check at the end).
        raise ExportError("a file of that name already exists (use --overwrite, or pick another name)",
                          Path(args.output))
    progress, close = terminal_progress(sys.stderr.isatty())
    try:
        outcome = restore_job(job, progress)
        path = write_result(outcome, args.output, overwrite=args.overwrite, fmt=args.format)
    finally:
        close()
    image = outcome.image
    h, w = image.pixels.shape[:2]
    where = f" (frame {outcome.frame_index})" if outcome.frame_index is not None else ""
    print(f"{path}: {w}x{h}, {image.restorer} restorer{where}, {image.elapsed_s:.1f} s")
    return 0
