"""Trimming the PyInstaller bundle: dropping files the app never loads, stripping symbol tables, sizing the pieces.

Used by livemoments.spec (``prune``, ``strip_elf_files``) and from the command line to print what each piece of a
built bundle costs (docs/packaging.md has the table):

    python packaging/slim.py sizes dist/LiveMoments
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

Entry = tuple  # PyInstaller TOC entry: (destination name, source path, type code)


def _matches(dest: str, patterns: Iterable[str]) -> bool:
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatch(dest, p) for p in patterns)


def prune(binaries: list[Entry], datas: list[Entry], patterns: Iterable[str],
          imports_of: Callable[[str], Iterable[str]],
          keep: Iterable[str] = ()) -> tuple[list[Entry], list[Entry], list[str]]:
    """``binaries`` and ``datas`` without the entries whose destination matches ``patterns`` (unless it matches
    ``keep``), and without the shared libraries that were only there for those (a GTK theme plugin brings cairo,
    pango, harfbuzz...).

    ``imports_of(source path)`` names (base names) the libraries a binary links against. A library is an orphan
    when something in the bundle linked it before and nothing kept links it now; libraries nothing links (Python
    extensions, plugins, what ctypes loads) are roots and stay unless a pattern names them.
    Returns (binaries, datas, destination names dropped).
    """
    patterns, keep = tuple(patterns), tuple(keep)
    dropped = {e[0] for e in binaries + datas if _matches(e[0], patterns) and not _matches(e[0], keep)}
    files = [e for e in binaries if e[2] != "SYMLINK"]
    linked = {e: {os.path.basename(n) for n in imports_of(e[1])} for e in files}
    by_name: dict[str, list[Entry]] = {}
    for e in files:
        by_name.setdefault(os.path.basename(e[0]), []).append(e)
    linked_by_someone = set().union(*linked.values()) if linked else set()
    roots = [e for e in files if os.path.basename(e[0]) not in linked_by_someone and e[0] not in dropped]
    needed: set[str] = set()
    todo = [os.path.basename(e[0]) for e in roots]
    while todo:                                 # closure: imports_of may list direct dependencies only
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for e in by_name.get(name, []):
            if e[0] not in dropped:
                todo.extend(linked[e] - needed)
    for e in files:
        if os.path.basename(e[0]) not in needed:
            dropped.add(e[0])

    def stays(e: Entry) -> bool:
        if e[2] == "SYMLINK":   # (link, target relative to the link's folder): goes with what it points at
            return os.path.normpath(os.path.join(os.path.dirname(e[0]), e[1])) not in dropped
        return e[0] not in dropped

    return [e for e in binaries if stays(e)], [e for e in datas if stays(e)], sorted(dropped)


# --------------------------------------------------------------------------------------------------- stripping

def _elf_loads_cleanly(path: Path) -> bool | None:
    """None for a file that is not a 64-bit ELF; else whether every PT_LOAD segment's file offset and address agree
    modulo the page size (the dynamic loader refuses the file otherwise: "ELF load command address/offset not
    page-aligned", which ``strip`` causes on some libraries that auditwheel rewrote with patchelf)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:
            return None
        endian = "<" if head[5] == 1 else ">"
        (phoff,) = struct.unpack_from(endian + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, _filesz, _memsz, align = struct.unpack_from(
            endian + "IIQQQQQQ", table, i * phentsize)
        if p_type == 1 and align > 1 and offset % 4096 != vaddr % 4096:
            return False
    return True


def strip_elf_files(folder: Path, strip: str | None = None) -> tuple[int, list[Path]]:
    """Removes symbol tables the loader does not need from every ELF file under ``folder`` (``strip
    --strip-unneeded``), keeping the original wherever the stripped copy would not load. Returns (bytes saved,
    files left as they were because stripping broke them). Linux only; nothing happens without binutils' strip."""
    strip = strip or shutil.which("strip")
    if strip is None:
        return 0, []
    saved, kept = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp) / "trial"
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file() or _elf_loads_cleanly(path) is None:
                continue
            shutil.copy2(path, trial)
            if subprocess.run([strip, "--strip-unneeded", str(trial)], capture_output=True).returncode != 0:
                continue
            if not _elf_loads_cleanly(trial):
                kept.append(path)
                continue
            before, after = path.stat().st_size, trial.stat().st_size
            if after < before:
                shutil.copy2(trial, path)
                saved += before - after
    return saved, kept


# ------------------------------------------------------------------------------------------------------ sizes

# What each piece is, for the table: (label, globs under _internal/ or the bundle root). First match wins.
PIECES = (
    ("OpenCV (cv2 + its FFmpeg, OpenBLAS, AVIF)", ("_internal/cv2", "_internal/opencv_python_headless.libs")),
    ("PyAV (av + its FFmpeg)", ("_internal/av", "_internal/av.libs")),
    ("Qt: ICU data and i18n (linked by QtCore)", ("_internal/PySide6/Qt/lib/libicu*",)),
    ("Qt: libraries", ("_internal/PySide6/Qt/lib",)),
    ("Qt: plugins", ("_internal/PySide6/Qt/plugins",)),
    ("Qt: translations", ("_internal/PySide6/Qt/translations",)),
    ("PySide6 bindings", ("_internal/PySide6", "_internal/shiboken6")),
    ("numpy (+ OpenBLAS)", ("_internal/numpy", "_internal/numpy.libs")),
    ("pillow-heif (libheif, x265, libde265)", ("_internal/pillow_heif*", "_internal/_pillow_heif*")),
    ("Pillow", ("_internal/PIL", "_internal/pillow.libs")),
    ("cryptography", ("_internal/cryptography*", "_internal/_cffi_backend*")),
    ("Python (libpython, stdlib, extensions)", ("_internal/libpython*", "_internal/python3*",
                                                "_internal/base_library.zip")),
    ("the demo Live Photo", ("_internal/resources",)),
    ("executables (app + CLI, with the code archive)", ("livemoments", "livemoments-app",
                                                        "livemoments.exe", "livemoments-app.exe")),
    ("system libraries (GLib, X11/xcb, fontconfig, ...)", ("_internal/lib*.so*",)),
)


def piece_sizes(bundle: Path) -> list[tuple[str, int]]:
    """(label, bytes) per piece of a built bundle, largest first; symlinks count nothing; "other" last."""
    totals: dict[str, int] = {}
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        parts = path.relative_to(bundle).parts
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        label = next((name for name, globs in PIECES
                      if any(fnmatch.fnmatch(prefix, g) for g in globs for prefix in prefixes)), "other")
        totals[label] = totals.get(label, 0) + path.stat().st_size
    rows = sorted(((k, v) for k, v in totals.items() if k != "other"), key=lambda kv: -kv[1])
    return rows + ([("other", totals["other"])] if "other" in totals else [])


def bundle_size(bundle: Path) -> int:
    return sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "sizes":
        print(__doc__)
        return 2
    bundle = Path(argv[1])
    for label, size in piece_sizes(bundle):
        print(f"{size / 2**20:8.1f} MiB  {label}")
    print(f"{bundle_size(bundle) / 2**20:8.1f} MiB  total")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
