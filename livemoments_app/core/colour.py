"""Colour handling for decoded video: YUV→RGB with explicit matrix/range, primaries conversion, HDR → SDR.

Video colour tags are read from the stream (ISO/IEC 23091-2 code points, as FFmpeg exposes them) and every
conversion step is explicit: libswscale is given the matrix and the range, never left to guess, and the
gamut conversion is done in linear light with matrices derived from the primaries' chromaticities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# ---- code points (ISO/IEC 23091-2 = H.273; the values FFmpeg stores in AVFrame) ---------------------------

PRIMARIES_NAMES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                   8: "film", 9: "bt2020", 10: "smpte428", 11: "dci-p3", 12: "display-p3", 22: "ebu3213"}
TRANSFER_NAMES = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
                  8: "linear", 13: "srgb", 14: "bt2020-10", 15: "bt2020-12", 16: "pq", 18: "hlg"}
MATRIX_NAMES = {0: "rgb", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                9: "bt2020nc", 10: "bt2020c"}
RANGE_NAMES = {0: "unspecified", 1: "limited", 2: "full"}

TRC_PQ = 16
TRC_HLG = 18

# CIE xy chromaticities of red, green, blue and the white point.
_D65 = (0.3127, 0.3290)
_PRIMARIES_XY = {
    "bt709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), _D65),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), _D65),
    "smpte170m": ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), _D65),
    "bt470bg": ((0.640, 0.330), (0.290, 0.600), (0.150, 0.060), _D65),
}
# Primaries we know how to convert, by code point; anything else is treated as BT.709 (= sRGB).
_PRIMARIES_BY_CODE = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte170m", 9: "bt2020", 11: "display-p3",
                      12: "display-p3"}
# Colour targets: name → primaries. Both use the sRGB transfer curve.
TARGETS = {"srgb": "bt709", "display-p3": "display-p3"}

# libswscale's own colourspace constants (SWS_CS_*), which are NOT the H.273 matrix code points.
_SWS_CS = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
SWS_CS_ITU709 = 1


@dataclass(frozen=True)
class VideoColour:
    """The colour description of a stream, with defaults filled in for what the file leaves unspecified."""

    primaries: int
    transfer: int
    matrix: int
    full_range: bool
    bit_depth: int = 8

    @property
    def is_hdr(self) -> bool:
        return self.transfer in (TRC_PQ, TRC_HLG)

    @property
    def primaries_name(self) -> str:
        return _PRIMARIES_BY_CODE.get(self.primaries, "bt709")

    @property
    def sws_colorspace(self) -> int:
        return _SWS_CS.get(self.matrix, SWS_CS_ITU709)

    def describe(self) -> dict:
        return {
            "primaries": PRIMARIES_NAMES.get(self.primaries, str(self.primaries)),
            "transfer": TRANSFER_NAMES.get(self.transfer, str(self.transfer)),
            "matrix": MATRIX_NAMES.get(self.matrix, str(self.matrix)),
            "range": "full" if self.full_range else "limited",
            "bit_depth": self.bit_depth,
        }


def resolve_colour(primaries: int, transfer: int, matrix: int, colour_range: int, pix_fmt: str,
                   width: int, height: int, bit_depth: int = 8) -> VideoColour:
    """Fill in unspecified tags the way players do: BT.709 for HD sizes, BT.601 for SD, limited range
    unless the pixel format is a full-range ("j") one."""
    hd = width >= 1280 or height > 576
    if matrix in (0, 2, 3) or matrix not in MATRIX_NAMES:
        matrix = 1 if hd else 6
    if primaries in (0, 2, 3) or primaries not in PRIMARIES_NAMES:
        primaries = 9 if matrix in (9, 10) else 1
    if transfer in (0, 2, 3) or transfer not in TRANSFER_NAMES:
        transfer = 1
    full = colour_range == 2 or pix_fmt.startswith("yuvj")
    return VideoColour(primaries, transfer, matrix, full, bit_depth)


# ---- transfer curves ---------------------------------------------------------------------------------------

def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055).astype(np.float32)


def hlg_to_scene_linear(e: np.ndarray) -> np.ndarray:
    """Inverse HLG OETF (ITU-R BT.2100): signal in [0, 1] → normalised scene light in [0, 1]."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    e = np.clip(e, 0.0, 1.0)
    low = (e * e) / 3.0
    high = (np.exp((e - c) / a) + b) / 12.0
    return np.where(e <= 0.5, low, high).astype(np.float32)


