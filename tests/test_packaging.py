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
from bundle_metadata import (APP_ID, DIFFUSION_MODULES, HTTP_MODULES, KEPT_FILES, UNUSED_FILES,  # noqa: E402
                             excluded_modules, macos_info_plist)
from slim import _elf_loads_cleanly, bundle_size, piece_sizes, prune, strip_elf_files  # noqa: E402

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
    # the HTTP stack only serves model downloads, which need the diffusion stack's huggingface_hub
    assert set(HTTP_MODULES) <= set(excluded_modules(with_diffusion=False))
    assert not set(HTTP_MODULES) & set(excluded_modules(with_diffusion=True))
    assert "cryptography" in excluded_modules(with_diffusion=True)


def _qt_files_left_out(names: list[str]) -> set[str]:
    entries = [(name, "/src/" + name, "BINARY") for name in names]
    _binaries, _datas, dropped = prune(entries, [], UNUSED_FILES, lambda _src: [], keep=KEPT_FILES)
    return set(dropped)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="checks the Linux wheel's plugins (others below)")
def test_unused_files_leave_the_qt_plugins_the_app_needs_on_every_platform():
    import PySide6

    qt = Path(PySide6.__file__).parent
    installed = sorted(p.relative_to(qt.parent).as_posix() for p in qt.rglob("*") if p.is_file()
                       and ("plugins" in p.parts or "translations" in p.parts))
    dropped = _qt_files_left_out(installed)
    plugin = lambda folder, stem: [n for n in installed if f"plugins/{folder}/" in n and stem in n]  # noqa: E731
    for folder, stem in (("platforms", "qxcb"), ("platforms", "qwayland"), ("platforms", "qoffscreen"),
                         ("imageformats", "qsvg"), ("iconengines", "qsvgicon"),
                         ("platforminputcontexts", "ibus"), ("platformthemes", "xdgdesktopportal")):
        found = plugin(folder, stem)
        assert found and not set(found) & dropped, (folder, stem)
    assert set(plugin("platforms", "qeglfs")) <= dropped and set(plugin("imageformats", "qjpeg")) <= dropped
    assert set(plugin("platformthemes", "gtk3")) <= dropped
    assert {n for n in installed if "/translations/" in n} <= dropped
    # the same rules on the other platforms' layouts (PySide6/plugins/... on Windows, .dylib on macOS)
    assert not _qt_files_left_out(["PySide6/plugins/platforms/qwindows.dll", "PySide6/plugins/imageformats/qsvg.dll",
                                   "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
                                   "PySide6/Qt/plugins/imageformats/libqsvg.dylib"])
    assert _qt_files_left_out(["PySide6/plugins/imageformats/qjpeg.dll", "PySide6/translations/qt_de.qm"]) == {
        "PySide6/plugins/imageformats/qjpeg.dll", "PySide6/translations/qt_de.qm"}


def test_prune_drops_the_libraries_only_a_dropped_plugin_linked():
    binaries = [
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/s/libqgtk3.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/s/libQt6XcbQpa.so.6", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),
        ("libpixman-1.so.0", "/s/libpixman-1.so.0", "BINARY"),
        ("libglib-2.0.so.0", "/s/libglib-2.0.so.0", "BINARY"),       # linked by both: stays
        ("libdlopened.so", "/s/libdlopened.so", "BINARY"),           # linked by nothing (ctypes): a root, stays
        ("av/_core.abi3.so", "/s/_core.abi3.so", "EXTENSION"),
    ]
    datas = [("libQt6XcbQpa.so.6", "PySide6/Qt/lib/libQt6XcbQpa.so.6", "SYMLINK"),
             ("libcairo.so.2.link", "libcairo.so.2", "SYMLINK"),
             ("PySide6/Qt/translations/qt_de.qm", "/s/qt_de.qm", "DATA")]
    # direct dependencies only: prune follows them transitively
    links = {"libqgtk3.so": ["libcairo.so.2", "libglib-2.0.so.0"], "libcairo.so.2": ["libpixman-1.so.0"],
             "libqxcb.so": ["libQt6XcbQpa.so.6"], "libQt6XcbQpa.so.6": ["libglib-2.0.so.0"]}
    kept, kept_datas, dropped = prune(binaries, datas, ["*qgtk3*", "*/translations/*"],
                                      lambda src: links.get(os.path.basename(src), []))
    assert dropped == sorted(["PySide6/Qt/plugins/platformthemes/libqgtk3.so", "libcairo.so.2", "libpixman-1.so.0",
                              "PySide6/Qt/translations/qt_de.qm"])
    assert [e[0] for e in kept] == ["PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/lib/libQt6XcbQpa.so.6",
                                    "libglib-2.0.so.0", "libdlopened.so", "av/_core.abi3.so"]
    assert kept_datas == [datas[0]]      # the symlink to the dropped cairo went with it


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("strip") is None,
                    reason="ELF stripping: Linux with binutils")
