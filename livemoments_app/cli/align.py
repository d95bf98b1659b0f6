"""`livemoments align PATH [PARTNER] --time T | --frame I [--overlay MODE -o OUT.png] [--json]`.

Registers the key photo onto a frame of the clip and prints the global transform, the number of feature inliers,
the median motion from the key frame and the share of the frame that is well aligned; optionally writes an
overlay image (blend, difference, checkerboard, edges, flow, confidence).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from livemoments_app.core.align.overlays import MODES


def register(subparsers) -> None:
    parser = subparsers.add_parser("align", help="align the key photo onto a frame and show how well it fits",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the still, the MOV of an Apple pair, or a Motion Photo")
    parser.add_argument("partner", nargs="?", help="the other file of a pair (a still + video given explicitly)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--time", type=float, help="clip time in seconds (nearest frame by timestamp)")
    which.add_argument("--frame", type=int, help="frame index, 0-based (the app counts from 1: its \"Frame 38\" is --frame 37); default: the key frame")
    parser.add_argument("--overlay", choices=MODES, default="blend", help="overlay to write with -o")
    parser.add_argument("--opacity", type=float, default=0.5, help="still opacity of the blend overlay")
    parser.add_argument("-o", "--output", help="write the overlay here (PNG/JPEG, by extension)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args) -> int:
    from livemoments_app.cli.frames import write_image
    from livemoments_app.core.align import align, render_overlay
    from livemoments_app.core.livephoto import open_live_photo

    with open_live_photo(args.path, args.partner) as live:
        clip = live.clip
        if args.frame is not None:
            if not 0 <= args.frame < clip.frame_count:
                print(f"livemoments: error: frame {args.frame} is outside the clip (0..{clip.frame_count - 1})",
                      file=sys.stderr)
                return 2
            index = args.frame
        elif args.time is not None:
            index = clip.nearest_index(args.time)
        else:
            index = live.key_frame_index
        result = align(live, index)
        if args.output:
            image = render_overlay(args.overlay, result, live.still.pixels, clip.frame(index),
                                   opacity=args.opacity)
            write_image(image, Path(args.output))
        summary = result.summary()
        summary["frame_time_s"] = float(clip.times[index])
        summary["key_time_s"] = float(live.key_time_s)
        if args.output:
            summary["overlay"] = {"mode": args.overlay, "path": os.path.abspath(args.output)}
        if args.json:
            print(json.dumps(summary, indent=2))
            return 0
        m = result.still_to_key
        print(f"frame {index} at {summary['frame_time_s']:.3f} s (key frame {result.key_index} at "
              f"{live.key_time_s:.3f} s)")
        print("still -> key frame transform:")
        for row in m:
            print("  [" + "  ".join(f"{v:12.6f}" for v in row) + " ]")
        refined = (f"refined on {result.refine_inliers} flow vectors, RMS {result.refine_rms:.2f} px"
                   if result.refine_inliers else "not refined (too few reliable flow vectors)")
        keypoints = (f" (keypoint reprojection RMS {result.reprojection_error:.2f} px)"
                     if result.inliers else "")
        print(f"placement: {result.method}, {result.inliers} feature inliers of {result.matches} matches"
              f"{keypoints}; {refined}")
        print(f"median flow from the key frame: {result.median_flow_px:.2f} px "
              f"(median residual still -> key frame {result.median_residual_px:.2f} px)")
        print(f"aligned share: {result.aligned_share:.1%} (forward-backward consistent: {result.fb_share:.1%})")
        if args.output:
            print(f"wrote {args.overlay} overlay to {args.output}")
    return 0
