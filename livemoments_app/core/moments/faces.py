"""Faces in a frame: are the eyes open, is the face turned to the camera, is it smiling.

Models: Google MediaPipe's BlazeFace (short range) face detector and its 468-point Face Mesh landmark model
(Apache-2.0), the ``.tflite`` files of the ``mediapipe`` 0.10.21 wheels, shipped inside this package
(``models/``, see its README for their source and checksums) and run by OpenCV's own TFLite reader
(``cv2.dnn.readNetFromTFLite``, OpenCV >= 4.8): no extra runtime, nothing downloaded, no GPU. (The mediapipe
package itself cannot be installed beside this project: 0.10.21 pins numpy < 2, its numpy-2 rebuild and every newer
release pull in opencv-contrib-python, which overwrites the cv2 of opencv-python-headless, and newer releases no
longer carry the face mesh, which they download at run time.)

Eye openness is the eye aspect ratio (Soukupova & Cech 2016) on six mesh points per eye, calibrated per face across
the clip (each face's open-eye ratio is its own 90th percentile, never below a population prior), since people's
open eyes differ. Head turn comes from the nose tip's place between the cheeks (yaw) and between the eyes and the
mouth (pitch); the smile from the mouth's width against the eye corners' distance and the lift of its corners.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).with_name("models")
DETECTOR_FILE = "face_detection_short_range.tflite"
LANDMARK_FILE = "face_landmark.tflite"

DETECT_SIZE = 128
LANDMARK_SIZE = 192
MIN_DETECTION = 0.55            # BlazeFace score (after the sigmoid) that counts as a face
MIN_PRESENCE = 0.5              # Face Mesh "a face is in the crop" score
MAX_FACES = 6
MIN_FACE_SIDE = 0.04            # faces smaller than this share of the frame's long side are ignored
GRIDS = (1, 2, 3)               # crop grids tried on a clip's first frame (see FaceAnalyser.analyse)

# Mesh point indices (MediaPipe canonical face mesh). "Right" is the person's right (image left).
RIGHT_EYE = (33, 160, 158, 133, 153, 144)      # outer corner, upper lid x2, inner corner, lower lid x2
LEFT_EYE = (263, 387, 385, 362, 380, 373)
NOSE_TIP = 1
RIGHT_CHEEK, LEFT_CHEEK = 234, 454
MOUTH_RIGHT, MOUTH_LEFT = 61, 291
LIP_UPPER, LIP_LOWER = 13, 14

OPEN_EAR_PRIOR = 0.24           # open-eye aspect ratio of the mesh on frontal faces (astronaut: 0.30-0.31)
# The mesh (v1, no attention) keeps some aperture on a shut eye: on the generated blink of tests/support/blink.py
# the ratio falls to 0.64 of the open value (0.83 half closed), so "closed" is called well above zero.
CLOSED_RATIO = 0.66             # EAR at or below this share of the face's open EAR: closed
OPEN_RATIO = 0.88               # at or above: open


class FacesUnavailable(Exception):
    """The face models cannot run here (the sentence says why)."""


@dataclass
class FaceObservation:
    """One face found in one frame (coordinates in pixels of the image given to :meth:`FaceAnalyser.analyse`)."""

    box: tuple[float, float, float, float]      # x0, y0, x1, y1
    detection: float
    ear: float                                  # mean eye aspect ratio of both eyes
    ear_min: float                              # the more closed eye's
    yaw: float                                  # -1..1, 0 = facing the camera
    pitch: float                                # ~0 facing the camera; + looking down, - up
    smile: float                                # mouth width / outer eye-corner distance
    lift: float                                 # mouth corners above the lips' middle, in eye distances
    landmarks: np.ndarray | None = None         # 468 x 2
    sharpness: float = float("nan")             # filled by the scorer (RMS Laplacian in the box)

    @property
    def box_px(self) -> tuple[int, int, int, int]:
        return tuple(int(round(v)) for v in self.box)   # type: ignore[return-value]

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def _anchors() -> np.ndarray:
    """BlazeFace short-range SSD anchors (x, y centres, unit size): strides 8, 16, 16, 16, two per layer cell."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = DETECT_SIZE // stride
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


