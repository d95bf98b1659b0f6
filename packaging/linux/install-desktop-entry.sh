#!/usr/bin/env bash
# Adds the unpacked LiveMoments folder to your desktop's app menu (per user, no root):
# links the two commands into ~/.local/bin and copies the desktop entry, metainfo and icons into ~/.local/share.
# Run it from inside the bundle folder: ./install-desktop-entry.sh   (undo: ./install-desktop-entry.sh --remove)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
APP_ID=org.livemoments.LiveMoments
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
BIN="$HOME/.local/bin"

files=(applications/$APP_ID.desktop metainfo/$APP_ID.metainfo.xml icons/hicolor/scalable/apps/$APP_ID.svg)
for size in 16 24 32 48 64 128 256 512; do files+=(icons/hicolor/${size}x${size}/apps/$APP_ID.png); done

if [ "${1:-}" = "--remove" ]; then
  for f in "${files[@]}"; do rm -f "$DATA/$f"; done
  rm -f "$BIN/livemoments-app" "$BIN/livemoments"
else
  mkdir -p "$BIN"
  ln -sf "$HERE/livemoments-app" "$BIN/livemoments-app"
  ln -sf "$HERE/livemoments" "$BIN/livemoments"
  for f in "${files[@]}"; do install -D -m 644 "$HERE/share/$f" "$DATA/$f"; done
  # The desktop entry runs `livemoments-app` from PATH; point it at this folder in case ~/.local/bin is not on it.
  sed -i "s|^Exec=livemoments-app|Exec=\"$HERE/livemoments-app\"|" "$DATA/applications/$APP_ID.desktop"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "done"
