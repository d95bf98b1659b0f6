"""Packaging: wheel/sdist, desktop metadata, icons, the macOS Info.plist and (slow) the PyInstaller bundle."""

from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree
from PIL import Image

from livemoments_app import __version__

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
ICONS = PACKAGING / "icons"
sys.path.insert(0, str(PACKAGING))
from bundle_metadata import APP_ID, DIFFUSION_MODULES, excluded_modules, macos_info_plist  # noqa: E402

DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"


def _source_files() -> list[Path]:
    """Files a fresh clone would have (tracked, plus new files git does not ignore), relative to the root."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files belong to the source tree")
    return [Path(line) for line in listed.stdout.splitlines() if (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def built_dists(tmp_path_factory) -> dict[str, Path]:
    """Wheel + sdist built from a copy of the tree, so a concurrent build in the checkout cannot interfere."""
    tree = tmp_path_factory.mktemp("src")
    for rel in _source_files():
        if rel.parts[0] in ("livemoments_app", "resources", "pyproject.toml", "setup.py", "README.md", "LICENSE",
                            "MANIFEST.in"):
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tree / rel)
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with the venv's setuptools instead of downloading one per run.
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0], "tree": tree}


def test_wheel_and_sdist_carry_the_package_version_and_pass_twine_check(built_dists):
    assert built_dists["wheel"].name == f"livemoments-{__version__}-py3-none-any.whl"
    assert built_dists["sdist"].name == f"livemoments-{__version__}.tar.gz"
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                            str(built_dists["wheel"]), str(built_dists["sdist"])],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("PASSED") == 2, check.stdout


def test_wheel_holds_every_package_file_and_both_entry_points(built_dists):
    tree: Path = built_dists["tree"]
    expected = {p.relative_to(tree).as_posix() for p in (tree / "livemoments_app").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    with zipfile.ZipFile(built_dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        dist_info = f"livemoments-{__version__}.dist-info"
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        entry_points = configparser.ConfigParser()
        entry_points.read_string(wheel.read(f"{dist_info}/entry_points.txt").decode())
    # Data files (icons, manifests) are easy to lose: setuptools ships only what package-data names.
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    # `livemoments models download` reads the pinned revisions from it; a wheel without it cannot download.
    assert "livemoments_app/core/restore/livemoments/manifest.json" in names
    assert f"Version: {__version__}" in metadata.splitlines()
    assert entry_points["console_scripts"]["livemoments"] == "livemoments_app.cli:main"
    assert entry_points["gui_scripts"]["livemoments-app"] == "livemoments_app.ui.app:main"


def test_sdist_builds_from_pyproject_and_readme(built_dists):
    with tarfile.open(built_dists["sdist"]) as sdist:
        names = {Path(n).relative_to(f"livemoments-{__version__}").as_posix() for n in sdist.getnames()
                 if "/" in n}
    assert {"pyproject.toml", "README.md", "livemoments_app/__init__.py", "livemoments_app/cli/__init__.py"} <= names
    # the demo and the licence it is shipped under
    assert {"resources/demo/IMG_4394.HEIC", "resources/demo/IMG_4394.MOV", "resources/demo/LICENSE.txt"} <= names


def test_the_demo_opens_from_an_installed_wheel(built_dists, tmp_path):
    """A pure-Python wheel unpacked is what pip installs: the app found there (not the checkout) opens the demo
    from livemoments_app/_resources, byte for byte the checkout's resources/demo."""
    site = tmp_path / "site"
    with zipfile.ZipFile(built_dists["wheel"]) as wheel:
        wheel.extractall(site)
    demo = site / "livemoments_app" / "_resources" / "demo"
    for name in ("IMG_4394.HEIC", "IMG_4394.MOV", "LICENSE.txt"):
        assert (demo / name).read_bytes() == (ROOT / "resources" / "demo" / name).read_bytes()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-m", "livemoments_app.ui.app", "--demo", "--quit-after-load"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "opened IMG_4394.HEIC: APPLE_LIVE_PHOTO, 53 frames, key frame 37, chosen 22" in result.stdout, result.stdout
    assert f"({demo / 'IMG_4394.HEIC'})" in result.stdout, result.stdout


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_and_metainfo_describe_the_same_app():
    entry = _desktop_entry()
    assert entry["Type"] == "Application" and entry["Icon"] == APP_ID
    assert entry["Exec"].split()[0] == "livemoments-app" and entry["Exec"].split()[1] in ("%f", "%F")
    desktop_mimes = {m for m in entry["MimeType"].split(";") if m}

    root = ElementTree.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("name") == entry["Name"]
    metainfo_mimes = {m.text for m in root.iter("mediatype")}
    assert desktop_mimes == metainfo_mimes == {"image/heic", "image/heif", "image/jpeg", "video/quicktime"}
    assert {b.text for b in root.iter("binary")} == {"livemoments-app", "livemoments"}
    # Software centres show the newest release; it must be the version being shipped.
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == __version__, f"add a <release> for {__version__} to {METAINFO.name}"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream (appstreamcli) not installed")
def test_metainfo_passes_appstreamcli_validate():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W:" not in result.stdout and "E:" not in result.stdout, result.stdout