def test_strip_keeps_libraries_loadable_and_leaves_the_ones_it_would_break(tmp_path):
    import pillow_heif

    libs = Path(pillow_heif.__file__).parent.parent / "pillow_heif.libs"
    de265 = next(libs.glob("libde265*"))            # auditwheel's copy, shipped with its symbol table
    (tmp_path / "lib").mkdir()
    copy = tmp_path / "lib" / de265.name
    shutil.copy2(de265, copy)
    (tmp_path / "lib" / "notes.txt").write_text("not a binary")
    saved, unstripped = strip_elf_files(tmp_path / "lib")
    assert saved > 50_000 and unstripped == [] and copy.stat().st_size == de265.stat().st_size - saved
    assert _elf_loads_cleanly(copy) and _elf_loads_cleanly(tmp_path / "lib" / "notes.txt") is None
    # still a library the loader accepts, with its exports (in a child: two copies of one library in this process
    # would clash at exit)
    probe = f"import ctypes; print(ctypes.CDLL({str(copy)!r}).de265_get_version())"
    loads = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert loads.returncode == 0 and loads.stdout.strip(), loads.stderr

    # A strip that leaves a load segment's file offset and address disagreeing modulo the page size (what binutils
    # does to numpy's patchelf-rewritten OpenBLAS: "ELF load command address/offset not page-aligned") is found
    # out, and the file stays byte for byte as it was.
    bad_strip = tmp_path / "bad-strip"
    bad_strip.write_text(f"""#!{sys.executable}
import struct, sys
path = sys.argv[-1]
data = bytearray(open(path, "rb").read())
phoff, = struct.unpack_from("<Q", data, 32)
size, count = struct.unpack_from("<HH", data, 54)
for at in range(phoff, phoff + size * count, size):
    if struct.unpack_from("<I", data, at)[0] == 1 and struct.unpack_from("<Q", data, at + 8)[0]:
        struct.pack_into("<Q", data, at + 8, struct.unpack_from("<Q", data, at + 8)[0] + 16)
        break
open(path, "wb").write(bytes(data[:-4096]))
""")
    bad_strip.chmod(0o755)
    shutil.copy2(de265, copy)
    saved, unstripped = strip_elf_files(tmp_path / "lib", strip=str(bad_strip))
    assert (saved, unstripped) == (0, [copy]) and copy.read_bytes() == de265.read_bytes()


def test_piece_sizes_add_up_to_the_bundle_and_name_each_piece(tmp_path):
    internal = tmp_path / "_internal"
    for rel, size in (("cv2/cv2.abi3.so", 3000), ("opencv_python_headless.libs/libavcodec.so", 2000),
                      ("PySide6/Qt/lib/libicudata.so.73", 1500), ("PySide6/Qt/lib/libQt6Core.so.6", 700),
                      ("PySide6/QtCore.abi3.so", 100), ("libglib-2.0.so.0", 50), ("odd.bin", 7)):
        (internal / rel).parent.mkdir(parents=True, exist_ok=True)
        (internal / rel).write_bytes(b"x" * size)
    (internal / "libQt6Core.so.6").symlink_to("PySide6/Qt/lib/libQt6Core.so.6")
    sizes = dict(piece_sizes(tmp_path))
    assert sizes == {"OpenCV (cv2 + its FFmpeg, OpenBLAS, AVIF)": 5000,
                     "Qt: ICU data and i18n (linked by QtCore)": 1500, "Qt: libraries": 700,
                     "PySide6 bindings": 100, "system libraries (GLib, X11/xcb, fontconfig, ...)": 50, "other": 7}
    assert bundle_size(tmp_path) == 7357


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


