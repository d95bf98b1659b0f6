"""Small synthetic images for tests that need something the aligner can lock onto."""

from __future__ import annotations

import cv2
import numpy as np


def textured_scene(h: int = 480, w: int = 640, seed: int = 0) -> np.ndarray:
    """Smooth colour field plus noise and shapes with corners: enough features and texture for alignment."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.uniform(60, 200, (h // 16, w // 16, 3)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    for _ in range(120):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(6, 40)), y + int(rng.integers(6, 40))), colour, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(3, 20)), colour, -1)
    return img
