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
                "IPython", "matplotlib", "PyInstaller", "setuptools", "pip", "build", "twine", "skimage")

# (name, uniform type identifiers, extensions) of the files macOS offers to open with the app.
DOCUMENT_TYPES = (
    ("HEIF Live Photo or Motion Photo", ("public.heic", "public.heif"), ("heic", "heif")),
    ("Live Photo movie", ("com.apple.quicktime-movie",), ("mov",)),
    ("JPEG Live Photo or Motion Photo", ("public.jpeg",), ("jpg", "jpeg")),
)


def excluded_modules(with_diffusion: bool) -> list[str]:
    return list(NEVER_NEEDED) + ([] if with_diffusion else list(DIFFUSION_MODULES))


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
