"""The classic restorer: the chosen frame's content at the key photo's resolution and rendering.

1. Warp the still into the frame's geometry at frame resolution and fit the frame -> still colour map on the
   well-aligned pixels (:mod:`.colour_map`); map the frame's colours (their local means, only as far as the
   colour map saw such colours, and not in the noise floor: issue #13).
2. Trust map at frame resolution (what ``RestoredImage.from_key`` reports): the flow's consistency (or the
   fine detail itself where it matches the still well above the noise), then the colour, the brightness ratio
   and the fine structure of the colour-mapped frame against the warped still blurred to the frame's softness,
   eroded past distrusted borders by a pixel plus the frame's blur (no ghosts, no halo of the frame's own blur).
3. Tile by tile at output resolution: bicubic-upscale the mapped frame, warp the full-resolution still with the
   alignment's per-pixel map, and fuse them in a Laplacian pyramid (:mod:`.fusion`) -- coarse scales (light,
   colour, what changed) from the frame, fine scales from the still weighted by the trust map at each scale,
   with the still's difference to the frame continued from trusted pixels into distrusted ones first, so the
   coarse bands around a distrusted object do not carry its colour into the trusted pixels (a soft halo).

Memory stays bounded by the tile size (plus the still and the output themselves), so 48 MP stills work.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, asdict

import cv2
import numpy as np

from livemoments_app.core.align.confidence import (brightness_ratio, matching_blur, photometric_distance,
                                                   structure_distance, tolerance_factor)
from livemoments_app.core.align.pixels import to_float01
from livemoments_app.core.align.warp import (centre_density, frame_to_still_map, output_scale, output_size, prefilter,
                                             remap_image)
from livemoments_app.core.errors import RestoreError
from livemoments_app.core.jobs import Progress
from livemoments_app.core.restore.base import Availability, RestoredImage, RestoreRequest
from livemoments_app.core.restore.classic.colour_map import ColourMap, fit_colour_map
from livemoments_app.core.restore.classic.fusion import (continue_difference, fill_untrusted, fuse,
                                                          pyramid_margin)


_WORKERS = 2
_CHANGE_BLUR_PX = 1.0       # the colour map's change is applied to local means (see _mapped_colours)
_RATIO_BLUR_PX = 2.5        # the brightness check compares areas, not edges (misaligned edges are the others' job)
_RATIO_FLOOR = 0.02         # ... and counts differences within ~5 levels of black as noise


def _smoothstep_table(lo: float, hi: float) -> np.ndarray:
    t = np.clip((np.arange(256, dtype=np.float32) - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


_NOISE_FLOOR = _smoothstep_table(1.0, 6.0)   # per 8-bit level of a pixel's brightest channel: how far it is mapped

MAX_OUTPUT_PIXELS = 200_000_000       # 4x a 48 MP still; the output array alone is 600 MB at 8 bits


@dataclass(frozen=True)
class ClassicOptions:
    tile: int = 1024                  # output pixels per tile side (interior, before the pyramid margin)
    coarse_frame_px: float = 6.0      # detail coarser than this many frame pixels always comes from the frame
    photo_tolerance: float = 0.1      # colour distance (0..1) at which the still is trusted half
    structure_tolerance: float = 0.5  # structure distance (core.align.confidence) at which it is trusted half
    rescue_tolerance: float = 0.25    # structure distance at which informative detail vouches half for itself ...
    rescue_snr: float = 2.0           # ... "informative": detail energy this many noise floors above the floor
    ratio_tolerance: float = 2.0      # brightness ratio (core.align.confidence) at which it is trusted half
    fb_tolerance: float = 1.0         # forward-backward flow error (frame px) at which it is trusted half
    guard_px: int = 1                 # frame pixels by which distrusted regions grow (object borders) ...
    guard_per_blur: float = 1.5       # ... and more per pixel of blur the frame has against the still
    trust_low: float = 0.2            # trust below this keeps the frame only ...
    trust_high: float = 0.6           # ... above this takes the still's detail fully (smoothstep between)
    colour_fit: bool = True
    support_smooth_px: float = 10.0   # the colour map's support smoothed this much (frame px; 3 before issue
                                      # #13's second pass: 10 gains 0.1-0.3 dB inside new content, see docs)
    transfer_detail: bool = True      # False: the colour-mapped frame alone, upscaled (a diagnostic baseline)

    @staticmethod
    def from_dict(options: dict) -> "ClassicOptions":
        known = {k: v for k, v in options.items() if k in ClassicOptions.__dataclass_fields__}
        return ClassicOptions(**known)


def _pyramid_levels(scale: float, coarse_frame_px: float) -> int:
    return max(1, int(round(math.log2(max(scale * coarse_frame_px, 2.0)))))


class ClassicRestorer:
    name = "classic"
    label = "Classic (CPU, no model files)"

    def availability(self) -> Availability:
        return Availability(True)

    def restore(self, request: RestoreRequest, progress: Progress) -> RestoredImage:
        started = time.monotonic()
        opts = ClassicOptions.from_dict(request.options)
        if opts.tile < 16:
            raise RestoreError(f"tile size {opts.tile} is too small (at least 16 pixels)")
        still, frame = request.still, request.frame
        _check_inputs(still, frame)
        still, frame = still[..., :3], np.ascontiguousarray(frame[..., :3])
        fh, fw = frame.shape[:2]
        # only the alignment's still_to_key, total_flow and confidence are used
        alignment = request.alignment
        confidence = np.asarray(alignment.confidence, dtype=np.float32)
        if confidence.shape[:2] != frame.shape[:2]:
            raise RestoreError(f"alignment confidence is {confidence.shape[:2]}, the frame is {frame.shape[:2]}")
        density = centre_density(alignment.still_to_key, frame.shape)
        scale = float(request.scale) if request.scale else output_scale(alignment.still_to_key, frame.shape,
                                                                        still.shape)
        oh, ow = output_size(frame.shape, scale)
        if oh * ow > MAX_OUTPUT_PIXELS:
            raise RestoreError(f"an output of {ow}x{oh} ({ow * oh / 1e6:.0f} MP) is larger than the "
                               f"{MAX_OUTPUT_PIXELS / 1e6:.0f} MP this restorer writes; choose a smaller scale")
        progress.set(0.0, "Matching colours")

        # 1. The still at frame resolution (prefiltered), the colour map and the mapped frame. The still
        #    position of every frame pixel is kept: output tiles interpolate it (the map is smooth -- a
        #    homography and a bilinearly sampled flow -- so this equals evaluating it per output pixel).
        mx, my = frame_to_still_map(alignment.still_to_key, alignment.total_flow, frame.shape, 1.0)
        still_small, valid_small = remap_image(still, mx, my, density=density)
        still_map = np.dstack([mx, my])
        del mx, my
        frame01 = to_float01(frame)
        still_small01 = to_float01(still_small)
        valid_small = valid_small.astype(np.float32)
        if opts.colour_fit:
            cmap = fit_colour_map(frame01, still_small01, confidence * valid_small)
        else:
            cmap = ColourMap.identity()
        mapped = _mapped_colours(cmap, frame, frame01, opts.support_smooth_px)
        progress.set(0.08, "Checking where the key photo agrees")

        # 2. Trust: flow consistency x colour and structure agreement, grown at the borders of what disagrees.
        trust, frame_blur = _trust_map(mapped, still_small01, alignment, valid_small, opts)
        if not opts.transfer_detail:
            trust[:] = 0.0
        levels = _pyramid_levels(scale, opts.coarse_frame_px)
        # What the still adds to the frame, continued from trusted pixels into distrusted ones at frame
        # resolution: the coarse bands of the fusion see no distrusted content (no halo around moving objects).
        fill = fill_untrusted(np.subtract(still_small01, to_float01(mapped)), trust,
                              max(1, math.ceil(levels + 1 - math.log2(max(scale, 1.0)))))
        del still_small, still_small01, frame01
        progress.set(0.12, "Restoring")

        # 3. Tiles at output resolution.
        margin = pyramid_margin(levels)
        out_dtype = still.dtype if still.dtype in (np.uint8, np.uint16) else np.uint8
        peak = 65535.0 if out_dtype == np.uint16 else 255.0
        out = np.empty((oh, ow, 3), out_dtype)
        # A smaller output than the still's density: prefilter the still once (not per tile) so it cannot alias.
        source, map_scale = prefilter(still, density / scale)
        sx, sy = fw / ow, fh / oh
        tiles = [(x0, y0) for y0 in range(0, oh, opts.tile) for x0 in range(0, ow, opts.tile)]

        def restore_tile(x0: int, y0: int) -> None:
            x1, y1 = min(x0 + opts.tile, ow), min(y0 + opts.tile, oh)
            rx0, ry0 = max(0, x0 - margin), max(0, y0 - margin)
            rx1, ry1 = min(ow, x1 + margin), min(oh, y1 + margin)
            size = (rx1 - rx0, ry1 - ry0)
            # output pixel u of this tile sits at frame position (u + r0 + 0.5) * s - 0.5
            to_frame = np.float64([[sx, 0.0, (rx0 + 0.5) * sx - 0.5], [0.0, sy, (ry0 + 0.5) * sy - 0.5]])

            def sample(img: np.ndarray, interpolation: int) -> np.ndarray:
                return cv2.warpAffine(img, to_frame, size, flags=interpolation | cv2.WARP_INVERSE_MAP,
                                      borderMode=cv2.BORDER_REPLICATE)

            base = sample(mapped, cv2.INTER_CUBIC)
            weight = sample(trust, cv2.INTER_LINEAR)
            smap = sample(still_map, cv2.INTER_LINEAR)
            if map_scale != (1.0, 1.0):
                smap = (smap + 0.5) * np.float32(map_scale) - 0.5
            warped, valid = remap_image(source, smap[..., 0], smap[..., 1], interpolation=cv2.INTER_CUBIC)
            del smap
            weight *= valid
            detail = to_float01(warped)
            del warped
            # The still's difference continued into distrusted pixels: only in the box that holds them.
            low = weight < 0.25
            if low.any():
                rows, cols = np.flatnonzero(low.any(axis=1)), np.flatnonzero(low.any(axis=0))
                r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                box = to_frame.copy()
                box[:, 2] += box[:, 0] * c0 + box[:, 1] * r0
                fill_box = cv2.warpAffine(fill, box, (int(c1 - c0), int(r1 - r0)),
                                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                          borderMode=cv2.BORDER_REPLICATE)
                continue_difference(detail[r0:r1, c0:c1], base[r0:r1, c0:c1], weight[r0:r1, c0:c1], fill_box)
            fused = fuse(base, detail, weight, levels)
            inner = fused[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0]
            out[y0:y1, x0:x1] = np.clip(inner * peak + 0.5, 0, peak).astype(out_dtype)

        # Two tiles at a time: much of a tile's work is single-threaded numpy, and the tiles write disjoint
        # parts of the output. Cancellation is checked as each tile completes; pending tiles are dropped.
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            futures = [pool.submit(restore_tile, x0, y0) for x0, y0 in tiles]
            try:
                for n, future in enumerate(as_completed(futures)):
                    future.result()
                    progress.set(0.12 + 0.88 * (n + 1) / len(tiles), "Restoring")
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

        info = {"scale": scale, "still_density": density, "levels": levels, "tiles": len(tiles),
                "trusted_share": float(np.mean(trust >= 0.5)), "colour_residual": cmap.residual,
                "colour_samples": cmap.samples, "frame_blur_px": frame_blur, "options": asdict(opts)}
        return RestoredImage(out, self.name, time.monotonic() - started, info, from_key=trust)


def _trust_map(mapped: np.ndarray, still_small: np.ndarray, alignment, valid: np.ndarray,
               opts: ClassicOptions) -> tuple[np.ndarray, float]:
    """Where the still's detail may replace the frame's, at frame resolution (the restorer's ``from_key``), and
    how much softer the frame is than the still (Gaussian sigma, frame pixels).

    Geometry: the flow's forward-backward consistency where the alignment has it (its ``fb_error``), else its
    confidence. Content, checked here against the still blurred as much as the frame is soft (so that a
    heavily compressed frame does not fail the check on every sharp edge): the colour distance of the
    colour-mapped frame, and the structure distance of their finest detail (text that moved on a turning head,
    a limb that walked away: the colour distance misses both where they are dark or low in contrast)."""
    fb = getattr(alignment, "fb_error", None)
    confidence = np.asarray(alignment.confidence, np.float32) * valid
    geometry = valid * tolerance_factor(fb, opts.fb_tolerance) if fb is not None else confidence
    sure = confidence > 0.5
    sigma = matching_blur(still_small, mapped, sure)
    still_soft = cv2.GaussianBlur(still_small, (0, 0), sigma) if sigma > 0 else still_small
    distance, snr = structure_distance(mapped, still_soft, sure, with_snr=True)
    if fb is not None:
        # Where the warped still shows the frame's detail clearly (well above the pair's noise) and in the same
        # place, the alignment is right whatever the flow's round trip says: compressed frames fail it on thin
        # lines and fine texture that the still then matches to the pixel.
        evident = tolerance_factor(distance, opts.rescue_tolerance)
        evident *= np.clip((snr - 1.0) * np.float32(1.0 / opts.rescue_snr), 0.0, 1.0)
        geometry = np.maximum(geometry, evident * valid)
    trust = geometry * tolerance_factor(distance, opts.structure_tolerance)
    trust *= tolerance_factor(photometric_distance(mapped, still_soft, blur_sigma=1.0), opts.photo_tolerance)
    # a ratio, not a difference: black where the still shows a dark grey is as wrong as white against grey
    trust *= _log_tolerance(brightness_ratio(mapped, still_soft, _RATIO_BLUR_PX, _RATIO_FLOOR), opts.ratio_tolerance)
    t = np.clip((trust - opts.trust_low) / max(opts.trust_high - opts.trust_low, 1e-6), 0.0, 1.0)
    trust = t * t * (3.0 - 2.0 * t)
    # The frame's blur carries a distrusted object's colour this far past its edge: there the frame's coarse
    # scales are not the scene's, and the still's detail on top of them would be worse than the frame alone.
    guard = opts.guard_px + int(sigma * opts.guard_per_blur + 0.5)
    if guard > 0:
        k = 2 * guard + 1
        trust = cv2.erode(trust, np.ones((k, k), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return np.clip(trust, 0.0, 1.0).astype(np.float32), sigma


def _log_tolerance(ratio: np.ndarray, tolerance: float) -> np.ndarray:
    """:func:`tolerance_factor` of a ratio >= 1 on a log scale: 1 at 1, 0.5 at ``tolerance``."""
    return tolerance_factor(np.log(ratio), math.log(tolerance))


def _mapped_colours(cmap: ColourMap, frame: np.ndarray, frame01: np.ndarray, support_smooth_px: float
                    ) -> np.ndarray:
    """The frame in the still's colours (float32 0..1): ``frame + blur(support * (map(frame) - frame))``.

    The frame's colours are mapped only as far as the colour map's fit saw such colours around there, else the
    frame's own colours win (issue #13: a map fitted on a dark scene made a bright passer-by 0.8 dB worse; where
    it extrapolates, the map may even land on the still's colour and fool the trust checks). Everywhere alike,
    trusted or not: a colour that depended on the trust map would show its patches. The support is smoothed
    (it is a regional quantity: a per-pixel one varies with each colour and adds texture of its own).

    The map's change is applied at the scale it was fitted at (on lightly blurred images: local mean colours):
    applied pixel by pixel, the slope of its curves rescaled the frame's noise and fine texture, and SSIM inside
    new content fell below bicubic in 7 of 44 synthetic cases although PSNR rose."""
    change = cmap.apply_u8(frame)
    change -= frame01
    support = cmap.support_u8(frame)
    # In the noise floor the frame's value says nothing about the colour: mapped, the curve's slope near black
    # (pinned at 0, steeper towards the scene's darkest greys) lifted noise and the frame's blur into black
    # objects, where SSIM punishes every level (SSIM -0.01 inside a black occluder on small dark cases).
    np.minimum(support, _NOISE_FLOOR[frame.max(axis=2)], out=support)
    if float(support.min()) < 0.999:
        if support_smooth_px > 0:
            support = cv2.GaussianBlur(support, (0, 0), support_smooth_px)
        change *= support[..., None]
    change = cv2.GaussianBlur(change, (0, 0), _CHANGE_BLUR_PX)
    change += frame01
    return np.clip(change, 0.0, 1.0, out=change)


def _check_inputs(still: np.ndarray, frame: np.ndarray) -> None:
    for label, img in (("key photo", still), ("frame", frame)):
        if img.ndim != 3 or img.shape[2] < 3:
            raise RestoreError(f"the {label} must be an RGB image, got shape {img.shape}")
    if frame.dtype != np.uint8:
        raise RestoreError(f"the frame must be 8-bit RGB, got {frame.dtype}")
