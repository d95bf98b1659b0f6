"""Inputs of the diffusion restorer built from the app's Alignment: conventions checked on a real Live Photo,
and the import rule (no torch/diffusers at import of what the app imports on start-up)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, sample


def test_importing_the_restorer_and_cli_does_not_import_torch():
    code = ("import sys\n"
            "import livemoments_app.core.restore.livemoments.restorer, livemoments_app.core.restore.livemoments.manage\n"
            "import livemoments_app.cli.models, livemoments_app.core.restore.devices, livemoments_app.core.align.tiles\n"
            "from livemoments_app.core.restore import registry\n"
            "registry.ensure_registered(); registry.create('livemoments')\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'safetensors') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _highpass(x):
    import cv2

    g = cv2.cvtColor(x.astype(np.float32), cv2.COLOR_RGB2GRAY)
    g = g - cv2.GaussianBlur(g, (0, 0), 5)
    return g / (g.std() + 1e-6)


@pytest.mark.samples
@pytest.mark.slow
def test_reference_tiles_and_motion_flow_point_the_right_way_on_a_real_live_photo():
    """PCR must pick reference tiles that match the LQ tiles far better than the same position, and the motion
    flow (reference-LR tile -> LQ tile) must bring the LQ tile onto its reference tile, not away from it."""
    import cv2

    from livemoments_app.core.align import align
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.restore.livemoments import inputs

    live = open_live_photo(sample("apple_iphone15pro_IMG_4394.HEIC"))
    index = max(0, live.key_frame_index - 25)       # ~33 px of camera motion from the key frame
    alignment = align(live, index)
    full = inputs.build(live.still.pixels, live.clip.frame(index), alignment, 1.0)
    tiled = inputs.tile_inputs(full, 256, 32)
    scores = []
    for k in range(0, len(tiled.origins), 3):
        lq, ref, flow = tiled.tile_arrays(k)
        h, w = flow.shape[:2]
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        m = slice(20, -20)
        row = []
        for sign in (1, -1):
            warped = cv2.remap(lq, gx + sign * flow[..., 0], gy + sign * flow[..., 1], cv2.INTER_LINEAR)
            row.append(float((_highpass(warped)[m, m] * _highpass(ref)[m, m]).mean()))
        i, j = tiled.origins[k]
        same = tiled.ref[i:i + 256, j:j + 256]
        row.append(float((_highpass(lq)[m, m] * _highpass(same)[m, m]).mean()))
        row.append(float((_highpass(lq)[m, m] * _highpass(ref)[m, m]).mean()))
        scores.append(row)
    with_flow, against_flow, same_place, pcr_only = np.array(scores).mean(0)
    assert pcr_only > same_place + 0.2
    assert with_flow > pcr_only + 0.05 and with_flow > against_flow + 0.2
