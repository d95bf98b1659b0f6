"""The frame -> key photo colour mapping.

The clip and the still come out of two pipelines (tone curve, white balance, colour space, saturation), so the
frame's colours are mapped onto the still's before they are combined. The map is a light "3D LUT": for each
output channel a smooth 1D curve of the same input channel (a piecewise-linear LUT with a curvature penalty)
plus linear cross-talk from the other two channels (white balance and colour-space mixing). It is fitted by
robust least squares on well-aligned pixels of both images seen at the same resolution, so moving objects and
local light changes are outliers for the fit and survive the mapping as scene changes. Both pipelines keep
black black and white white; anchoring the curves there keeps the curves sane between the colours the fit saw
and the ends (the curvature penalty continues them smoothly towards the anchors).

The map is only as good as the colours it was fitted on, though: a dark scene fitted on dark greys says little
about the bright coat of someone who walks in, and mapping that coat anyway made it worse than the frame's own
colours (issue #13: up to -0.8 dB inside new content on the synthetic set). So the map carries its *support*,
per channel how many fitted samples lay near each input level (near black and white the anchors count); where
the key photo cannot confirm the mapped colour (the restorer's distrusted pixels), the restorer blends from the
mapped colour towards the frame's own as the pixel's least supported channel runs out of samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_KNOTS = np.linspace(0.0, 1.0, 33)
_MAX_SAMPLES = 60_000
_MIN_SAMPLES = 200
_ANCHOR_WEIGHT = 0.002      # share of the total sample weight given to each of black and white
_SMOOTHNESS = 0.02          # curvature penalty relative to the total sample weight
_SUPPORT_SAMPLES = 50.0     # fitted samples (weight) near an input level for the map to apply there fully
_SUPPORT_SIGMA = 0.03       # "near": Gaussian reach of a sample along its channel's levels (0..1 units)
_ANCHOR_REACH = 0.06        # the black anchor vouches for levels this close to it ...
_WHITE_REACH = 0.02         # ... the white one for these (see fit_colour_map)
_LEVELS8 = np.arange(256, dtype=np.float64) / 255.0


def _hat_index(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For values in [0, 1]: the knot interval index and the position inside it (linear interpolation)."""
    k = len(_KNOTS) - 1
    pos = np.clip(x, 0.0, 1.0) * k
    i = np.minimum(pos.astype(np.int64), k - 1)
    return i, pos - i