class FaceAnalyser:
    """The detector and landmark networks, one pair per thread (OpenCV nets are not re-entrant)."""

    def __init__(self, model_dir: Path = MODEL_DIR):
        import cv2

        self._cv2 = cv2
        self._dir = model_dir
        self._local = threading.local()
        self._anchors = _anchors()
        self._nets()   # load once here so a broken file fails now, with a reason

    def _nets(self):
        nets = getattr(self._local, "nets", None)
        if nets is None:
            cv2 = self._cv2
            det = cv2.dnn.readNetFromTFLite(str(self._dir / DETECTOR_FILE))
            mesh = cv2.dnn.readNetFromTFLite(str(self._dir / LANDMARK_FILE))
            nets = self._local.nets = (det, mesh, det.getUnconnectedOutLayersNames(),
                                       mesh.getUnconnectedOutLayersNames())
        return nets

    # ---- detection ---------------------------------------------------------------------------------------
    def detect(self, rgb: np.ndarray, region: tuple[int, int, int, int] | None = None
               ) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Faces in ``rgb`` (or in ``region`` = x0, y0, x1, y1 of it): (box x0 y0 x1 y1, 6 keypoints, score),
        image pixels. The region is padded to a square (the detector's input) rather than stretched."""
        cv2 = self._cv2
        det, _, det_out, _ = self._nets()
        x0, y0, x1, y1 = region if region is not None else (0, 0, rgb.shape[1], rgb.shape[0])
        crop = rgb[y0:y1, x0:x1]
        h, w = crop.shape[:2]
        side = max(h, w)
        scale = DETECT_SIZE / side
        resized = cv2.resize(crop, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        square = np.zeros((DETECT_SIZE, DETECT_SIZE, 3), np.float32)
        square[:resized.shape[0], :resized.shape[1]] = resized.astype(np.float32) / 127.5 - 1.0
        det.setInput(np.ascontiguousarray(square.transpose(2, 0, 1)[None]))
        reg, cls = det.forward(det_out)
        reg, logits = reg[0], cls[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -80, 80)))
        keep = np.flatnonzero(scores >= MIN_DETECTION)
        if keep.size == 0:
            return []
        a = self._anchors[keep]
        r = reg[keep] / DETECT_SIZE
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
        to_px = side   # unit square -> crop pixels (the padding is at the right/bottom)
        found = []
        for idx in _weighted_nms(boxes, scores[keep]):
            box = boxes[idx].mean(axis=0) * to_px + np.array([x0, y0, x0, y0])
            kp = kps[idx].mean(axis=0) * to_px + np.array([x0, y0])
            found.append((box, kp, float(scores[keep][idx].max())))
        return found

    # ---- landmarks ---------------------------------------------------------------------------------------
    def landmarks(self, rgb: np.ndarray, box: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, float] | None:
        """468 mesh points (image pixels, x y) for the face at ``box``, upright by its eye line; None when the
        landmark model sees no face there."""
        cv2 = self._cv2
        _, mesh, _, mesh_out = self._nets()
        right_eye, left_eye = keypoints[0], keypoints[1]
        angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])   # eye line vs horizontal
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = 1.5 * max(box[2] - box[0], box[3] - box[1])
        s = LANDMARK_SIZE / side
        c, si = math.cos(-angle) * s, math.sin(-angle) * s
        # crop pixel = R(-angle) * s * (p - centre) + half
        m = np.array([[c, -si, LANDMARK_SIZE / 2 - (c * cx - si * cy)],
                      [si, c, LANDMARK_SIZE / 2 - (si * cx + c * cy)]], np.float64)
        crop = cv2.warpAffine(rgb, m, (LANDMARK_SIZE, LANDMARK_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        mesh.setInput(np.ascontiguousarray((crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]))
        pts, flag = mesh.forward(mesh_out)
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(flag.ravel()[0], -100, 100))))
        if presence < MIN_PRESENCE:
            return None
        xy = pts.reshape(-1, 3)[:, :2].astype(np.float64)
        inv = cv2.invertAffineTransform(m)
        out = xy @ inv[:, :2].T + inv[:, 2]
        return out, presence

    def analyse(self, rgb: np.ndarray, grid: int = 1) -> list[FaceObservation]:
        """Every face of ``rgb`` (largest first, at most MAX_FACES). ``grid`` n > 1 also looks in n x n overlapping
        crops: the detector sees a square of the picture at 128 px, so the whole-frame pass finds faces from ~13 %
        of the frame's width, 2 x 2 crops from ~9 %, 3 x 3 from ~5 %."""
        h, w = rgb.shape[:2]
        found = self.detect(rgb)
        if grid > 1:
            share = min(1.0, 1.2 / grid)
            tw, th = int(w * share), int(h * share)
            for gy in range(grid):
                for gx in range(grid):
                    x0, y0 = round(gx * (w - tw) / (grid - 1)), round(gy * (h - th) / (grid - 1))
                    found += self.detect(rgb, (x0, y0, x0 + tw, y0 + th))
            found = _merge(found)
        found.sort(key=lambda f: -(f[0][2] - f[0][0]))
        out = []
        for box, kp, score in found[:MAX_FACES]:
            if max(box[2] - box[0], box[3] - box[1]) < MIN_FACE_SIDE * max(h, w):
                continue
            lm = self.landmarks(rgb, box, kp)
            if lm is None:
                continue
            out.append(_observe(lm[0], score))
        return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])   # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3) -> list[np.ndarray]:
    """Groups of overlapping detections (the caller averages each group, as MediaPipe's weighted NMS does)."""
    order = np.argsort(-scores)
    groups = []
    while order.size:
        overlap = _iou(boxes[order[0]], boxes[order]) >= iou
        groups.append(order[overlap])
        order = order[~overlap]
    return groups


