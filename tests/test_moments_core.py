"""core.moments: frame scores on small Live Photos written for the test (damaged frames must rank below their
clean neighbours), the face part on a real public-domain face with generated blinks, and the pieces."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from livemoments_app.core.jobs import CancelToken, Cancelled, Progress
from livemoments_app.core.livephoto import open_live_photo
from livemoments_app.core.moments import FrameScore, Suggestions, suggest
from livemoments_app.core.moments import exposure, faces, horizon, sharpness
from livemoments_app.core.moments.restorability import rotation_deg
from livemoments_app.core.moments.scoring import MomentOptions
from tests.support.blink import close_eyes
from tests.support.damage import defocus, motion_blur, overexpose
from tests.support.synth import write_apple_pair

skimage_data = pytest.importorskip("skimage.data")

DAMAGED = {5: "motion blur", 10: "over-exposed", 15: "defocus"}


def _shaky_frames(photo: np.ndarray, n: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``n`` crops of ``photo`` following a small random camera walk."""
    rng = np.random.default_rng(seed)
    h, w = size
    walk = np.cumsum(rng.normal(0, 1.0, size=(n, 2)), axis=0)
    cy, cx = (photo.shape[0] - h) / 2, (photo.shape[1] - w) / 2
    frames = []
    for dx, dy in walk:
        m = np.float32([[1, 0, -(cx + dx)], [0, 1, -(cy + dy)]])
        frames.append(cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return frames


@pytest.fixture(scope="module")
def damaged_clip(tmp_path_factory):
    """A 20-frame Apple pair (coffee photo, camera shake) with frames 5, 10, 15 damaged; key frame 12."""
    photo = cv2.resize(skimage_data.coffee(), (960, 640), interpolation=cv2.INTER_CUBIC)
    frames = _shaky_frames(photo, 20, (480, 640))
    frames[5] = motion_blur(frames[5], 9, 30)
    frames[10] = overexpose(frames[10], 1.0)
    frames[15] = defocus(frames[15], 3)
    still = cv2.resize(frames[12], (1280, 960), interpolation=cv2.INTER_CUBIC)
    path, _mov = write_apple_pair(tmp_path_factory.mktemp("damaged"), stem="IMG_0100", still_format="jpeg",
                                  frames=frames, still=still, key_index=12)
    return path


@pytest.fixture(scope="module")
def blink_clip(tmp_path_factory):
    """The astronaut (public domain) with camera shake, eyes closed in frames 4 and 9; key frame 6."""
    analyser = faces.load_analyser()
    photo = cv2.resize(skimage_data.astronaut(), (768, 768), interpolation=cv2.INTER_CUBIC)
    frames = _shaky_frames(photo, 12, (704, 704), seed=3)
    for i in (4, 9):
        frames[i] = close_eyes(frames[i], analyser.analyse(frames[i])[0].landmarks)
    still = cv2.resize(frames[6], (1408, 1408), interpolation=cv2.INTER_CUBIC)
    path, _mov = write_apple_pair(tmp_path_factory.mktemp("blink"), stem="IMG_0200", still_format="jpeg",
                                  frames=frames, still=still, key_index=6)
    return path


def test_damaged_frames_rank_below_their_clean_neighbours(damaged_clip):
    with open_live_photo(damaged_clip) as live:
        result = suggest(live)
        n = live.clip.frame_count
    assert [f.index for f in result.frames] == list(range(n))
    scores = [f.score for f in result.frames]
    for d, kind in DAMAGED.items():
        assert scores[d] < min(scores[d - 1], scores[d + 1]), (kind, scores[d - 1:d + 2])
    ranked = [f.index for f in result.ranked()]
    assert set(ranked[-3:]) == set(DAMAGED)          # the three damaged frames are the three worst
    assert result.frames[12].is_key and result.key_index == 12
    # the reasons say what is wrong, in words
    assert any("blurred" in r for r in result.frames[5].reasons)
    assert any("brighter" in r or "clipped" in r for r in result.frames[10].reasons)
    assert any("blurred" in r for r in result.frames[15].reasons)


def test_blinks_rank_below_open_eyes_and_say_so(blink_clip):
    with open_live_photo(blink_clip) as live:
        result = suggest(live)
    assert not [n for n in result.notes if n.startswith("faces not scored")]
    for d in (4, 9):
        f = result.frames[d]
        assert f.parts["faces"] < 0.5 < min(result.frames[d - 1].parts["faces"], result.frames[d + 1].parts["faces"])
        assert f.score < min(result.frames[d - 1].score, result.frames[d + 1].score)
        assert f.reasons[0] == "eyes closed"
    assert "eyes open" in result.frames[6].reasons
    assert result.frames[6].details["eyes_open"] == 1.0


def test_face_part_on_a_real_face():
    """skimage's astronaut (Eileen Collins, public domain): one face, eyes open, facing the camera, smiling; the
    same face with generated closed eyes measures far below its open-eye ratio."""
    analyser = faces.load_analyser()
    photo = skimage_data.astronaut()
    found = analyser.analyse(photo)
    assert len(found) == 1
    face = found[0]
    x0, y0, x1, y1 = face.box
    assert 150 < (x0 + x1) / 2 < 300 and 60 < (y0 + y1) / 2 < 200      # the face, not the patch or the helmet
    assert 0.26 < face.ear < 0.34
    assert faces.looking_at_camera(face) > 0.8
    assert face.lift > 0.05                                             # the corners of the mouth are raised
    closed = analyser.analyse(close_eyes(photo, face.landmarks, 1.0))[0]
    half = analyser.analyse(close_eyes(photo, face.landmarks, 0.5))[0]
    assert closed.ear < half.ear < face.ear
    assert faces.eye_openness(closed.ear_min, face.ear) == 0.0
    assert faces.eye_openness(face.ear_min, face.ear) == 1.0


def test_no_face_in_a_scene_without_people():
    assert faces.load_analyser().analyse(skimage_data.coffee()) == []


def test_faces_unavailable_is_a_note_not_a_crash(damaged_clip, monkeypatch, tmp_path):
    monkeypatch.setattr(faces, "MODEL_DIR", tmp_path)
    monkeypatch.setattr(faces, "_ANALYSER", None)
    with pytest.raises(faces.FacesUnavailable, match="missing"):
        faces.load_analyser()
    with open_live_photo(damaged_clip) as live:
        result = suggest(live)
    assert any(n.startswith("faces not scored: the face model") for n in result.notes)
    assert all("faces" not in f.parts for f in result.frames)
    off = None
    with open_live_photo(damaged_clip) as live:
        off = suggest(live, options=MomentOptions(faces=False))
    assert "faces not scored: turned off" in off.notes


def test_progress_reaches_the_end_and_cancel_stops(damaged_clip):
    seen = []
    with open_live_photo(damaged_clip) as live:
        suggest(live, Progress(lambda f, t: seen.append((f, t))))
        assert seen[-1][0] == pytest.approx(1.0)
        assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:]))
        token = CancelToken()
        calls = []

        def cancel_soon(f, _t):
            calls.append(f)
            if len(calls) == 3:
                token.cancel()

        with pytest.raises(Cancelled):
            suggest(live, Progress(cancel_soon, token))
        assert len(calls) == 3


