"""The app's alignment overlays are the core's (the `align` command's): same pixels for every mode, including the
difference overlay, which compares content after matching the still's grading to the frame's."""

from __future__ import annotations

import types

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from livemoments_app.core.align import align_pair, overlays  # noqa: E402
from livemoments_app.core.jobs import Progress  # noqa: E402
from livemoments_app.ui.imaging import rgb_from_qimage  # noqa: E402
from livemoments_app.ui.viewmodels import alignment as alignment_vm  # noqa: E402
from tests.scenes import textured_scene  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("mode", overlays.MODES)
def test_app_overlay_equals_the_core_overlay(mode):
    still = textured_scene()
    small = cv2.resize(still, (320, 240), interpolation=cv2.INTER_AREA)
    # a different tone curve, as between a key photo and its video: the difference overlay must not show it
    frame = np.clip((small.astype(np.float32) / 255) ** 1.3 * 255, 0, 255).astype(np.uint8)
    alignment = align_pair(still, frame)
    live = types.SimpleNamespace(clip=types.SimpleNamespace(frame=lambda _i: frame),
                                 still=types.SimpleNamespace(pixels=still))
    picture = alignment_vm._render(live, 0, alignment, mode, 0.4, {}, Progress())
    expected = overlays.render(mode, alignment, still, frame, opacity=0.4)
    np.testing.assert_array_equal(rgb_from_qimage(picture.levels[0]), expected)