def _merge(found: list) -> list:
    if len(found) < 2:
        return found
    boxes = np.array([f[0] for f in found])
    scores = np.array([f[2] for f in found])
    out = []
    for group in _weighted_nms(boxes, scores):
        keypoints = np.mean([found[i][1] for i in group], axis=0)
        out.append((boxes[group].mean(axis=0), keypoints, float(scores[group].max())))
    return out


def eye_aspect_ratio(pts: np.ndarray, eye: tuple[int, ...]) -> float:
    p1, p2, p3, p4, p5, p6 = (pts[i] for i in eye)
    width = float(np.linalg.norm(p1 - p4))
    return (float(np.linalg.norm(p2 - p6)) + float(np.linalg.norm(p3 - p5))) / (2.0 * max(width, 1e-6))


def _observe(pts: np.ndarray, score: float) -> FaceObservation:
    ear_r = eye_aspect_ratio(pts, RIGHT_EYE)
    ear_l = eye_aspect_ratio(pts, LEFT_EYE)
    eye_r, eye_l = pts[RIGHT_EYE[0]], pts[LEFT_EYE[0]]
    eye_dist = max(float(np.linalg.norm(eye_l - eye_r)), 1e-6)
    # measure in the face's own frame (upright along the eye line)
    u = (eye_l - eye_r) / eye_dist
    v = np.array([-u[1], u[0]])

    def along(i: int) -> tuple[float, float]:
        d = pts[i] - eye_r
        return float(d @ u) / eye_dist, float(d @ v) / eye_dist

    nose_x, nose_y = along(NOSE_TIP)
    cheek_r, _ = along(RIGHT_CHEEK)
    cheek_l, _ = along(LEFT_CHEEK)
    yaw = ((nose_x - cheek_r) - (cheek_l - nose_x)) / max(cheek_l - cheek_r, 1e-6)
    mouth_y = (along(LIP_UPPER)[1] + along(LIP_LOWER)[1]) / 2
    # the nose tip sits ~45 % of the way from the eye line to the mouth on a frontal face
    pitch = nose_y / max(mouth_y, 1e-6) - 0.55 if mouth_y > 0 else 0.0
    mr, ml = along(MOUTH_RIGHT), along(MOUTH_LEFT)
    smile = (ml[0] - mr[0])
    lift = mouth_y - (mr[1] + ml[1]) / 2
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return FaceObservation((float(x0), float(y0), float(x1), float(y1)), score, (ear_r + ear_l) / 2, min(ear_r, ear_l),
                           float(yaw), float(pitch), float(smile), float(lift), pts)


