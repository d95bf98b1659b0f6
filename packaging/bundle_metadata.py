"""What the PyInstaller spec puts into the bundle besides code: ids, the macOS Info.plist, what is left out.

Kept apart from the spec so tests can check it without running PyInstaller.
"""

from __future__ import annotations

APP_ID = "org.livemoments.LiveMoments"
APP_NAME = "LiveMoments"

# The diffusion stack is imported lazily inside the diffusion restorer; PyInstaller would still follow those
# imports and pull in several GB, so it is left out unless LIVEMOMENTS_BUNDLE_DIFFUSION=1.
DIFFUSION_MODULES = ("torch", "torchvision", "torchaudio", "diffusers", "transformers", "accelerate",
                     "safetensors", "huggingface_hub", "triton", "sympy", "networkx")
# Development tools that share the virtualenv but are never imported by the app; scikit-image only supplies
# benchmark photos (tests/support/synthlive.py, optional) and would drag in scipy (~75 MB).
NEVER_NEEDED = ("tkinter", "_tkinter", "pytest", "_pytest", "pytestqt", "hypothesis", "importlinter", "grimp",
                "IPython", "matplotlib", "PyInstaller", "setuptools", "pip", "build", "twine", "skimage",
                # 14 MB: only urllib3's opt-in pyOpenSSL support imports it; Python's own ssl does HTTPS.
                "cryptography",
                # numpy.__config__.show() prints with it if present; nothing else in the app imports it.
                "yaml",
                # The app uses QtCore, QtGui, QtWidgets and QtSvg; these two come only with PySide6's hook.
                "PySide6.QtNetwork", "PySide6.QtDBus",
                # The batch's cluster engine (the `cluster` extra, `restore --engine ray`): Ray starts its own
                # Python workers, which a frozen app cannot provide, and it brings ~150 MB (scipy, pydantic,
                # grpc, ...). Without it the bundled CLI says to install the extra.
                "ray")
# The HTTP client stack is reached only from `livemoments models download` (huggingface_hub), and
# manage.py asks `requests` for its ConnectionError class: without the diffusion stack nothing can download.
HTTP_MODULES = ("requests", "urllib3", "charset_normalizer", "idna", "certifi")

# Files the app never loads, as globs over destinations in the bundle (PySide6/Qt/... on Linux and macOS,
# PySide6/... on Windows). Libraries that were there only for them (GTK's cairo, pango, ... for the GTK3 theme
# plugin) go with them (packaging/slim.py: prune).
UNUSED_FILES = (
    # No QTranslator is installed: Qt's own dialogs are in English, like the rest of the app.
    "PySide6/*translations/*",
    # Platforms: xcb, wayland and offscreen (Linux), cocoa, windows stay; these are for kiosks and embedded
    # boards (framebuffer, EGLFS, VNC, Vulkan display) and for tests (minimal).
    "PySide6/*plugins/platforms/*qeglfs*", "PySide6/*plugins/platforms/*qlinuxfb*",
    "PySide6/*plugins/platforms/*qvnc*", "PySide6/*plugins/platforms/*qvkkhrdisplay*",
    "PySide6/*plugins/platforms/*qminimal*", "PySide6/*plugins/platforms/*qdirect2d*",
    "PySide6/*plugins/egldeviceintegrations/*",
    "*libQt6EglFSDeviceIntegration*", "*libQt6EglFsKmsSupport*",
    # evdev/tslib input for EGLFS without a window system.
    "PySide6/*plugins/generic/*",
    # The GTK3 theme needs the system's GTK with the bundle's copies of cairo/pango/glib: a crash risk for no
    # gain (the xdg-desktop-portal theme stays for native file dialogs).
    "PySide6/*plugins/platformthemes/*qgtk3*",
    # Image formats: the app decodes photos with Pillow / pillow-heif / PyAV, and Qt reads only its SVG icons
    # (PNG is built into QtGui).
    "PySide6/*plugins/imageformats/*",
    # QtNetwork's plugins (left out with the module).
    "PySide6/*plugins/networkinformation/*", "PySide6/*plugins/tls/*",
)
# Exceptions to UNUSED_FILES: the SVG reader draws the app's icons.
KEPT_FILES = ("PySide6/*plugins/imageformats/*qsvg*",)

# (name, uniform type identifiers, extensions) of the files macOS offers to open with the app.
DOCUMENT_TYPES = (
    ("HEIF Live Photo or Motion Photo", ("public.heic", "public.heif"), ("heic", "heif")),
    ("Live Photo movie", ("com.apple.quicktime-movie",), ("mov",)),
    ("JPEG Live Photo or Motion Photo", ("public.jpeg",), ("jpg", "jpeg")),
)


def excluded_modules(with_diffusion: bool) -> list[str]:
    return list(NEVER_NEEDED) + ([] if with_diffusion else list(DIFFUSION_MODULES) + list(HTTP_MODULES))


def macos_info_plist(version: str) -> dict:
    """Info.plist entries for the .app (PyInstaller adds the executable, icon and identifier keys itself)."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": APP_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHighResolutionCapable": True,
        "LSMinimumSystemVersion": "11.0",
        "NSHumanReadableCopyright": "MIT License",
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": name,
                # Viewer: the app never writes to the files it opens; exports go to new files.
                "CFBundleTypeRole": "Viewer",
                # Alternate: offered under "Open With", never taking the file type over from Photos or Preview.
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": list(utis),
                "CFBundleTypeExtensions": [e for ext in extensions for e in (ext, ext.upper())],
            }
            for name, utis, extensions in DOCUMENT_TYPES
        ],
    }