def test_alignments_given_replace_the_estimate(damaged_clip):
    class Done:
        aligned_share = 0.123

    with open_live_photo(damaged_clip) as live:
        result = suggest(live, alignments={3: Done()})
    assert result.frames[3].details["restorable_share"] == pytest.approx(0.123)


def test_suggestions_rank_top_and_json():
    frames = [FrameScore(i, i / 2, s, {"sharpness": s}, [f"r{i}"]) for i, s in enumerate([0.2, 0.9, 0.5, 0.9])]
    result = Suggestions(frames, ["a note"], key_index=2)
    # ties go to the frame nearer the key photo (frame 1 and 3 are equally near: the earlier one)
    assert [f.index for f in result.ranked()] == [1, 3, 2, 0]
    assert [f.index for f in result.top(2)] == [1, 3]
    assert result.top(0) == [] and len(result.top(10)) == 4
    # top() gives distinct moments: frames closer than MIN_GAP_S to a better one are left out
    close = Suggestions([FrameScore(i, i / 30, s) for i, s in enumerate([0.5, 0.9, 0.85, 0.6, 0.1, 0.1, 0.1,
                                                                          0.1, 0.1, 0.1, 0.3])], key_index=0)
    assert [f.index for f in close.top(3)] == [1, 10]
    assert [f.index for f in close.top(3, min_gap_s=0)] == [1, 2, 3]
    data = json.loads(json.dumps(result.to_json()))
    assert [f["index"] for f in data["frames"]] == [1, 3, 2, 0]
    assert set(data["frames"][0]) >= {"index", "time_s", "score", "parts", "reasons"}
    assert data["notes"] == ["a note"] and data["frame_count"] == 4
    back = Suggestions.from_json(data)                     # a stored ranking (the library's cache) reads back whole
    assert back.frames == result.frames and back.notes == ["a note"] and back.key_index == 2
    with pytest.raises(ValueError):
        Suggestions.from_json({**data, "frame_count": 5})  # a frame missing
    with pytest.raises(ValueError):
        Suggestions.from_json({"frames": [{"index": "x"}], "frame_count": 1})


def test_other_moments_leave_out_the_key_photo_and_its_moment():
    """top(key=False), what the app lists: the key photo's frame is not offered, nor the frames beside it that
    score lower (its own moment, seen worse); a frame beside it that scores higher is."""
    scores = [0.3, 0.5, 0.55, 0.6, 0.7, 0.9, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.65]
    clip = Suggestions([FrameScore(i, i / 10, s, is_key=i == 5) for i, s in enumerate(scores)], key_index=5)
    assert [f.index for f in clip.top(3)] == [5, 14, 2]
    assert [f.index for f in clip.top(3, key=False)] == [14, 2, 8]
    blink = Suggestions([FrameScore(i, i / 10, s, is_key=i == 4) for i, s in enumerate(scores)], key_index=4)
    assert [f.index for f in blink.top(2, key=False)] == [5, 14]      # the key frame blinks: 0.1 s later wins
    assert [f.index for f in blink.top(0, key=False)] == []


