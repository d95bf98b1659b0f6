"""The diffusion speed benchmark runs (tiny config, CPU) and reports every measurement it promises."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")


@pytest.mark.slow
def test_benchmark_tiny_smoke(tmp_path, capsys):
    from benchmarks import diffusion_speed

    out = tmp_path / "r.json"
    rc = diffusion_speed.main(["--tiny", "--device", "cpu", "--repeats", "1", "--megapixels", "0.01",
                               "--compile", "off", "--json", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    (row,) = data["runs"]
    assert row["tile_s"] > 0 and row["loop_tflops"] > 0 and 0 < row["utilisation"]
    assert row["image_tiles"] == 6 and row["image_s"] > 0
    text = capsys.readouterr().out
    assert "release-style" in text and "% of matmul" in text