def _normal_equations(i: np.ndarray, f: np.ndarray, others: np.ndarray, y: np.ndarray, w: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``A = F^T W F`` and ``b = F^T W y`` for features F = [hat weights on the knots | other channels].

    Each row has only two non-zero hat weights, so the sums are accumulated with ``bincount`` in O(N) instead
    of forming the dense N x K feature matrix (which is also what BLAS thread pools fight over on 2 cores)."""
    k = len(_KNOTS)
    m = k + others.shape[1]
    a = np.zeros((m, m))
    b = np.zeros(m)
    lo, hi = (1.0 - f) * w, f * w
    diag = np.bincount(i, lo * (1.0 - f), k) + np.bincount(i + 1, hi * f, k)
    off = np.bincount(i, lo * f, k)[:-1]
    a[np.arange(k), np.arange(k)] = diag
    a[np.arange(k - 1), np.arange(1, k)] = off
    a[np.arange(1, k), np.arange(k - 1)] = off
    b[:k] = np.bincount(i, lo * y, k) + np.bincount(i + 1, hi * y, k)
    for j in range(others.shape[1]):
        col = np.bincount(i, lo * others[:, j], k) + np.bincount(i + 1, hi * others[:, j], k)
        a[:k, k + j] = a[k + j, :k] = col
        for j2 in range(others.shape[1]):
            a[k + j, k + j2] = float(np.sum(w * others[:, j] * others[:, j2]))
        b[k + j] = float(np.sum(w * others[:, j] * y))
    return a, b


def _predict(params: np.ndarray, i: np.ndarray, f: np.ndarray, others: np.ndarray) -> np.ndarray:
    k = len(_KNOTS)
    return params[i] * (1.0 - f) + params[i + 1] * f + others @ params[k:]


@dataclass
class ColourMap:
    curves: np.ndarray                # 3 x K: each output channel's curve of its own input channel, on _KNOTS
    cross: np.ndarray                 # 3 x 3: linear terms (diagonal unused, zero)
    residual: float = 0.0             # robust RMS residual of the fit (0..1 units)
    samples: int = 0
    # 3 x 256: per input channel and 8-bit level, how far the fit vouches for the map there (0: keep the input's
    # colour, 1: map fully); None: everywhere
    support: np.ndarray | None = None

    @staticmethod
    def identity() -> "ColourMap":
        return ColourMap(np.tile(_KNOTS, (3, 1)), np.zeros((3, 3)))

    def apply(self, rgb01: np.ndarray) -> np.ndarray:
        """H x W x 3 float32 in [0, 1] -> mapped float32 in [0, 1]."""
        src = np.clip(rgb01.astype(np.float32, copy=False), 0.0, 1.0)
        out = np.empty_like(src)
        for c in range(3):
            out[..., c] = np.interp(src[..., c], _KNOTS, self.curves[c]).astype(np.float32)
        return self._cross_talk(out, src)

    def apply_u8(self, rgb: np.ndarray) -> np.ndarray:
        """The same for 8-bit RGB, through 256-entry tables (the frame is 8-bit: ~10x faster than ``apply``)."""
        out = np.empty(rgb.shape[:2] + (3,), np.float32)
        for c in range(3):
            table = np.interp(_LEVELS8, _KNOTS, self.curves[c]).astype(np.float32)
            out[..., c] = table[rgb[..., c]]
        return self._cross_talk(out, None, rgb)

    def support_u8(self, rgb: np.ndarray) -> np.ndarray:
        """H x W float32 for 8-bit RGB: the support of each pixel's least supported channel (1 everywhere when
        the map carries none)."""
        if self.support is None:
            return np.ones(rgb.shape[:2], np.float32)
        tables = self.support.astype(np.float32)
        s = tables[0][rgb[..., 0]]
        np.minimum(s, tables[1][rgb[..., 1]], out=s)
        np.minimum(s, tables[2][rgb[..., 2]], out=s)
        return s

    def _cross_talk(self, out: np.ndarray, src01: np.ndarray | None, src8: np.ndarray | None = None) -> np.ndarray:
        for c in range(3):
            for o in range(3):
                if o != c and self.cross[c, o] != 0.0:
                    if src01 is not None:
                        out[..., c] += np.float32(self.cross[c, o]) * src01[..., o]
                    else:
                        out[..., c] += np.float32(self.cross[c, o] / 255.0) * src8[..., o]
        return np.clip(out, 0.0, 1.0, out=out)


def _prefilter_outliers(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Inlier mask from a stiff model (per channel: quadratic in its own channel, linear cross-talk) fitted
    robustly. The flexible LUT fitted afterwards could otherwise bend to follow a changed object whose colours
    nothing else in the picture has (a red coat over a grey wall would be "mapped" to grey)."""
    keep = np.ones(len(x), bool)
    for c in range(3):
        others = [o for o in range(3) if o != c]
        feats = np.column_stack([np.ones(len(x)), x[:, c], x[:, c] ** 2, x[:, others]])
        rw = np.ones(len(x))
        res = np.zeros(len(x))
        scale = 0.05
        for _ in range(4):
            sw = np.sqrt(w * rw)
            coef, *_ = np.linalg.lstsq(feats * sw[:, None], y[:, c] * sw, rcond=None)
            res = y[:, c] - feats @ coef
            scale = max(1.4826 * float(np.median(np.abs(res))), 0.01)
            u = res / (4.685 * scale)
            rw = np.where(np.abs(u) < 1.0, (1.0 - u * u) ** 2, 0.0)
        keep &= np.abs(res) < k * scale
    return keep