def test_raster_icons_are_square_transparent_and_match_the_svg(qapp):
    import make_icons  # packaging/ is on sys.path (module top)

    for size in make_icons.PNG_SIZES:
        image = Image.open(ICONS / f"livemoments-{size}.png")
        assert image.size == (size, size) and image.mode == "RGBA"
        alpha = np.asarray(image)[..., 3]
        assert alpha[0, 0] == 0 and alpha[size // 2, size // 2] == 255  # rounded corners, opaque middle
    # The committed PNGs must come from the current SVG (re-run packaging/make_icons.py after editing it).
    committed = np.asarray(Image.open(ICONS / "livemoments-64.png"), dtype=np.int16)
    rendered = np.asarray(make_icons.render(64), dtype=np.int16)
    assert np.abs(committed - rendered).max() <= 2

    with Image.open(ICONS / "livemoments.ico") as ico:
        assert {(s, s) for s in make_icons.ICO_SIZES} <= set(ico.info["sizes"])
    with Image.open(ICONS / "livemoments.icns") as icns:
        assert (512, 512, 2) in icns.info["sizes"]  # the 1024 px Retina member Finder uses


def test_macos_info_plist_is_valid_and_opens_heic_mov_and_jpeg():
    info = plistlib.loads(plistlib.dumps(macos_info_plist(__version__)))
    assert info["CFBundleIdentifier"] == APP_ID
    assert info["CFBundleShortVersionString"] == __version__
    utis = {u for doc in info["CFBundleDocumentTypes"] for u in doc["LSItemContentTypes"]}
    extensions = {e for doc in info["CFBundleDocumentTypes"] for e in doc["CFBundleTypeExtensions"]}
    assert {"public.heic", "com.apple.quicktime-movie", "public.jpeg"} <= utis
    assert {"heic", "HEIC", "mov", "MOV", "jpg", "JPG", "jpeg"} <= extensions
    assert all(doc["LSHandlerRank"] == "Alternate" for doc in info["CFBundleDocumentTypes"])


def test_the_default_bundle_leaves_the_diffusion_stack_out():
    assert {"torch", "diffusers"} <= set(excluded_modules(with_diffusion=False))
    assert not set(DIFFUSION_MODULES) & set(excluded_modules(with_diffusion=True))


def _run_app(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg")}
    return subprocess.run([sys.executable, "-m", "livemoments_app.ui.app", *args], env=env, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.samples
def test_quit_after_load_opens_a_live_photo_and_exits_zero(tmp_path):
    """The flag the bundle test relies on, checked on the source tree (seconds, not minutes)."""
    from tests.conftest import sample

    still = sample("apple_iphone15pro_IMG_4394.HEIC")
    result = _run_app("--quit-after-load", str(still), home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"opened {still.name}: APPLE_LIVE_PHOTO, 53 frames, key frame 37" in result.stdout, result.stdout


def test_quit_after_load_exits_one_when_the_file_is_not_a_live_photo(tmp_path):
    not_live = tmp_path / "notes.jpg"
    not_live.write_bytes(b"plain text, not a JPEG")
    result = _run_app("--quit-after-load", str(not_live), home=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert f"could not open {not_live}" in result.stderr


# --- the bundle itself ---------------------------------------------------------------------------------------

# About 80 s of build on 2 cores: part of CI (CI=true), skipped in local runs on the shared development machine.
BUILD_BUNDLE = os.environ.get("LIVEMOMENTS_BUILD_BUNDLE") == "1" or os.environ.get("CI") == "true"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle test builds the Linux bundle")
@pytest.mark.skipif(not BUILD_BUNDLE, reason="builds the PyInstaller bundle (minutes of CPU); "
                                             "runs in CI or with LIVEMOMENTS_BUILD_BUNDLE=1")
def test_linux_bundle_builds_and_opens_a_live_photo_headless(tmp_path):
    from tests.conftest import sample

    still = sample("apple_iphone15pro_IMG_4394.HEIC")
    env = {**os.environ, "DIST_DIR": str(tmp_path / "dist"), "WORK_DIR": str(tmp_path / "work"),
           "PYTHON": sys.executable}
    started = time.monotonic()
    build = subprocess.run(["bash", str(PACKAGING / "build.sh")], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=1800)
    print(f"bundle build took {time.monotonic() - started:.0f} s")
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]

    bundle = tmp_path / "dist" / "LiveMoments"
    internal = bundle / "_internal"
    assert not (internal / "torch").exists() and not (internal / "diffusers").exists()
    assert (bundle / "share" / "applications" / DESKTOP.name).is_file()

    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    run_env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path / "home"))
    cli = subprocess.run([str(bundle / "livemoments"), "--version"], env=run_env, capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 0 and cli.stdout.strip() == f"livemoments {__version__}", cli.stdout + cli.stderr

    app = subprocess.run([str(bundle / "livemoments-app"), "--quit-after-load", str(still)], env=run_env,
                         capture_output=True, text=True, timeout=300)
    assert app.returncode == 0, app.stdout[-4000:] + app.stderr[-4000:]
    assert f"opened {still.name}: APPLE_LIVE_PHOTO" in app.stdout, app.stdout
    # the demo ships inside the bundle and opens from there
    demo = subprocess.run([str(bundle / "livemoments-app"), "--demo", "--quit-after-load"], env=run_env,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    assert f"({internal / 'resources' / 'demo' / 'IMG_4394.HEIC'})" in demo.stdout, demo.stdout
