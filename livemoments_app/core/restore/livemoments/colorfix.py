"""Wavelet colour fix of the release: high frequencies of the result, low frequencies of the (upscaled) input."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LEVELS = 5


def _blur(x: torch.Tensor, dilation: int) -> torch.Tensor:
    k = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=x.dtype, device=x.device) / 16
    c = x.shape[1]
    x = F.pad(x, (dilation,) * 4, mode="replicate")
    return F.conv2d(x, k.expand(c, 1, 3, 3), groups=c, dilation=dilation)


def wavelet_split(x: torch.Tensor, levels: int = LEVELS) -> tuple[torch.Tensor, torch.Tensor]:
    """(high, low) with x == high + low up to rounding; x is (B, C, H, W)."""
    high = torch.zeros_like(x)
    for i in range(levels):
        low = _blur(x, 2 ** i)
        high = high + (x - low)
        x = low
    return high, x


def wavelet_color_fix(result01: torch.Tensor, source01: torch.Tensor) -> torch.Tensor:
    """Float version: clamp(high(result) + low(source), 0, 1); both (B, 3, H, W) in [0, 1]."""
    high, _ = wavelet_split(result01)
    _, low = wavelet_split(source01)
    return (high + low).clamp(0, 1)


def color_fix_u8(result_m11: torch.Tensor, source01: torch.Tensor) -> np.ndarray:
    """The release's 8-bit path: result in [-1, 1] is rounded to 8 bits (half to even), the source truncated to
    8 bits, the colour-fixed sum truncated to 8 bits. Runs on the tensors' device; returns (B, 3, H, W) uint8."""
    r = torch.clamp(0.5 * result_m11.float().clamp(-1, 1) + 0.5, 0, 1)
    r8 = torch.round(r * 255).to(torch.uint8)                     # torch.round: half to even, like numpy
    s8 = (source01.float().clamp(0, 1) * 255).to(torch.uint8)     # truncation, like torchvision's ToPILImage
    fixed = wavelet_color_fix(r8.float() / 255, s8.float() / 255)
    return (fixed * 255).to(torch.uint8).cpu().numpy()