def test_export_after_load_exports_the_key_photo_through_the_apps_encoder_process(tmp_path):
    """The flag the bundle test uses to see the app's HEIC encoder start as a child of the (frozen) app."""
    import pillow_heif

    result = _run_app("--demo", "--export-after-load", str(tmp_path / "out"), home=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    written = tmp_path / "out" / "IMG_4394_LM.HEIC"
    assert result.stdout.splitlines()[-1] == f"exported {written}"
    assert pillow_heif.open_heif(str(written)).size == (3024, 4032)


def test_quit_after_load_exits_one_when_the_file_is_not_a_live_photo(tmp_path):
    not_live = tmp_path / "notes.jpg"
    not_live.write_bytes(b"plain text, not a JPEG")
    result = _run_app("--quit-after-load", str(not_live), home=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert f"could not open {not_live}" in result.stderr


# --- the bundle itself ---------------------------------------------------------------------------------------

# About 30-80 s of build on 2 cores: part of CI (CI=true), skipped in local runs on the shared development machine.
BUILD_BUNDLE = os.environ.get("LIVEMOMENTS_BUILD_BUNDLE") == "1" or os.environ.get("CI") == "true"
# The trimmed Linux bundle measured 447 MiB (docs/packaging.md); the budget leaves room for dependency updates
# and fails on anything like the 550 MB it was before trimming.
BUNDLE_BUDGET_MIB = 470
# Every sample whose clip decodes (the two truncated ones only parse): (file, kind, frame count, key frame).
DECODABLE_SAMPLES = (
    ("apple_iphone15pro_IMG_4394.HEIC", "APPLE_LIVE_PHOTO", 53, 37),
    ("apple_iphone6s_0FFBE909.jpeg", "APPLE_LIVE_PHOTO", 64, 30),
    ("samsung_s22_oneui6_motionphoto.heic", "SAMSUNG_MOTION_PHOTO", 42, 41),
    ("libmphoto_heic_motionphoto_pixel4video.heic", "GOOGLE_MOTION_PHOTO", 26, 0),
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle test builds the Linux bundle")
@pytest.mark.skipif(not BUILD_BUNDLE, reason="builds the PyInstaller bundle (minutes of CPU); "
                                             "runs in CI or with LIVEMOMENTS_BUILD_BUNDLE=1")
def test_linux_bundle_builds_and_opens_a_live_photo_headless(tmp_path):
    from tests.conftest import sample

    stills = [sample(name) for name, *_ in DECODABLE_SAMPLES]
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
    # what the trimming leaves out (packaging/bundle_metadata.py) stays out, and the size with it
    assert not (internal / "cryptography").exists() and not (internal / "PySide6" / "Qt" / "translations").exists()
    assert not list(internal.glob("PySide6/Qt/plugins/platformthemes/*gtk3*"))
    assert {p.name for p in internal.glob("PySide6/Qt/plugins/platforms/*")} >= {
        "libqxcb.so", "libqwayland.so", "libqoffscreen.so"}
    size_mib = bundle_size(bundle) / 2**20
    print("\n".join(f"{size / 2**20:7.1f} MiB  {label}" for label, size in piece_sizes(bundle)))
    assert size_mib <= BUNDLE_BUDGET_MIB, f"the bundle grew to {size_mib:.0f} MiB"

    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    run_env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path / "home"))
    cli = subprocess.run([str(bundle / "livemoments"), "--version"], env=run_env, capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 0 and cli.stdout.strip() == f"livemoments {__version__}", cli.stdout + cli.stderr

    # every decodable sample opens: HEVC and H.264 clips, HEIC and JPEG stills, Apple/Samsung/Google containers
    for still, (_name, kind, frames, key) in zip(stills, DECODABLE_SAMPLES):
        app = subprocess.run([str(bundle / "livemoments-app"), "--quit-after-load", str(still)], env=run_env,
                             capture_output=True, text=True, timeout=300)
        assert app.returncode == 0, app.stdout[-4000:] + app.stderr[-4000:]
        assert f"opened {still.name}: {kind}, {frames} frames, key frame {key}" in app.stdout, app.stdout
    # the demo ships inside the bundle and opens from there; the app exports it as HEIC, its encoder a child
    # process that is the bundle's own executable started again (freeze_support turns it into the encoder)
    demo = subprocess.run([str(bundle / "livemoments-app"), "--demo", "--export-after-load", str(tmp_path / "app")],
                          env=run_env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    assert f"({internal / 'resources' / 'demo' / 'IMG_4394.HEIC'})" in demo.stdout, demo.stdout
    assert f"exported {tmp_path / 'app' / 'IMG_4394_LM.HEIC'}" in demo.stdout, demo.stdout

    # the bundled CLI restores a moment 0.3 s before the key photo and writes a HEIC at the key photo's size
    out = tmp_path / "restored.heic"
    restore = subprocess.run([str(bundle / "livemoments"), "restore", str(stills[0]), "--offset", "-0.3",
                              "-o", str(out)], env=run_env, capture_output=True, text=True, timeout=600)
    assert restore.returncode == 0, restore.stdout[-4000:] + restore.stderr[-4000:]
    import pillow_heif

    restored = pillow_heif.open_heif(str(out))
    assert restored.size == (3024, 4032)        # upright 4032x3024 still, EXIF orientation 6
    assert pillow_heif.open_heif(str(tmp_path / "app" / "IMG_4394_LM.HEIC")).size == (3024, 4032)
    pixels = np.asarray(restored)
    assert pixels.shape == (4032, 3024, 3) and 40 < pixels.mean() < 220 and pixels.std() > 20
