"""numpy images → what the viewer paints.

A :class:`Picture` is an image plus a pyramid of halved copies, all built on a worker thread (QImage may be built
off the UI thread), so painting a 12 MP photo "fit to window" scales a small level instead of the full image and the
UI thread never spends more than a few milliseconds per paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QImage

if TYPE_CHECKING:
    import numpy as np

# numpy, cv2 and the core's pixel helpers are imported inside the functions: they are used on workers, and
# importing them at start-up would delay the first window by a few hundred milliseconds.

_MIN_LEVEL_SIDE = 256


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 for display (16-bit stills keep their high byte, greyscale is made RGB), C-contiguous."""
    import numpy as np

    from livemoments_app.core.align.pixels import to_rgb_u8

    return np.ascontiguousarray(to_rgb_u8(pixels))


def qimage_from_rgb(pixels: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (safe after the array is gone)."""
    arr = to_rgb8(pixels)
    h, w = arr.shape[:2]
    image = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)
    return image.copy()


def rgb_from_qimage(image: QImage) -> np.ndarray:
    import numpy as np

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * h)
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


class Picture:
    """An image ready to paint at any zoom: ``levels[0]`` is full size, each next level is half the previous."""

    def __init__(self, pixels: np.ndarray, min_side: int = _MIN_LEVEL_SIDE) -> None:
        arr = to_rgb8(pixels)
        self.width = int(arr.shape[1])
        self.height = int(arr.shape[0])
        self.levels: list[QImage] = [qimage_from_rgb(arr)]
        import cv2   # here, not at import: cv2 costs start-up time and pictures are built on workers

        level = arr
        while min(level.shape[:2]) // 2 >= min_side:
            level = cv2.resize(level, (level.shape[1] // 2, level.shape[0] // 2), interpolation=cv2.INTER_AREA)
            self.levels.append(qimage_from_rgb(level))

    @classmethod
    def placeholder(cls, image: QImage, width: int, height: int) -> "Picture":
        """A small image standing in for a ``width`` × ``height`` one (painted scaled up until the real one comes)."""
        picture = cls.__new__(cls)
        picture.width, picture.height = int(width), int(height)
        picture.levels = [image]
        picture.is_placeholder = True
        return picture

    is_placeholder = False

    def level_for(self, scale: float) -> tuple[QImage, float]:
        """The smallest level still at least as detailed as ``scale`` (device px per image px), and its factor."""
        index = 0
        while index + 1 < len(self.levels) and scale <= 0.5 ** (index + 1):
            index += 1
        image = self.levels[index]
        return image, image.width() / self.width

    def size(self) -> tuple[int, int]:
        return self.width, self.height


def upscale_like(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """The "before" of a comparison: the frame brought to the restored size with a plain Lanczos upscale."""
    import cv2

    arr = to_rgb8(frame)
    if arr.shape[1] == width and arr.shape[0] == height:
        return arr
    return cv2.resize(arr, (width, height), interpolation=cv2.INTER_LANCZOS4)
