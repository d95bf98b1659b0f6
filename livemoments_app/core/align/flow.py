"""Dense optical flow estimators behind one small interface.

Convention (the same for every estimator): ``estimator(src, dst)`` returns an ``H x W x 2`` float32 field ``F``
on the grid of ``src`` such that ``src(p) ~ dst(p + F(p))`` (x component first, in pixels of ``src``/``dst``,
which must have the same size). This is OpenCV's and RAFT's convention.

The default is OpenCV DIS with parameters tuned on video frames with compression noise: its medium preset at the
half-resolution finest scale, but with a coarser patch stride and fewer descent iterations (on a compressed
1920x1440 frame pair this keeps the accuracy of the medium preset -- EPE ~0.3 px, median ~0.1 px -- at about half
its cost; the full-resolution finest scale is slower *and* noisier on compressed frames).
RAFT (the paper's estimator) is available when torchvision is importable and the user supplies weights.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from livemoments_app.core.align.pixels import to_float01, to_gray_u8
from livemoments_app.core.errors import ModelFilesError


class FlowEstimator(ABC):
    """Computes dense flow between two images of the same size (see the module docstring for the convention)."""

    name: str = "flow"

    @abstractmethod
    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """``H x W x 2`` float32 flow with ``src(p) ~ dst(p + flow(p))``."""

    @staticmethod
    def _check_pair(src: np.ndarray, dst: np.ndarray) -> None:
        if src.shape[:2] != dst.shape[:2]:
            raise ValueError(f"flow needs two images of one size, got {src.shape[:2]} and {dst.shape[:2]}")


@dataclass(frozen=True)
class DISParams:
    finest_scale: int = 1
    patch_size: int = 8
    patch_stride: int = 4
    gradient_descent_iterations: int = 16
    variational_refinement_iterations: int = 5
    mean_normalization: bool = True      # tolerates the exposure/tone drift between frames
    spatial_propagation: bool = True


class DISFlow(FlowEstimator):
    """OpenCV DIS optical flow on luma. Thread-safe (one DIS object per thread)."""

    name = "dis"

    def __init__(self, params: DISParams | None = None):
        self.params = params or DISParams()
        self._local = threading.local()

    def _dis(self) -> cv2.DISOpticalFlow:
        dis = getattr(self._local, "dis", None)
        if dis is None:
            p = self.params
            dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
            dis.setFinestScale(p.finest_scale)
            dis.setPatchSize(p.patch_size)
            dis.setPatchStride(p.patch_stride)
            dis.setGradientDescentIterations(p.gradient_descent_iterations)
            dis.setVariationalRefinementIterations(p.variational_refinement_iterations)
            dis.setUseMeanNormalization(p.mean_normalization)
            dis.setUseSpatialPropagation(p.spatial_propagation)
            self._local.dis = dis
        return dis

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        self._check_pair(src, dst)
        out = self._dis().calc(to_gray_u8(src), to_gray_u8(dst), None)
        return np.ascontiguousarray(out, dtype=np.float32)


def torchvision_available() -> bool:
    try:
        import torchvision.models.optical_flow  # noqa: F401
    except Exception:
        return False
    return True


class RAFTFlow(FlowEstimator):
    """RAFT (torchvision's implementation) with weights the user supplies as a state-dict file.

    torch and torchvision are imported only when the estimator is built. ``weights=None`` builds the network with
    random weights: useful only to test shapes and plumbing.
    """

    name = "raft"

    def __init__(self, weights: str | os.PathLike | None, *, small: bool = False, device: str = "cpu",
                 iterations: int = 12, allow_random: bool = False):
        if not torchvision_available():
            raise ModelFilesError("RAFT flow needs torchvision, which is not installed")
        import torch
        from torchvision.models.optical_flow import raft_large, raft_small

        if weights is None and not allow_random:
            raise ModelFilesError("RAFT flow needs a weights file (state dict of torchvision's RAFT)")
        net = (raft_small if small else raft_large)(weights=None, progress=False)
        if weights is not None:
            path = Path(weights)
            if not path.is_file():
                raise ModelFilesError("RAFT weights file not found", path)
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                net.load_state_dict(state)
            except Exception as exc:  # a wrong file is a user error, said in one line
                raise ModelFilesError(f"not a RAFT state dict ({type(exc).__name__}: {exc})", path) from exc
        self._net = net.eval().to(device)
        self._device = device
        self._iterations = iterations
        self._lock = threading.Lock()

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        import torch

        self._check_pair(src, dst)
        h, w = src.shape[:2]
        ph, pw = (-h) % 8, (-w) % 8  # RAFT works on 1/8 resolution feature maps

        def prep(img: np.ndarray) -> "torch.Tensor":
            a = to_float01(img)
            if a.ndim == 2:
                a = np.repeat(a[..., None], 3, axis=2)
            a = np.pad(a, ((0, ph), (0, pw), (0, 0)), mode="edge")
            t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]
            return (t * 2.0 - 1.0).to(self._device)

        with self._lock, torch.inference_mode():
            flows = self._net(prep(src), prep(dst), num_flow_updates=self._iterations)
        out = flows[-1][0].permute(1, 2, 0).cpu().numpy()[:h, :w]
        return np.ascontiguousarray(out, dtype=np.float32)


def make_estimator(name: str = "dis", *, raft_weights: str | os.PathLike | None = None) -> FlowEstimator:
    """The estimator called ``name`` ("dis" or "raft")."""
    if name == "dis":
        return DISFlow()
    if name == "raft":
        return RAFTFlow(raft_weights)
    raise ValueError(f"unknown flow estimator {name!r} (choose 'dis' or 'raft')")
