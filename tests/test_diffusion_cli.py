"""`livemoments restore --restorer livemoments` end to end on the CPU with a tiny random checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("cv2")

from livemoments_app.cli import main  # noqa: E402


def test_cli_restore_with_livemoments_restorer(tmp_path, capsys):
    from PIL import Image

    from livemoments_app.core.restore.livemoments import tiny

    root = tiny.write_checkpoint(tmp_path / "models", tiny.TINY, seed=2)
    still, frame = tiny.textured_pair(120, seed=1)
    Image.fromarray(still).save(tmp_path / "still.png")
    Image.fromarray(frame).save(tmp_path / "frame.png")
    out = tmp_path / "out.png"
    torch.set_num_threads(1)
    rc = main(["restore", "--reference", str(tmp_path / "still.png"), "--target", str(tmp_path / "frame.png"),
               "--restorer", "livemoments", "--device", "cpu", "--models", str(root), "--scale", "1.5",
               "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert "livemoments restorer" in capsys.readouterr().out
    img = np.asarray(Image.open(out))
    assert img.shape == (180, 180, 3)
    assert np.abs(img.reshape(-1, 3).mean(0) - frame.reshape(-1, 3).mean(0)).max() < 12


def test_cli_restore_reports_missing_weights_in_one_line(tmp_path, capsys):
    from PIL import Image

    img = np.zeros((64, 64, 3), np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    rc = main(["restore", "--reference", str(tmp_path / "a.png"), "--target", str(tmp_path / "a.png"),
               "--restorer", "livemoments", "--device", "cpu", "--models", str(tmp_path / "none"),
               "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("livemoments: error:")
    assert "motion_encoder.pt: missing" in err and "sd3/vae: missing" in err
