"""The full-image inputs of the LiveMoments procedure, built from the app's Alignment (numpy/OpenCV only).

The release works on three images of one size (the reference resolution): the low-quality frame (LQ) and the
low-resolution reference, both upscaled bicubically, and the high-resolution reference; plus the optical flow
LQ -> reference-LR (for picking reference tiles) and, per tile, the flow reference-LR tile -> LQ tile (for the
motion encoder). With a Live Photo these are:

* LQ: the chosen frame, upscaled to the output size;
* reference: the key photo warped into the *key frame's* geometry (homography + residual, not the motion), at
  the output size -- the model itself aligns it to the chosen frame;
* reference-LR (the key frame): only its flows are needed, no image;
* flows: the Alignment's chosen -> key flow (``flow``) and key -> chosen flow (``flow_back``), upscaled with
  their vectors scaled to output pixels. The per-tile motion flow is read off ``flow_back`` with the offset
  between the reference tile and the LQ tile, which is what an optical-flow call on the two tiles measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from livemoments_app.core.align import tiles as tiling
from livemoments_app.core.align.pixels import to_float01
from livemoments_app.core.align.warp import frame_to_still_map, remap_image


@dataclass
class FullInputs:
    lq01: np.ndarray            # H x W x 3 float32 in [0, 1] (upscaled chosen frame)
    ref01: np.ndarray           # H x W x 3 float32 (key photo in key-frame geometry)
    flow_to_ref: np.ndarray     # H x W x 2 float32, LQ -> reference-LR, output pixels
    flow_from_ref: np.ndarray   # H x W x 2 float32, reference-LR -> LQ, output pixels


def upscale(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    h, w = size_hw
    if image.shape[:2] == (h, w):
        return image.astype(np.float32)
    return cv2.resize(image.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def upscale_flow(flow: np.ndarray | None, src_hw: tuple[int, int], size_hw: tuple[int, int]) -> np.ndarray:
    h, w = size_hw
    if flow is None:
        return np.zeros((h, w, 2), np.float32)
    out = upscale(flow, size_hw)
    out[..., 0] *= w / src_hw[1]
    out[..., 1] *= h / src_hw[0]
    return out


def build(still: np.ndarray, frame: np.ndarray, alignment, scale: float) -> FullInputs:
    size = alignment.output_size(scale)
    clip_hw = tuple(alignment.frame_shape)
    still01 = to_float01(still)
    mx, my = frame_to_still_map(alignment.still_to_key, alignment.residual, clip_hw, scale)
    ref, _ = remap_image(still01, mx, my, density=alignment.default_scale / scale, interpolation=cv2.INTER_CUBIC)
    return FullInputs(
        lq01=np.clip(upscale(to_float01(frame), size), 0, 1),
        ref01=np.clip(ref, 0, 1).astype(np.float32),
        flow_to_ref=upscale_flow(alignment.flow, clip_hw, size),
        flow_from_ref=upscale_flow(alignment.flow_back, clip_hw, size),
    )


@dataclass
class TiledInputs:
    size: tuple[int, int]
    tile: int
    overlap: int
    lq: np.ndarray              # padded
    ref: np.ndarray
    flow_from_ref: np.ndarray
    origins: list[tuple[int, int]]
    ref_origins: list[tuple[int, int]]

    def tile_arrays(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(LQ tile, reference tile, motion flow reference-LR tile -> LQ tile) of tile k, channels last."""
        (i, j), (ri, rj) = self.origins[k], self.ref_origins[k]
        t = self.tile
        flow = self.flow_from_ref[ri:ri + t, rj:rj + t].copy()
        flow[..., 0] += rj - j
        flow[..., 1] += ri - i
        return self.lq[i:i + t, j:j + t], self.ref[ri:ri + t, rj:rj + t], flow


def tile_inputs(full: FullInputs, tile: int, overlap: int) -> TiledInputs:
    lq, size = tiling.pad_image_to_fit(full.lq01, tile, overlap)
    ref, _ = tiling.pad_image_to_fit(full.ref01, tile, overlap)
    flow_to_ref, _ = tiling.pad_image_to_fit(full.flow_to_ref, tile, overlap, mode="constant")
    flow_from_ref, _ = tiling.pad_image_to_fit(full.flow_from_ref, tile, overlap, mode="constant")
    origins = tiling.tile_origins(lq.shape[0], lq.shape[1], tile, overlap)
    return TiledInputs(size, tile, overlap, lq, ref, flow_from_ref, origins,
                       tiling.ref_patch_coords(flow_to_ref, tile, overlap))
