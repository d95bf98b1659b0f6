"""Makes the pictures in docs/images/ from a real Live Photo, with the app's own code.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_images.py [--samples ../shared/samples]
                                                                   [--only core|app|library]

core: alignment overlays and a before/after crop (core API, no Qt).
app:  screenshots of the main window and the before/after view, rendered offscreen with QWidget.grab().
hdr:  the restored frame's gain map and its parts, a gain map derived from an HDR clip, and the app's HDR overlay
      and export dialog.
library: the library grid of a folder and its restore queue (docs_library_screens.py).
Every PNG is kept under 300 KB (downscaled, then palette-quantised if still too big).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
SAMPLE = "apple_iphone15pro_IMG_4394.HEIC"
MAX_BYTES = 300_000


def demo_moment(live) -> int:
    """The frame every picture shows: the one the demo opens on (ui/demo.py), so the README's screens, the
    overlays and the crops are one and the same moment."""
    from livemoments_app.ui.demo import demo_frame

    return demo_frame(live)


def save_png(image: Image.Image | np.ndarray, name: str, max_width: int | None = None) -> Path:
    """Saves under docs/images, shrinking until the file is under MAX_BYTES."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image = image.convert("RGB")
    if max_width and image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    data = _png_bytes(image)
    if len(data) > MAX_BYTES:
        data = _png_bytes(image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG))
    while len(data) > MAX_BYTES:
        image = image.resize((image.width * 4 // 5, image.height * 4 // 5), Image.LANCZOS)
        data = _png_bytes(image.quantize(256))
    path = IMAGES / name
    path.write_bytes(data)
    print(f"{path.relative_to(ROOT)}  {image.width}x{image.height}  {len(data) // 1024} KB")
    return path


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def label(image: np.ndarray, text: str) -> np.ndarray:
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    font_size = max(14, pil.width // 22)
    try:
        from PIL import ImageFont
        font = ImageFont.load_default(size=font_size)
    except TypeError:  # Pillow < 10.1
        font = None
    box = draw.textbbox((0, 0), text, font=font)
    draw.rectangle((0, 0, box[2] + 16, box[3] + 12), fill=(0, 0, 0))
    draw.text((8, 4), text, fill=(255, 255, 255), font=font)
    return np.asarray(pil)


def row(images: list[np.ndarray], gap: int = 8) -> np.ndarray:
    h = max(i.shape[0] for i in images)
    out = np.full((h, sum(i.shape[1] for i in images) + gap * (len(images) - 1), 3), 255, np.uint8)
    x = 0
    for i in images:
        out[:i.shape[0], x:x + i.shape[1]] = i
        x += i.shape[1] + gap
    return out


def core_pictures(samples: Path) -> None:
    import cv2

    from livemoments_app.core.align import align, render_overlay
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.restore.base import RestoreRequest
    from livemoments_app.core.restore.classic.restorer import ClassicRestorer

    live = open_live_photo(samples / SAMPLE)
    index = demo_moment(live)
    frame = live.clip.frame(index)
    still = live.still.pixels
    alignment = align(live, index)
    print(f"frame #{index} at {live.clip.times[index]:.3f} s (key #{live.key_frame_index}); "
          f"aligned share {alignment.aligned_share:.2f}, inliers {alignment.inliers}")

    # The overlays, as the side panel shows them, at a third of the clip resolution.
    panels = []
    for mode, caption in (("blend", "blend 50 %"), ("checkerboard", "checkerboard"), ("flow", "motion (flow)"),
                          ("confidence", "confidence")):
        overlay = render_overlay(mode, alignment, still, frame)
        small = cv2.resize(overlay, (overlay.shape[1] // 3, overlay.shape[0] // 3), interpolation=cv2.INTER_AREA)
        panels.append(label(small, caption))
    save_png(row(panels), "alignment-overlays.png")

    restored = ClassicRestorer().restore(RestoreRequest(still=still, frame=frame, alignment=alignment),
                                         Progress()).pixels
    oh, ow = restored.shape[:2]
    upscaled = cv2.resize(frame, (ow, oh), interpolation=cv2.INTER_LANCZOS4)
    warped, _valid = alignment.warp_still(still, scale=ow / frame.shape[1])
    # A 100 % crop where the alignment is confident and the still has texture: where restoration shows.
    confidence = cv2.resize(alignment.confidence.astype(np.float32), (ow, oh))
    grey = cv2.cvtColor(restored, cv2.COLOR_RGB2GRAY).astype(np.float32)
    texture = cv2.blur(np.abs(cv2.Laplacian(grey, cv2.CV_32F)), (151, 151))
    size = 360
    score = cv2.blur(confidence, (size, size)) * texture
    margin = size // 2 + 1
    score[:margin], score[-margin:], score[:, :margin], score[:, -margin:] = 0, 0, 0, 0
    cy, cx = np.unravel_index(int(np.argmax(score)), score.shape)
    y0, x0 = cy - size // 2, cx - size // 2
    crop = (slice(y0, y0 + size), slice(x0, x0 + size))
    save_png(row([label(np.ascontiguousarray(upscaled[crop]), "video frame, upscaled"),
                  label(np.ascontiguousarray(restored[crop]), "restored (classic)"),
                  label(np.ascontiguousarray(warped[crop]), "key photo, aligned")]), "restore-crop.png")
    print(f"crop at x={x0} y={y0} of the {ow}x{oh} output")


def _stops_grey(stops: np.ndarray, top: float, width: int) -> np.ndarray:
    """Gains in stops as grey (black = no boost, white = ``top`` stops), ``width`` pixels wide."""
    import cv2

    grey = (np.clip(stops / top, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    small = cv2.resize(grey, (width, round(grey.shape[0] * width / grey.shape[1])), interpolation=cv2.INTER_AREA)
    return np.repeat(small[..., None], 3, axis=2)


def hdr_pictures(samples: Path) -> float:
    """Returns the time of the frame it pictured."""
    import cv2

    from livemoments_app.core.align import align
    from livemoments_app.core.clip import FrameSource
    from livemoments_app.core.hdr import encoding
    from livemoments_app.core.hdr.restored import clip_gain_stops, gain_map_for
    from livemoments_app.core.jobs import Progress
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.restore.base import RestoreRequest
    from livemoments_app.core.restore.classic.restorer import ClassicRestorer

    width = 300
    with open_live_photo(samples / SAMPLE) as live:
        index = demo_moment(live)
        frame_time_s = float(live.clip.times[index])
        frame = live.clip.frame(index)
        alignment = align(live, index)
        result = ClassicRestorer().restore(RestoreRequest(still=live.still.pixels, frame=frame, alignment=alignment),
                                           Progress())
        key = live.still.gain_map
        gain_map, info, parts = gain_map_for(result, live.still, alignment, frame, clip=live.clip, index=index,
                                             keep_parts=True)
    top = key.headroom_stops
    print(f"gain map of frame #{index}: {info}")
    photo = cv2.resize(result.pixels, (width, round(result.pixels.shape[0] * width / result.pixels.shape[1])),
                       interpolation=cv2.INTER_AREA)
    trust = _stops_grey(parts.trust, 1.0, width)
    save_png(row([label(photo, "restored frame"), label(_stops_grey(encoding.to_stops(key), top, width), "key map"),
                  label(_stops_grey(parts.warped[..., 0], top, width), "warped"),
                  label(_stops_grey(parts.new_content[..., 0], top, width), "from brightness"),
                  label(trust, "trust"), label(_stops_grey(encoding.to_stops(gain_map), top, width), "result")]),
             "hdr-gain-maps.png")
    # Where a man walks through the alley (right edge, lower third), at the map's own resolution.
    h, w = parts.trust.shape
    crop = (slice(int(h * 0.60), int(h * 0.82)), slice(int(w * 0.74), w))
    cw = crop[1].stop - crop[1].start
    save_png(row([label(_stops_grey(parts.warped[crop][..., 0], top, cw), "warped key map"),
                  label(_stops_grey(parts.trust[crop], 1.0, cw), "trust"),
                  label(_stops_grey(encoding.to_stops(gain_map)[crop], top, cw), "result")]),
             "hdr-gain-map-crop.png")

    # An HDR clip: its frame's own gain map, HDR light over the SDR rendition the restorer works from.
    with FrameSource.open(samples / "iphone14pro_dolbyvision_hlg_notlive.MOV", colour_target="display-p3") as clip:
        sdr, hdr = clip.frame(2), clip.hdr_frame(2)
    ratio = clip_gain_stops(hdr, sdr, "display-p3")[..., 0]
    small = cv2.resize(sdr, (width, round(sdr.shape[0] * width / sdr.shape[1])), interpolation=cv2.INTER_AREA)
    save_png(row([label(small, "SDR rendition"), label(_stops_grey(ratio, float(ratio.max()), width),
                                                       f"HDR/SDR, 0..{ratio.max():.1f} stops")]),
             "hdr-clip-gain-map.png")
    return frame_time_s


def app_pictures() -> None:
    from docs_app_screens import app_screenshots  # noqa: F401  (kept beside this file)

    app_screenshots(save_png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument("--only", choices=("core", "app", "hdr", "library"))
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
    IMAGES.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "core"):
        core_pictures(args.samples)
    if args.only in (None, "app"):
        app_pictures()
    if args.only in (None, "hdr"):
        from docs_app_screens import hdr_screenshots

        frame_time_s = hdr_pictures(args.samples)
        hdr_screenshots(args.samples / SAMPLE, frame_time_s, save_png)
    if args.only in (None, "library"):
        from docs_library_screens import library_screenshots

        library_screenshots(args.samples, save_png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