def pq_to_nits(e: np.ndarray) -> np.ndarray:
    """PQ EOTF (SMPTE ST 2084): signal in [0, 1] → absolute luminance in cd/m²."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    ep = np.power(np.clip(e, 0.0, 1.0), 1 / m2)
    return (10000.0 * np.power(np.maximum(ep - c1, 0.0) / (c2 - c3 * ep), 1 / m1)).astype(np.float32)


# ---- primaries --------------------------------------------------------------------------------------------

def rgb_to_xyz_matrix(primaries: str) -> np.ndarray:
    (xr, yr), (xg, yg), (xb, yb), (xw, yw) = _PRIMARIES_XY[primaries]
    cols = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in ((xr, yr), (xg, yg), (xb, yb))]).T
    white = np.array([xw / yw, 1.0, (1 - xw - yw) / yw])
    scale = np.linalg.solve(cols, white)
    return cols * scale


@lru_cache(maxsize=16)
def primaries_matrix(src: str, dst: str) -> np.ndarray:
    """3×3 matrix taking linear RGB in `src` primaries to linear RGB in `dst` primaries (same white)."""
    m = np.linalg.solve(rgb_to_xyz_matrix(dst), rgb_to_xyz_matrix(src))
    m.setflags(write=False)
    return m


_LIN_MAX = 65535  # linear light is carried as uint16: 8-bit output stays within ±1 level everywhere


@lru_cache(maxsize=1)
def _decode_lut16() -> np.ndarray:
    """uint8 sRGB-curve value → uint16 linear light, shaped for cv2.LUT on 3-channel images."""
    lut = np.round(srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0) * _LIN_MAX).astype(np.uint16)
    return np.repeat(lut.reshape(1, 256, 1), 3, axis=2)


@lru_cache(maxsize=1)
def _encode_lut16() -> np.ndarray:
    """uint16 linear light → uint8 sRGB-curve value."""
    lin = np.arange(_LIN_MAX + 1, dtype=np.float32) / _LIN_MAX
    return np.round(linear_to_srgb(lin) * 255.0).astype(np.uint8)


def convert_primaries_u8(rgb: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert 8-bit RGB between primaries in linear light.

    Both sides are treated as display-referred with the sRGB curve: camera video tagged BT.709 transfer is
    shown by players with (nearly) the curve of an sRGB display, so the tone is kept as is and only the gamut
    changes. Out-of-gamut colours are clipped (cv2.transform saturates uint16).
    """
    if src == dst:
        return rgb
    import cv2

    lin = cv2.LUT(rgb, _decode_lut16())
    lin = cv2.transform(lin, primaries_matrix(src, dst).astype(np.float32))
    return _encode_lut16()[lin]


# ---- HDR → SDR --------------------------------------------------------------------------------------------

SDR_WHITE_NITS = 203.0  # ITU-R BT.2408 reference white: HDR graphics white maps to SDR white.
HLG_PEAK_NITS = 1000.0


def _tone_map(nits: np.ndarray) -> np.ndarray:
    """Display light in cd/m² → SDR linear [0, 1]: reference white → 1 with a soft shoulder above ~0.6
    (extended Reinhard on luminance-scaled channels keeps highlights from clipping hard)."""
    x = nits / SDR_WHITE_NITS
    peak = HLG_PEAK_NITS / SDR_WHITE_NITS
    knee = 0.6
    t = np.maximum(x - knee, 0.0) / (1 - knee)
    w = (peak - knee) / (1 - knee)
    rolled = knee + (1 - knee) * t * (1 + t / (w * w)) / (1 + t)
    return np.where(x <= knee, x, np.minimum(rolled, 1.0)).astype(np.float32)


