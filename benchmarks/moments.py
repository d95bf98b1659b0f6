"""How fast every frame of a clip is scored: ``python -m benchmarks.moments [--repeats N]``.

For every decodable sample: ``core.moments.suggest`` on a freshly opened photo (so the clip is decoded inside the
timing, as when the app scores a photo it just opened), against the bare decoding pass it starts from
(``FrameSource.iter_frames(max_side=960)``: every frame decoded once and scaled while converting) measured in the
same run. Medians of wall and CPU time; the 2-core machine is shared, so the load average is printed.

Target: the frames of a 55-frame 1440x1920 clip scored in <= 3 s on 2 cores (the iPhone 15 Pro sample has 53;
its time is also given scaled to 55 frames).
"""

from __future__ import annotations

import argparse
import os
import sys

from benchmarks._common import SAMPLES, Stopwatch, present

NAMES = [
    "apple_iphone15pro_IMG_4394.HEIC",
    "apple_iphone6s_0FFBE909.jpeg",
    "samsung_s22_oneui6_motionphoto.heic",
    "libmphoto_heic_motionphoto_pixel4video.heic",
]
TARGET_S = 3.0
TARGET_FRAMES = 55


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from livemoments_app.core.errors import LivePhotoError
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.moments import MomentOptions, faces, suggest

    try:
        faces.load_analyser()      # model loading is once per process, not per photo
        face_state = "faces on"
    except faces.FacesUnavailable as exc:
        face_state = f"faces off ({exc})"
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min); medians of "
          f"{args.repeats}; {face_state}\n")
    print(f"{'sample':<46}{'frames':>7}{'size':>11}{'decode':>9}{'score':>8}{'cpu':>8}{'x dec':>7}"
          f"{'per frame':>11}  best frames")
    print(f"{'':<46}{'':>7}{'':>11}{'s':>9}{'s':>8}{'s':>8}{'':>7}{'ms':>11}")
    misses = []
    for path in present(SAMPLES, NAMES):
        decode, score = Stopwatch(), Stopwatch()
        result = None
        try:
            for _ in range(args.repeats):
                with open_live_photo(path) as live:
                    with decode:
                        for _i, _f in live.clip.iter_frames(max_side=MomentOptions().work_side):
                            pass
                with open_live_photo(path) as live:
                    n, size = live.clip.frame_count, f"{live.clip.width}x{live.clip.height}"
                    with score:
                        result = suggest(live)
        except LivePhotoError as exc:
            print(f"{path.name:<46} not decodable: {exc}")
            continue
        dw, _dc = decode.medians()
        sw, sc = score.medians()
        best = ", ".join(f"#{f.index} {f.score:.2f}" for f in result.top(3))
        print(f"{path.name:<46}{n:>7}{size:>11}{dw:>9.2f}{sw:>8.2f}{sc:>8.2f}{sw / dw:>7.2f}{sw / n * 1000:>11.1f}"
              f"  {best}")
        if size == "1440x1920":
            scaled = sw * TARGET_FRAMES / n
            verdict = "PASS" if scaled <= TARGET_S else "MISS"
            line = (f"  {verdict}  {n} frames at 1440x1920 in {sw:.2f} s -> {TARGET_FRAMES} frames ~ {scaled:.2f} s "
                    f"(target <= {TARGET_S} s; load average now {os.getloadavg()[0]:.1f})")
            print(line)
            if verdict != "PASS":
                misses.append(line)
    print("\nscore = suggest() on a freshly opened photo (decoding included); decode = the same frames decoded and "
          "scaled with nothing else done; x dec = score / decode")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
