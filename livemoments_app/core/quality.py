"""Image-quality metrics for restorers: PSNR and SSIM on luma (optionally inside a mask) and relative sharpness.

All functions take H x W x 3 RGB (uint8, uint16 or float in the same units for both images) and compare luma,
because colour noise from chroma subsampling would otherwise dominate the numbers and luma is what people
judge detail by. Values are computed in 8-bit units so PSNR numbers are comparable across bit depths.
"""

from __future__ import annotations

import numpy as np
import cv2

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)   # BT.601, the usual choice for PSNR/SSIM on RGB
_SSIM_SIGMA = 1.5
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2


def luma(image: np.ndarray) -> np.ndarray:
    """Luma in 8-bit units as float32 (uint16 input is rescaled)."""
    img = np.asarray(image)
    scale = 255.0 / 65535.0 if img.dtype == np.uint16 else 1.0
    if img.ndim == 2:
        return img.astype(np.float32) * scale
    return (img[..., :3].astype(np.float32) @ _LUMA) * np.float32(scale)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"images differ in size: {a.shape[:2]} vs {b.shape[:2]}")


def _mask_or_all(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = np.asarray(mask, dtype=bool)
    if m.shape != shape:
        raise ValueError(f"mask is {m.shape}, images are {shape}")
    return m


def _mean_over(values: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean(values[mask], dtype=np.float64)) if mask.any() else float("nan")


def psnr(result: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR of luma in dB (peak 255); ``mask`` limits it to the True pixels. NaN when the mask is empty."""
    _check_pair(result, reference)
    m = _mask_or_all(mask, reference.shape[:2])
    if not m.any():
        return float("nan")
    d = luma(result)[m] - luma(reference)[m]
    mse = float(np.mean(d.astype(np.float64) ** 2))
    if mse <= 1e-12:
        return float("inf")
    return 10.0 * np.log10(255.0 ** 2 / mse)


def ssim_map(result: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of luma (Wang et al. 2004, Gaussian window sigma 1.5)."""
    _check_pair(result, reference)
    x = luma(result)
    y = luma(reference)

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img, (11, 11), _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + _C1) * (2 * sxy + _C2)
    den = (mx * mx + my * my + _C1) * (sxx + syy + _C2)
    return num / den


def ssim(result: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean SSIM of luma, over ``mask`` when given. NaN when the mask is empty."""
    m = _mask_or_all(mask, reference.shape[:2])
    if not m.any():
        return float("nan")
    return _mean_over(ssim_map(result, reference), m)


def hf_energy(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared Laplacian of luma: how much fine detail (edges, texture) an image carries."""
    y = luma(image)
    lap = cv2.Laplacian(y, cv2.CV_32F, ksize=3, borderType=cv2.BORDER_REFLECT)
    m = _mask_or_all(mask, y.shape)
    if not m.any():
        return float("nan")
    return float(np.mean(lap[m].astype(np.float64) ** 2))


def relative_sharpness(result: np.ndarray, reference: np.ndarray,
                       result_mask: np.ndarray | None = None, reference_mask: np.ndarray | None = None) -> float:
    """High-frequency energy of ``result`` relative to ``reference`` (1.0: as detailed; < 1: softer).

    The two images need not be the same size or view (a restored frame against the key photo): the measure is
    a ratio of per-pixel averages, so it compares detail density at 100 % view.
    """
    ref = hf_energy(reference, reference_mask)
    if not ref > 0:
        return float("nan")
    return hf_energy(result, result_mask) / ref


def compare(result: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None,
            masks: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """All metrics at once; ``mask`` marks a region of interest (e.g. content absent from the key photo), which
    is reported as ``*_in`` and its complement as ``*_out``; each of ``masks`` (name -> region) is reported as
    ``psnr_<name>`` and ``ssim_<name>`` (NaN where a region is empty)."""
    smap = ssim_map(result, reference)   # once: the masked SSIMs are means of the same map
    out = {
        "psnr": psnr(result, reference),
        "ssim": float(np.mean(smap, dtype=np.float64)),
        "sharpness": relative_sharpness(result, reference),
    }
    if mask is not None:
        m = _mask_or_all(mask, reference.shape[:2])
        out["psnr_in"] = psnr(result, reference, m)
        out["psnr_out"] = psnr(result, reference, ~m)
        out["ssim_in"] = _mean_over(smap, m)
        out["ssim_out"] = _mean_over(smap, ~m)
    for name, region in (masks or {}).items():
        m = _mask_or_all(region, reference.shape[:2])
        out[f"psnr_{name}"] = psnr(result, reference, m)
        out[f"ssim_{name}"] = _mean_over(smap, m)
    return out