# ---- judging faces across a clip ------------------------------------------------------------------------
@dataclass
class FaceJudgement:
    """The faces part of one frame and what makes it."""

    part: float
    eyes: float                     # 0 closed .. 1 open (worst face)
    looking: float                  # 0 turned away .. 1 facing the camera (size-weighted)
    smiling: float                  # 0 .. 1 (size-weighted)
    faces: int                      # faces of the clip seen in this frame
    missing: int                    # faces of the clip not seen in this frame
    closed: int                     # faces with eyes closed
    half_closed: int
    sharpness: float                # RMS Laplacian on the largest face (NaN: none)
    extra: dict[str, float] = field(default_factory=dict)

    def details(self) -> dict[str, float]:
        return {"eyes_open": self.eyes, "looking": self.looking, "smiling": self.smiling, "faces": self.faces,
                **self.extra}

    def reasons(self) -> list[tuple[float, str]]:
        """(severity, sentence): positive severity is a fault, negative a strength."""
        out: list[tuple[float, str]] = []
        total = self.faces + self.missing
        if self.closed:
            who = "eyes closed" if total == 1 else f"eyes closed ({self.closed} of {total} faces)"
            out.append((1.2, who))
        elif self.half_closed:
            who = "eyes half closed" if total == 1 else f"eyes half closed ({self.half_closed} of {total} faces)"
            out.append((0.6, who))
        elif self.faces:
            out.append((-0.5, "eyes open" if total == 1 else "everyone's eyes open"))
        if self.missing:
            out.append((0.5, "a face is turned away or hidden" if self.missing == 1 else
                        f"{self.missing} faces turned away or hidden"))
        if self.faces and self.looking < 0.5:
            out.append((0.4, "looking away from the camera"))
        elif self.faces and self.looking >= 0.8:
            out.append((-0.3, "facing the camera"))
        if self.faces and self.smiling >= 0.6:
            out.append((-0.25, "smiling"))
        return out


# Shares of the faces part (they sum to 1): open eyes matter most -- a blink is the complaint users have most.
EYES_SHARE, LOOKING_SHARE, SMILE_SHARE = 0.6, 0.25, 0.15
MISSING_FACE = 0.2          # what a face of the clip that this frame does not show contributes


def _track(observations: list[list[FaceObservation]]) -> list[dict[int, FaceObservation]]:
    """Faces followed through the clip by their centres (greedy, nearest within half a face)."""
    tracks: list[dict[int, FaceObservation]] = []
    last: list[FaceObservation] = []
    for i, found in enumerate(observations):
        used = set()
        for face in found:
            best, best_d = None, None
            for t, prev in enumerate(last):
                if t in used:
                    continue
                d = math.dist(face.centre, prev.centre)
                if d <= 0.6 * max(face.size, prev.size) and (best_d is None or d < best_d):
                    best, best_d = t, d
            if best is None:
                tracks.append({i: face})
                last.append(face)
                used.add(len(last) - 1)
            else:
                tracks[best][i] = face
                last[best] = face
                used.add(best)
    return tracks


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def eye_openness(ear: float, open_ear: float) -> float:
    """0 (closed) .. 1 (open) from the eye aspect ratio against the face's open-eye ratio."""
    return _ramp(ear / max(open_ear, 1e-6), CLOSED_RATIO, OPEN_RATIO)


