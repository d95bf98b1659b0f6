"""End to end on the iPhone 15 Pro sample: restore a frame, export it (HEIC, JPEG, PNG, and as a new Live Photo)
through the pipeline, and read the gain map back with the app's reader."""

from __future__ import annotations

import numpy as np
import pytest

from livemoments_app.core.hdr import encoding
from tests.conftest import sample

pytestmark = pytest.mark.samples


@pytest.fixture(scope="module")
def restored():
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.pipeline import restore_frame
    from livemoments_app.core.restore.classic import ClassicRestorer

    with open_live_photo(sample("apple_iphone15pro_IMG_4394.HEIC")) as live:
        result, _alignment = restore_frame(live, 18, ClassicRestorer(), size=0.5)
    return result, live


@pytest.mark.parametrize("fmt, kind", [("heic", "apple"), ("jpeg", "ultrahdr")])
def test_exports_carry_the_restored_gain_map(restored, tmp_path, fmt, kind):
    from livemoments_app.core.export import ExportOptions
    from livemoments_app.core.livephoto.open import find_gain_map
    from livemoments_app.core.pipeline import write_result

    result, live = restored
    written = write_result(result, live, tmp_path, ExportOptions(format=fmt))
    assert written.hdr
    ref = find_gain_map(written.paths[0])
    assert ref is not None and ref.kind == kind and ref.size == result.gain_map.size
    assert ref.headroom == pytest.approx(result.gain_map.headroom, rel=1e-3)
    back = encoding.to_stops(ref.load())
    error = np.abs(back - encoding.to_stops(result.gain_map))
    assert error.mean() < 0.02 and np.percentile(error, 99) < 0.1        # coded lossily, like the picture


def test_png_and_sdr_only_exports_have_no_gain_map(restored, tmp_path):
    from livemoments_app.core.export import ExportOptions
    from livemoments_app.core.livephoto.open import find_gain_map
    from livemoments_app.core.pipeline import write_result

    result, live = restored
    png = write_result(result, live, tmp_path, ExportOptions(format="png"))
    assert any("PNG" in s for s in png.skipped) and not png.hdr
    plain = write_result(result, live, tmp_path, ExportOptions(format="heic", hdr=False))
    assert find_gain_map(plain.paths[0]) is None and not plain.hdr


def test_a_written_back_live_photo_keeps_hdr(restored, tmp_path):
    from livemoments_app.core.export import ExportOptions
    from livemoments_app.core.livephoto import open_live_photo
    from livemoments_app.core.pipeline import write_result

    result, live = restored
    written = write_result(result, live, tmp_path, ExportOptions(), frame_index=18, still=False, write_back=True)
    with open_live_photo(written.paths[0]) as again:
        assert again.key_frame_index == 18
        assert again.still.hdr is not None and again.still.hdr.size == result.gain_map.size
        assert again.still.gain_map.pixels.shape == result.gain_map.pixels.shape
