"""Damaged copies of a frame, the way a clip's bad frames look: motion blur, defocus, over-exposure.

Strengths are given for a 1440 px wide clip and scaled to the frame (benchmarks/moments_quality.py and the moments
tests use them as labels: the damaged frame must rank below its clean neighbours)."""

from __future__ import annotations

import cv2
import numpy as np


def motion_blur(rgb: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    a = np.radians(angle_deg)
    dx, dy = np.cos(a) * (length - 1) / 2, np.sin(a) * (length - 1) / 2
    cv2.line(kernel, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1,
             cv2.LINE_AA)
    return cv2.filter2D(rgb, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def defocus(rgb: np.ndarray, radius: float) -> np.ndarray:
    size = 2 * int(np.ceil(radius)) + 1
    kernel = np.zeros((size, size), np.float32)
    cv2.circle(kernel, (size // 2, size // 2), int(round(radius)), 1.0, -1, cv2.LINE_AA)
    return cv2.filter2D(rgb, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def overexpose(rgb: np.ndarray, stops: float) -> np.ndarray:
    lin = (rgb.astype(np.float32) / 255.0) ** 2.2 * (2.0 ** stops)
    return (np.clip(lin, 0, 1) ** (1 / 2.2) * 255.0 + 0.5).astype(np.uint8)


def damage(rgb: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    scale = min(rgb.shape[:2]) / 1440.0     # strengths are given for a 1440 px wide clip
    if kind == "motion blur":
        return motion_blur(rgb, max(3.0, rng.uniform(6, 14) * scale), rng.uniform(0, 180))
    if kind == "defocus":
        return defocus(rgb, max(1.5, rng.uniform(2, 4) * scale))
    return overexpose(rgb, rng.uniform(0.7, 1.3))