def fit_colour_map(frame01: np.ndarray, still01: np.ndarray, weight: np.ndarray, *, blur_sigma: float = 1.5,
                   seed: int = 0) -> ColourMap:
    """Fits the map frame -> still on pixels where ``weight`` (alignment confidence) is high.

    Both images are float32 RGB in [0, 1] of the same size (the still warped into the frame's geometry at the
    frame's resolution). A light blur makes the fit insensitive to residual misregistration and noise; an
    iteratively reweighted least-squares fit (Tukey biweight) ignores what changed between the two moments.
    """
    fb = cv2.GaussianBlur(frame01, (0, 0), blur_sigma)
    sb = cv2.GaussianBlur(still01, (0, 0), blur_sigma)
    # Flat regions carry the tone curve; strong edges carry misregistration: prefer the former.
    grad = cv2.morphologyEx(cv2.cvtColor(fb, cv2.COLOR_RGB2GRAY), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    w = weight.astype(np.float32) * (1.0 / (1.0 + (grad / 0.08) ** 2))
    cand = np.flatnonzero(w.ravel() > 0.3)
    if cand.size < _MIN_SAMPLES:
        return ColourMap.identity()
    rng = np.random.default_rng(seed)
    if cand.size > _MAX_SAMPLES:
        cand = np.sort(rng.choice(cand, _MAX_SAMPLES, replace=False))
    x = fb.reshape(-1, 3)[cand].astype(np.float64)
    y = sb.reshape(-1, 3)[cand].astype(np.float64)
    base_w = w.ravel()[cand].astype(np.float64)
    inliers = _prefilter_outliers(x, y, base_w)
    if inliers.sum() < _MIN_SAMPLES:
        return ColourMap.identity()
    x, y, base_w = x[inliers], y[inliers], base_w[inliers]
    anchors = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    n_data = len(x)
    x = np.vstack([x, anchors])
    y = np.vstack([y, anchors])
    total = base_w.sum()
    base_w = np.concatenate([base_w, np.full(len(anchors), _ANCHOR_WEIGHT * total)])

    k = len(_KNOTS)
    d2 = np.diff(np.eye(k), n=2, axis=0)
    penalty = np.zeros((k + 2, k + 2))
    penalty[:k, :k] = _SMOOTHNESS * total * (d2.T @ d2) * (k - 1) ** 2 / 1024.0
    parts = []
    for c in range(3):
        i, f = _hat_index(x[:, c])
        parts.append((i, f, x[:, [o for o in range(3) if o != c]]))

    params = np.zeros((3, k + 2))
    robust_w = np.ones((len(x), 3))
    scale = np.full(3, 0.05)
    for _ in range(4):
        res = np.empty_like(y)
        for c, (i, f, others) in enumerate(parts):
            a, b = _normal_equations(i, f, others, y[:, c], base_w * robust_w[:, c])
            # black is pinned: knot 0 stays 0, the other unknowns are solved for
            params[c, 0] = 0.0
            params[c, 1:] = np.linalg.solve((a + penalty)[1:, 1:] + 1e-9 * np.eye(k + 1), b[1:])
            res[:, c] = y[:, c] - _predict(params[c], i, f, others)
        scale = np.maximum(1.4826 * np.median(np.abs(res[:n_data]), axis=0), 0.01)
        u = res / (4.685 * scale)
        robust_w = np.where(np.abs(u) < 1.0, (1.0 - u * u) ** 2, 0.0)
        robust_w[n_data:] = 1.0

    cross = np.zeros((3, 3))
    for c in range(3):
        others = [o for o in range(3) if o != c]
        cross[c, others] = params[c, k:]
    # Support: the samples that carried the fit (their final weights), spread over nearby levels per channel.
    support = np.empty((3, 256))
    # Black stays black in both pipelines and the curve is pinned there (a fit on a dark scene's greys alone
    # missed black by ~4 levels: a line through the frame's darkest greys and their somewhat lighter rendering
    # in the still; every black pixel came out grey, and SSIM inside a flat black object dropped by 0.23,
    # issue #13); white is less safe (the video clips
    # highlights the photo keeps, and a dark scene's curve reaches the white anchor only by extrapolation), so
    # it vouches only for the last few levels.
    anchors_near = np.maximum(np.exp(-(_LEVELS8 / _ANCHOR_REACH) ** 2),
                              np.exp(-((1.0 - _LEVELS8) / _WHITE_REACH) ** 2))
    for c in range(3):
        w = base_w[:n_data] * robust_w[:n_data, c]
        hist = np.bincount(np.clip(np.rint(x[:n_data, c] * 255.0), 0, 255).astype(np.int64), w, 256)
        hist = cv2.GaussianBlur(hist.reshape(1, -1), (0, 0), _SUPPORT_SIGMA * 255.0,
                                borderType=cv2.BORDER_CONSTANT).ravel() * (_SUPPORT_SIGMA * 255.0 * np.sqrt(2 * np.pi))
        support[c] = np.maximum(np.clip(hist / _SUPPORT_SAMPLES, 0.0, 1.0), anchors_near)
    return ColourMap(params[:, :k].copy(), cross, residual=float(np.sqrt(np.mean(scale ** 2))),
                     samples=n_data, support=support)
