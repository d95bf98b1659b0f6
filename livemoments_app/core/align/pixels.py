"""Sample-format conversions shared by alignment, overlays and the classic restorer.

Images arrive as uint8, uint16 (high-bit-depth stills) or float in [0, 1]; alignment needs no more than 8 bits.
"""

from __future__ import annotations

import cv2
import numpy as np


def to_u8(image: np.ndarray) -> np.ndarray:
    """8-bit samples, same shape (uint16 keeps its high byte; floats in [0, 1] are rounded)."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_rgb_u8(image: np.ndarray) -> np.ndarray:
    """8-bit RGB; single-channel images are repeated into three channels."""
    a = to_u8(image)
    return np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """8-bit luma of an RGB image, or the 8-bit samples of an already single-channel one."""
    a = to_u8(image)
    return cv2.cvtColor(a, cv2.COLOR_RGB2GRAY) if a.ndim == 3 else a


def to_float01(image: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] units (no copy when the input already is float32)."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a.astype(np.float32) * np.float32(1.0 / 255.0)
    if a.dtype == np.uint16:
        return a.astype(np.float32) * np.float32(1.0 / 65535.0)
    return np.asarray(a, dtype=np.float32)