def looking_at_camera(face: FaceObservation) -> float:
    return min(_ramp(-abs(face.yaw), -0.45, -0.15), _ramp(-abs(face.pitch), -0.35, -0.15))


def smiling(face: FaceObservation, neutral_width: float) -> float:
    """Mouth widening against the face's narrowest mouth in the clip, and corner lift."""
    widening = face.smile / max(neutral_width, 1e-6) - 1.0
    return max(_ramp(widening, 0.02, 0.12), _ramp(face.lift, 0.02, 0.10))


def judge_clip(observations: list[list[FaceObservation]]) -> list[FaceJudgement | None]:
    """Per frame, the faces part (None where the clip has no face worth judging)."""
    n = len(observations)
    tracks = [t for t in _track(observations) if len(t) >= max(2, math.ceil(0.3 * n)) or n < 4]
    if not tracks:
        return [None] * n
    sizes = [float(np.median([f.size for f in t.values()])) for t in tracks]
    open_ear = [max(float(np.percentile([f.ear for f in t.values()], 90)), OPEN_EAR_PRIOR) for t in tracks]
    neutral = [float(np.percentile([f.smile for f in t.values()], 10)) for t in tracks]
    largest = int(np.argmax(sizes))
    out: list[FaceJudgement | None] = []
    for i in range(n):
        total_w = 0.0
        part = looking = smile = 0.0
        eyes_worst = 1.0
        seen = missing = closed = half = 0
        for t, track in enumerate(tracks):
            w = sizes[t]
            total_w += w
            face = track.get(i)
            if face is None:
                missing += 1
                part += w * MISSING_FACE
                continue
            seen += 1
            eyes = eye_openness(face.ear_min, open_ear[t])
            look = looking_at_camera(face)
            sm = smiling(face, neutral[t])
            eyes_worst = min(eyes_worst, eyes)
            closed += eyes <= 0.0
            half += 0.0 < eyes < 0.7
            looking += w * look
            smile += w * sm
            part += w * (EYES_SHARE * eyes + LOOKING_SHARE * look + SMILE_SHARE * sm)
        seen_w = sum(sizes[t] for t, tr in enumerate(tracks) if i in tr) or 1.0
        sharp = tracks[largest][i].sharpness if i in tracks[largest] else float("nan")
        out.append(FaceJudgement(part / total_w, eyes_worst if seen else 0.0, looking / seen_w if seen else 0.0,
                                 smile / seen_w if seen else 0.0, seen, missing, closed, half, sharp))
    return out


_ANALYSER: FaceAnalyser | None = None
_ANALYSER_LOCK = threading.Lock()


def load_analyser() -> FaceAnalyser:
    """The shared analyser; raises :class:`FacesUnavailable` (with the reason) when the models cannot run."""
    global _ANALYSER
    with _ANALYSER_LOCK:
        if _ANALYSER is not None:
            return _ANALYSER
        import cv2

        if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "readNetFromTFLite"):
            raise FacesUnavailable(f"this OpenCV ({cv2.__version__}) cannot read TFLite models (4.8 or newer can)")
        for name in (DETECTOR_FILE, LANDMARK_FILE):
            if not (MODEL_DIR / name).is_file():
                raise FacesUnavailable(f"the face model {name} is missing from the installation")
        try:
            _ANALYSER = FaceAnalyser()
        except cv2.error as exc:
            raise FacesUnavailable(f"the face models cannot be loaded ({str(exc).strip().splitlines()[-1]})") from exc
        return _ANALYSER
