"""Without the 'diffusion' extra (a plain `pip install livemoments`, or the bundle that leaves torch out): the
models commands and the diffusion restorer say what is missing in one line, and the model manifest ships inside
the package. Absence is simulated, so these run where torch is installed too (and need none of it)."""

from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from livemoments_app.cli import main
from livemoments_app.core.errors import RestoreError
from livemoments_app.core.jobs import CancelToken, Progress
from livemoments_app.core.restore import base
from livemoments_app.core.restore.livemoments import manage, paths as lm_paths, restorer as lm_restorer

ROOT = Path(__file__).resolve().parents[1]
PIP_HINT = 'pip install "livemoments[diffusion]"'


@pytest.fixture(params=["sys.modules", "__import__"])
def hide(request, monkeypatch):
    """hide(*names): those top-level packages cannot be imported, either because sys.modules holds None for them
    (how Python marks a blocked import) or because the import statement itself fails for them."""

    def block(*names: str) -> None:
        if request.param == "sys.modules":
            for name in names:
                monkeypatch.setitem(sys.modules, name, None)
            return
        real = builtins.__import__

        def fake(name, *args, **kwargs):
            if name.split(".")[0] in names:
                raise ModuleNotFoundError(f"No module named '{name}'", name=name)
            return real(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", fake)

    return block


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    assert len(err.splitlines()) == 1, err
    assert err.startswith("livemoments: error: ")
    return err


def test_download_without_huggingface_hub_says_what_to_install(hide, tmp_path, capsys):
    hide("huggingface_hub")
    assert main(["models", "download", "--models", str(tmp_path)]) == 1
    err = _one_line_error(capsys)
    assert "huggingface_hub" in err and "not installed" in err and PIP_HINT in err
    assert not any(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize("missing", ["torch", "diffusers", "transformers"])
def test_prepare_without_a_diffusion_package_says_what_to_install(hide, missing, tmp_path, capsys):
    hide(missing)
    assert main(["models", "prepare", "--models", str(tmp_path)]) == 1
    err = _one_line_error(capsys)
    assert f"needs {missing}," in err and PIP_HINT in err
    # The missing package is named before anything else is asked of the user (text encoders, memory).
    assert "--with-text-encoders" not in err


def test_prepare_names_every_missing_package_at_once(monkeypatch, tmp_path, capsys):
    for name in ("torch", "diffusers", "transformers"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["models", "prepare", "--models", str(tmp_path)]) == 1
    assert "needs torch, diffusers, transformers, which are not installed" in _one_line_error(capsys)


def test_in_a_bundle_the_commands_point_to_the_packaging_guide(hide, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    hide("huggingface_hub", "torch")
    for command in ("download", "prepare"):
        assert main(["models", command, "--models", str(tmp_path)]) == 1
        err = _one_line_error(capsys)
        assert "built without PyTorch" in err and "LIVEMOMENTS_BUNDLE_DIFFUSION=1" in err
        assert "docs/packaging.md" in err and PIP_HINT in err


def _request() -> base.RestoreRequest:
    pixels = np.zeros((8, 8, 3), np.uint8)
    return base.RestoreRequest(still=pixels, frame=pixels, alignment=None, device="cpu")


def test_availability_without_torch_outside_a_bundle_names_the_extra(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)
    got = lm_restorer.LiveMomentsRestorer().availability({})
    assert not got.ok and got.reason == "torch not installed (install the 'diffusion' extra)"


def test_availability_in_a_bundle_without_torch_says_the_app_was_built_without_it(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)
    got = lm_restorer.LiveMomentsRestorer().availability({})
    assert not got.ok
    assert got.reason.startswith("This LiveMoments app was built without PyTorch")
    assert "docs/packaging.md" in got.reason and "LIVEMOMENTS_BUNDLE_DIFFUSION=1" in got.reason
    assert PIP_HINT in got.reason
    assert "install the 'diffusion' extra" not in got.reason  # a bundle user has nothing to install it into
    with pytest.raises(RestoreError, match="built without PyTorch"):
        lm_restorer.LiveMomentsRestorer().restore(_request(), Progress(lambda f, t: None, CancelToken()))


# --------------------------------------------------------------------------------------------- the manifest
PACKAGED = ROOT / "livemoments_app" / "core" / "restore" / "livemoments" / "manifest.json"


def test_the_manifest_ships_inside_the_package_and_only_there():
    assert PACKAGED.is_file()
    assert not (ROOT / "models" / "manifest.json").exists(), "one manifest only: the package's"
    assert "livemoments_app/core/restore/livemoments/manifest.json" in (ROOT / "models" / "README.md").read_text()


def test_the_manifest_is_found_without_a_checkout_or_override(monkeypatch):
    # What a wheel install sees: no models/ folder beside the package, no LIVEMOMENTS_MANIFEST.
    monkeypatch.delenv(manage.MANIFEST_ENV, raising=False)
    monkeypatch.setattr(lm_paths, "checkout_models_dir", lambda: None)
    assert Path(str(manage.manifest_path())) == PACKAGED
    assert manage.load_manifest()["repositories"]["sd3"]["gated"] is True


def test_the_manifest_override_still_wins(monkeypatch, tmp_path):
    other = json.loads(PACKAGED.read_text())
    other["repositories"]["livemoments"]["revision"] = "0" * 40
    (tmp_path / "m.json").write_text(json.dumps(other))
    monkeypatch.setenv(manage.MANIFEST_ENV, str(tmp_path / "m.json"))
    assert manage.manifest_path() == tmp_path / "m.json"
    assert manage.load_manifest()["repositories"]["livemoments"]["revision"] == "0" * 40