def test_sharpness_ignores_exposure_and_sees_blur():
    gray = cv2.cvtColor(skimage_data.coffee(), cv2.COLOR_RGB2GRAY)
    brighter = np.clip(gray.astype(np.float32) * 1.35, 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.5)
    level = lambda g: float(np.sqrt(sharpness.laplacian_energy(g).mean()))   # noqa: E731
    assert level(brighter) == pytest.approx(level(gray), rel=0.15)
    assert level(blurred) < 0.6 * level(gray)
    tiles = np.stack([sharpness.tile_levels(sharpness.laplacian_energy(g)) for g in (gray, blurred, gray)])
    whole, tile = sharpness.relative_sharpness(tiles)
    assert whole[0] == pytest.approx(1.0) and whole[1] < 0.6 and tile[1] < 0.6


def test_exposure_jump_is_measured_in_stops():
    frame = skimage_data.coffee()
    stats = [exposure.measure(frame) for _ in range(4)] + [exposure.measure(overexpose(frame, 1.0))] + \
            [exposure.measure(frame) for _ in range(4)]
    clipped, crushed, stops = exposure.excess(stats)
    assert stops[4] == pytest.approx(1.0, abs=0.25)       # +1 stop, less what clipping takes away
    assert np.all(np.abs(np.delete(stops, 4)) < 0.05)
    assert clipped[4] > 0.01 and clipped[0] == 0.0


def test_horizon_and_rotation():
    img = np.full((360, 480), 90, np.uint8)
    cv2.line(img, (0, 200), (479, 200 - int(round(479 * np.tan(np.radians(2.0))))), 230, 3, cv2.LINE_AA)
    cv2.line(img, (0, 260), (479, 260 - int(round(479 * np.tan(np.radians(2.0))))), 20, 3, cv2.LINE_AA)
    angle = horizon.horizon_angle(img)
    assert angle == pytest.approx(2.0, abs=0.4)              # rising to the right: counter-clockwise
    assert horizon.horizon_angle(np.full((360, 480), 90, np.uint8)) is None
    # a frame turned 1.5 degrees counter-clockwise against the key frame (flow: frame pixel -> key frame pixel)
    h, w = 90, 120
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -1.5, 1.0)    # frame -> key: undo the turn
    flow = np.stack([m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs, m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys], -1)
    assert rotation_deg(flow.astype(np.float32), np.ones((h, w), np.float32)) == pytest.approx(1.5, abs=0.05)


def _face(x: float, ear: float, yaw: float = 0.0) -> faces.FaceObservation:
    return faces.FaceObservation((x, 100, x + 80, 190), 0.9, ear, ear, yaw, 0.0, 0.6, 0.0)


def test_faces_followed_through_a_clip():
    n = 20
    # a face glimpsed in one frame only (a stray detection) gives no faces part
    stray = [[] for _ in range(n)]
    stray[7] = [_face(50, 0.3)]
    assert faces.judge_clip(stray) == [None] * n
    # two people; the second blinks in frame 5 and turns away (not found) in frame 12
    obs = [[_face(50 + i, 0.30), _face(300 + i, 0.28)] for i in range(n)]
    obs[5][1] = _face(305, 0.12)
    obs[12] = obs[12][:1]
    obs[15][0] = _face(65, 0.30, yaw=0.6)
    judged = faces.judge_clip(obs)
    assert judged[5].closed == 1 and judged[5].eyes == 0.0
    assert judged[12].missing == 1 and judged[12].faces == 1
    assert judged[15].looking < 0.75
    clean = judged[3].part
    assert clean > max(judged[5].part, judged[12].part, judged[15].part)
    reasons = [t for _, t in judged[5].reasons()]
    assert reasons[0] == "eyes closed (1 of 2 faces)"
    assert "a face is turned away or hidden" in [t for _, t in judged[12].reasons()]


def test_small_faces_are_found_in_crops():
    """The astronaut's face at ~6 % of a 960 px frame's width: too small for the whole-frame pass, found by the
    3 x 3 crop grid (the scorer picks the grid on the clip's first frame)."""
    big = np.full((1050, 1400, 3), 128, np.uint8)
    big[300:812, 700:1212] = skimage_data.astronaut()
    frame = cv2.resize(big, (960, 720), interpolation=cv2.INTER_AREA)
    analyser = faces.load_analyser()
    assert analyser.analyse(frame) == []
    found = analyser.analyse(frame, grid=3)
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box
    assert 480 < (x0 + x1) / 2 < 680 and 220 < (y0 + y1) / 2 < 330      # where the face was pasted
    assert faces.looking_at_camera(found[0]) > 0.8
