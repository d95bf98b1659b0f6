"""HDR gain maps: what they add to opening a photo, to decoding, and to restoring a 12 MP frame.

    python -m benchmarks.hdr [--repeats 7] [--samples DIR]

On the iPhone 15 Pro sample (HEIC 3024 x 4032 with a 1512 x 2016 Apple gain map + ISO 21496-1 'tmap'):
* open: the container parse (``inspect_live_photo``) with the gain-map lookup, against the same parse with the
  lookup switched off (same run, interleaved); the still's decode and the clip's open are printed beside it, since
  they are what opening a photo mostly costs (the gain map's pixels are not decoded at open).
* gain map decode: the first use of ``Still.gain_map`` (libheif), against the still's own decode.
* making the restored frame's gain map for frame 17 (12 MP output): ``core.hdr.restored.gain_map_for``, against
  the classic restore of the same frame (alignment given) measured in the same run. Target: well under 1 s.
* the clip's HDR frame: ``FrameSource.hdr_frame`` on the 10-bit HLG sample against ``frame`` (its SDR rendition,
  RGB cache emptied first), both from the decoded picture.

Medians of wall time; the machine may be shared: the load average is printed with every result.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from benchmarks._common import SAMPLES

SAMPLE = "apple_iphone15pro_IMG_4394.HEIC"
HLG = "iphone14pro_dolbyvision_hlg_notlive.MOV"
FRAME = 17


def _load() -> str:
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_open(path: Path, repeats: int) -> None:
    from livemoments_app.core.clip import FrameSource
    from livemoments_app.core.livephoto import inspect_live_photo, open as open_mod
    from livemoments_app.core.livephoto.still import colour_target_for

    finder = open_mod._find_gain_map
    with_map, without = [], []
    for _ in range(repeats):
        for on, bucket in ((True, with_map), (False, without)):
            open_mod._find_gain_map = finder if on else (lambda meta, _finder: None)
            started = time.perf_counter()
            parse = inspect_live_photo(path)
            bucket.append(time.perf_counter() - started)
    open_mod._find_gain_map = finder
    assert parse.still.hdr is None and inspect_live_photo(path).still.hdr is not None
    parse = inspect_live_photo(path)
    still_s = _median(lambda: open_mod.decode_still(parse.still), 3)
    still = open_mod.decode_still(parse.still)

    def clip_open():
        FrameSource.open(parse.clip_path, parse.video_range, colour_target=colour_target_for(still.icc_profile)).close()

    clip_s = _median(clip_open, 3)
    on, off = statistics.median(with_map), statistics.median(without)
    total_off = off + still_s + clip_s
    print(f"open: parse {on * 1000:.2f} ms with the gain-map lookup, {off * 1000:.2f} ms without "
          f"(+{(on - off) * 1000:.2f} ms); still decode {still_s * 1000:.0f} ms, clip open {clip_s * 1000:.0f} ms: "
          f"opening costs {(on - off) / total_off:+.1%} more ({_load()})")

    def first_use():
        ref = inspect_live_photo(path).still.hdr
        started = time.perf_counter()
        ref.load()
        return time.perf_counter() - started

    decode_s = statistics.median(first_use() for _ in range(3))
    print(f"gain map decode (first use, {still.hdr.size[0]}x{still.hdr.size[1]}): {decode_s * 1000:.0f} ms = "
          f"{decode_s / still_s:.0%} of the still's decode ({_load()})")


def bench_make(path: Path, repeats: int) -> None:
    from livemoments_app.core.align import align
    from livemoments_app.core.hdr.restored import gain_map_for
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.restore.base import RestoreRequest
    from livemoments_app.core.restore.classic import ClassicRestorer

    with open_live_photo(path) as live:
        frame = live.clip.frame(FRAME)
        alignment = align(live, FRAME)
        live.still.gain_map     # decoded once, as the restore's first use would
        request = RestoreRequest(still=live.still.pixels, frame=frame, alignment=alignment)
        started = time.perf_counter()
        result = ClassicRestorer().restore(request, Progress())
        restore_s = time.perf_counter() - started
        make_s = _median(lambda: gain_map_for(result, live.still, alignment, frame, clip=live.clip, index=FRAME),
                         repeats)
        gain_map, info, _ = gain_map_for(result, live.still, alignment, frame, clip=live.clip, index=FRAME)
    h, w = result.pixels.shape[:2]
    print(f"restored gain map, frame {FRAME}, {w}x{h} output -> {gain_map.size[0]}x{gain_map.size[1]} map "
          f"({info['method']}): {make_s * 1000:.0f} ms; classic restore of the same frame {restore_s:.2f} s: "
          f"+{make_s / restore_s:.1%} ({_load()})")


def bench_hdr_frame(path: Path, repeats: int) -> None:
    from livemoments_app.core.clip import FrameSource

    with FrameSource.open(path, colour_target="display-p3") as clip:
        clip.prefetch()

        def sdr():
            clip.clear_cache(pictures=False)
            clip.frame(2)

        sdr_s = _median(sdr, repeats)
        hdr_s = _median(lambda: clip.hdr_frame(2), repeats)
        print(f"HLG clip {clip.width}x{clip.height}: hdr_frame {hdr_s * 1000:.1f} ms, frame (SDR) "
              f"{sdr_s * 1000:.1f} ms: x{hdr_s / sdr_s:.2f} ({_load()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    args = parser.parse_args()
    path = args.samples / SAMPLE
    if not path.exists():
        print(f"{SAMPLE} missing in {args.samples}: nothing to measure")
        return 0
    bench_open(path, args.repeats)
    bench_make(path, args.repeats)
    if (args.samples / HLG).exists():
        bench_hdr_frame(args.samples / HLG, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
