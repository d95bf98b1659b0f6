"""Export time per format at 12 MP, against plain encoder baselines measured in the same run.

    python -m benchmarks.export [--repeats 3] [--image PATH]

Targets: HEIC (default, fast preset) <= 3 s, JPEG <= 1 s for a 12 MP still with full metadata.
Baselines: Pillow's plain JPEG save (no metadata), pillow-heif with its default x265 preset (what a naive export
would do), OpenCV PNG. The picture is the iPhone 15 Pro sample's key photo when ../shared/samples is present (real
content compresses differently from noise), else a smooth synthetic 4032x3024 image. Timings on a shared CPU are
noisy: medians are reported.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._common import SAMPLES, Stopwatch

SAMPLE = SAMPLES / "apple_iphone15pro_IMG_4394.HEIC"
TARGETS = {"heic": 3.0, "jpeg": 1.0}


def _subject(image: Path | None):
    """(pixels, metadata source) for the benchmark."""
    from livemoments_app.core.export import StillMetadata

    path = image or (SAMPLE if SAMPLE.exists() else None)
    if path is not None:
        from livemoments_app.core.livephoto import open_live_photo

        lp = open_live_photo(path)
        pixels, meta = lp.still.pixels, StillMetadata.of(lp)
        lp.close()
        return pixels, meta, path.name
    y, x = np.mgrid[0:3024, 0:4032].astype(np.float32)
    pixels = np.stack([x / 4032 * 255, y / 3024 * 255, (np.sin(x / 50) * np.cos(y / 70) + 1) * 127], -1)
    return pixels.astype(np.uint8), StillMetadata(), "synthetic 4032x3024"


def _medians(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads of this process) of ``repeats`` calls of ``fn``."""
    watch = Stopwatch()
    for _ in range(repeats):
        with watch:
            fn()
    return watch.medians()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image", type=Path, default=None, help="a Live Photo / Motion Photo still to use")
    parser.add_argument("--skip-slow-baseline", action="store_true",
                        help="skip pillow-heif's default preset (12-26 s per run)")
    args = parser.parse_args(argv)

    import cv2
    import pillow_heif
    from PIL import Image

    from livemoments_app.core.export import ExportOptions, export_still

    pixels, meta, label = _subject(args.image)
    mp = pixels.shape[0] * pixels.shape[1] / 1e6
    print(f"export benchmark: {label}, {pixels.shape[1]}x{pixels.shape[0]} ({mp:.1f} MP), "
          f"median of {args.repeats}")
    rows: list[tuple[str, float, float, int, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def ours(fmt: str, smaller: bool = False):
            sizes = []

            def run():
                result = export_still(pixels, meta, folder, ExportOptions(format=fmt, smaller_file=smaller))
                sizes.append(result.bytes_written)
                result.path.unlink()
            return *_medians(run, args.repeats), sizes[-1]

        def baseline(save) -> tuple[float, float, int]:
            sizes = []

            def run():
                buf = io.BytesIO()
                save(buf)
                sizes.append(buf.tell())
            return *_medians(run, args.repeats), sizes[-1]

        image = Image.fromarray(pixels)
        t, cpu, n = baseline(lambda b: image.save(b, "JPEG", quality=92))
        rows.append(("baseline: Pillow JPEG q92, no metadata", t, cpu, n, ""))
        base_jpeg = t
        t, cpu, n = ours("jpeg")
        rows.append(("LiveMoments JPEG (q92 4:4:4 + EXIF/ICC/XMP, atomic)", t, cpu, n,
                     f"x{t / base_jpeg:.2f} of baseline; target <= {TARGETS['jpeg']} s"))
        t, cpu, n = ours("jpeg", True)
        rows.append(("LiveMoments JPEG smaller file", t, cpu, n, ""))
        t, cpu, n = ours("heic")
        heic_fast = t
        rows.append(("LiveMoments HEIC default (x265 ultrafast q85)", t, cpu, n,
                     f"target <= {TARGETS['heic']} s"))
        if not args.skip_slow_baseline:
            def heic_default(b):
                pillow_heif.from_bytes("RGB", image.size, pixels.tobytes()).save(b, quality=85)
            buf = io.BytesIO()
            t, cpu = _medians(lambda: heic_default(buf), 1)
            rows.append(("baseline: pillow-heif default preset q85 (1 run)", t, cpu, buf.tell(),
                         f"ours is {t / heic_fast:.1f}x faster"))
        t, cpu, n = ours("heic", True)
        rows.append(("LiveMoments HEIC smaller file (medium q75)", t, cpu, n, ""))
        t, cpu, n = baseline(lambda b: b.write(cv2.imencode(".png", pixels[:, :, ::-1])[1].tobytes()))
        rows.append(("baseline: OpenCV PNG, no metadata", t, cpu, n, ""))
        t, cpu, n = ours("png")
        rows.append(("LiveMoments PNG (+ iCCP/eXIf/iTXt)", t, cpu, n, ""))
    width = max(len(r[0]) for r in rows)
    print(f"  {'':<{width}}  {'wall':>9}  {'cpu':>9}  {'size':>9}")
    for name, t, cpu, n, note in rows:
        print(f"  {name:<{width}}  {t:7.2f} s  {cpu:7.2f} s  {n / 1e6:6.2f} MB  {note}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  medians; cpu = process CPU time over all threads (less sensitive to other load); "
          f"load average now {load:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
