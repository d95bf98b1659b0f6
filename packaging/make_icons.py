"""Renders the app icon (livemoments_app/ui/resources/livemoments.svg, the one source the window also uses) into
the raster icons the bundles need (packaging/icons/).

PNG sizes for Linux (hicolor theme) and the Qt window icon, a multi-size .ico for Windows and an .icns for macOS.
Run from the repository root after editing the SVG:  .venv/bin/python packaging/make_icons.py
Qt renders the SVG (QtSvg ships with PySide6-Essentials); Pillow packs the .ico and .icns containers.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image

ICONS = Path(__file__).resolve().parent / "icons"
SVG = ICONS.parent.parent / "livemoments_app" / "ui" / "resources" / "livemoments.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int) -> Image.Image:
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841  (QPainter needs one)
    images = {size: render(size) for size in PNG_SIZES}
    for size, image in images.items():
        image.save(ICONS / f"livemoments-{size}.png", optimize=True)
    images[256].save(ICONS / "livemoments.ico", sizes=[(s, s) for s in ICO_SIZES])
    # Pillow builds every icns member from the largest image it is given.
    images[1024].save(ICONS / "livemoments.icns")
    for name in sorted(p.name for p in ICONS.iterdir() if p.suffix in {".png", ".ico", ".icns"}):
        print(f"{name:28s} {(ICONS / name).stat().st_size:8d} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