_SIGNAL_MAX = 65535   # HDR signal arrives as 16-bit RGB (rgb48) from libswscale
_NITS_STEPS = 65535   # display light 0..peak quantised to 16 bits for the tone-map + encode table


@lru_cache(maxsize=1)
def _hlg_scene_lut() -> np.ndarray:
    return hlg_to_scene_linear(np.arange(_SIGNAL_MAX + 1, dtype=np.float32) / _SIGNAL_MAX)


@lru_cache(maxsize=1)
def _pq_nits_lut() -> np.ndarray:
    return pq_to_nits(np.arange(_SIGNAL_MAX + 1, dtype=np.float64) / _SIGNAL_MAX).astype(np.float32)


@lru_cache(maxsize=1)
def _nits_to_sdr_u8_lut() -> np.ndarray:
    """Display light (0..HLG_PEAK_NITS in _NITS_STEPS steps) → tone-mapped, sRGB-encoded uint8."""
    nits = np.arange(_NITS_STEPS + 1, dtype=np.float32) * (HLG_PEAK_NITS / _NITS_STEPS)
    return np.round(linear_to_srgb(_tone_map(nits)) * 255.0).astype(np.uint8)


def _display_nits(rgb_signal: np.ndarray, colour: VideoColour) -> np.ndarray:
    """Display light in cd/m² (float32, the source primaries) of non-linear HLG or PQ RGB (uint16, full scale)."""
    import cv2

    if colour.transfer == TRC_HLG:
        scene = _hlg_scene_lut()[rgb_signal]
        lum = cv2.transform(scene, rgb_to_xyz_matrix(colour.primaries_name)[1:2].astype(np.float32))
        gain = cv2.pow(np.maximum(lum, 1e-6), 0.2) * HLG_PEAK_NITS
        return scene * gain[..., None]
    return _pq_nits_lut()[rgb_signal]


def hdr_to_sdr_u8(rgb_signal: np.ndarray, colour: VideoColour, target_primaries: str) -> np.ndarray:
    """Non-linear HDR RGB (uint16 H×W×3, BT.2100 HLG or PQ, full scale) → 8-bit SDR in the target primaries.

    Display light is computed in the source primaries (HLG: inverse OETF then the OOTF of a 1000 cd/m²
    display, system gamma 1.2; PQ: its EOTF), converted to the target primaries in linear light, then every
    channel goes through one table that tone-maps (BT.2408 reference white → near SDR white, soft shoulder
    up to the peak) and applies the sRGB curve."""
    import cv2

    nits = _display_nits(rgb_signal, colour)
    scale = _NITS_STEPS / HLG_PEAK_NITS
    m = (primaries_matrix(colour.primaries_name, target_primaries) * scale).astype(np.float32)
    idx = cv2.transform(nits, m)
    np.clip(idx, 0.0, _NITS_STEPS, out=idx)
    return _nits_to_sdr_u8_lut()[(idx + 0.5).astype(np.uint16)]


def hdr_to_linear(rgb_signal: np.ndarray, colour: VideoColour, target_primaries: str) -> np.ndarray:
    """The same signal as :func:`hdr_to_sdr_u8` sees, in linear light relative to SDR white (1.0 = the BT.2408
    reference white of 203 cd/m², where the tone map puts SDR white), float32 in the target primaries: the HDR
    rendition beside that SDR one (out-of-gamut negatives clipped to 0)."""
    import cv2

    nits = _display_nits(rgb_signal, colour)
    m = (primaries_matrix(colour.primaries_name, target_primaries) / SDR_WHITE_NITS).astype(np.float32)
    return np.maximum(cv2.transform(nits, m), 0.0)
