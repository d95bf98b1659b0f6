"""Key time by image similarity (explicit still + video pairs): accuracy against the stored key, and cost.

    python -m benchmarks.key_time_estimate [--repeats 3] [--samples DIR]

For every decodable real sample with a stored key time, the decoded still and the clip are given to
``estimate_key_frame`` as if they were an explicit pair (the stored key is what the estimate should find).
Printed per sample: stored and estimated frame, error in frames, score, peak margin and the confidence flag,
and the median wall time of the estimate. Baseline, same run: decoding every frame at the estimate's thumbnail
size and nothing else (the floor any frame-by-frame search pays); the ratio is estimate / decode-only.
Target: estimate < 1.5 s per pair. Times are medians on a machine that may be shared (load average printed).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmarks._common import SAMPLES, present, timed_median

CASES = [
    "apple_iphone6s_0FFBE909.jpeg",
    "apple_iphone15pro_IMG_4394.HEIC",
    "samsung_s22_oneui6_motionphoto.heic",
    "libmphoto_heic_motionphoto_pixel4video.heic",
]
TARGET_S = 1.5


def measure(path: Path, repeats: int) -> dict:
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.livephoto.estimate import THUMB_SIDE, estimate_key_frame

    with open_live_photo(path) as live:
        clip = live.clip

        def decode_only():
            clip.clear_cache()
            return sum(1 for _ in clip.iter_frames(max_side=THUMB_SIDE))

        def estimate():
            clip.clear_cache()
            return estimate_key_frame(live.still.pixels, clip)

        base_s, _ = timed_median(decode_only, repeats)
        est_s, result = timed_median(estimate, repeats)
        return {"stored": live.key_frame_index, "estimate": result, "est_s": est_s, "decode_s": base_s,
                "frames": clip.frame_count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    args = parser.parse_args(argv)
    print(f"key-time estimate, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"median of {args.repeats}")
    print(f"{'sample':46s} {'stored':>6s} {'est':>4s} {'err':>4s} {'score':>6s} {'margin':>7s} {'sure':>5s} "
          f"{'est s':>6s} {'decode s':>8s} {'ratio':>6s}")
    slow = []
    for path in present(args.samples, CASES):
        name = path.name
        r = measure(path, args.repeats)
        e = r["estimate"]
        print(f"{name:46s} {r['stored']:6d} {e.index:4d} {e.index - r['stored']:+4d} {e.score:6.3f} "
              f"{e.margin:7.4f} {'yes' if e.confident else 'no':>5s} {r['est_s']:6.2f} {r['decode_s']:8.2f} "
              f"{r['est_s'] / r['decode_s']:6.2f}")
        if r["est_s"] > TARGET_S:
            slow.append(name)
    if slow:
        print(f"over the {TARGET_S} s target on this run: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
