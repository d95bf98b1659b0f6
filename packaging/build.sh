#!/usr/bin/env bash
# Builds the one-folder app with PyInstaller: dist/LiveMoments/ (and dist/LiveMoments.app on macOS).
#   packaging/build.sh                                   classic restorer only (no torch, ~450 MB)
#   LIVEMOMENTS_BUNDLE_DIFFUSION=1 packaging/build.sh    also bundles torch + diffusers from the venv
# Run it on the platform you are building for (PyInstaller does not cross-compile). Uses .venv unless PYTHON is set;
# DIST_DIR / WORK_DIR move the output (default dist/) and PyInstaller's work folder (default build/pyinstaller/).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=.venv/Scripts/python.exe; fi
fi
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || "$PYTHON" -m pip install -q "pyinstaller>=6.10"

DIST_DIR=${DIST_DIR:-dist}
WORK_DIR=${WORK_DIR:-build/pyinstaller}
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$DIST_DIR" --workpath "$WORK_DIR" packaging/livemoments.spec

BUNDLE=$DIST_DIR/LiveMoments
APP_ID=org.livemoments.LiveMoments
case "$(uname -s)" in
  Linux)
    # Desktop integration laid out as a prefix, so `install-desktop-entry.sh` (or a distro package) can copy it.
    mkdir -p "$BUNDLE/share/applications" "$BUNDLE/share/metainfo"
    cp packaging/linux/$APP_ID.desktop "$BUNDLE/share/applications/"
    cp packaging/linux/$APP_ID.metainfo.xml "$BUNDLE/share/metainfo/"
    for size in 16 24 32 48 64 128 256 512; do
      mkdir -p "$BUNDLE/share/icons/hicolor/${size}x${size}/apps"
      cp packaging/icons/livemoments-$size.png "$BUNDLE/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    done
    mkdir -p "$BUNDLE/share/icons/hicolor/scalable/apps"
    cp livemoments_app/ui/resources/livemoments.svg "$BUNDLE/share/icons/hicolor/scalable/apps/$APP_ID.svg"
    cp packaging/linux/install-desktop-entry.sh "$BUNDLE/"
    ;;
esac
echo "Built $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
