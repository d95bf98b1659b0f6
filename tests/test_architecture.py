"""The core never imports Qt, the app never imports Ray (import-linter contracts in pyproject.toml), no import
circles, one pipeline."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_import_linter_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    lint = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Contracts: 2 kept, 0 broken." in lint.stdout


def _lint_package(tmp_path: Path, modules: dict[str, str]) -> subprocess.CompletedProcess:
    """lint-imports with the project's contracts over a made-up livemoments_app with ``modules`` (dotted names
    under it -> source) beside empty core and ui packages."""
    pkg = tmp_path / "livemoments_app"
    for part in ("core", "ui"):
        (pkg / part).mkdir(parents=True)
        (pkg / part / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    for name, source in modules.items():
        (pkg / (name.replace(".", "/") + ".py")).write_text(source)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    lint_imports = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint_imports), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})


def test_contract_catches_a_qt_import_in_core(tmp_path):
    """The contract is real: a core module importing PySide6 breaks it."""
    lint = _lint_package(tmp_path, {"core.bad": "import PySide6\n"})
    assert lint.returncode != 0
    assert "BROKEN" in lint.stdout


def test_contract_catches_ray_reached_from_the_ui(tmp_path):
    """The Ray contract is real: a UI module reaching Ray, even through a lazy import in the core, breaks it."""
    lint = _lint_package(tmp_path, {"core.engines": "def make():\n    import ray\n",
                                    "ui.window": "from livemoments_app.core import engines\n"})
    assert lint.returncode != 0
    assert "livemoments_app.ui is not allowed to import ray" in lint.stdout


def test_no_two_modules_import_each_other():
    """Circles make the import order matter and modules impossible to read alone (cli.batch <-> cli.restore and
    core.clip <-> core.livephoto.model were two). Type-checking imports count: they are a circle for a reader."""
    import grimp

    graph = grimp.build_graph("livemoments_app", exclude_type_checking_imports=False)
    circles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                      if a in graph.find_modules_directly_imported_by(b)})
    assert circles == []


def test_the_one_photo_pipeline_lives_in_the_core():
    """The CLI, the batch engines and the app's view-models all call core.pipeline; nothing imports the
    pipeline's pieces from the CLI."""
    import grimp

    graph = grimp.build_graph("livemoments_app")
    for user in ("livemoments_app.cli.restore", "livemoments_app.core.batch.item",
                 "livemoments_app.ui.viewmodels.restore", "livemoments_app.ui.viewmodels.export"):
        assert graph.direct_import_exists(importer=user, imported="livemoments_app.core.pipeline"), user
    assert not graph.find_upstream_modules("livemoments_app.core.pipeline") & {
        m for m in graph.modules if m.startswith(("livemoments_app.cli", "livemoments_app.ui"))}
