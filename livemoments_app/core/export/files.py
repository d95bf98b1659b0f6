"""Where exports land: free names next to nothing the user did not ask for, atomic writes, sources protected."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable, Iterable

from livemoments_app.core.errors import ExportError

SUFFIX = "_LM"
MAX_TRIES = 10000


class NameTakenError(ExportError):
    """The free name picked for an export was taken by another export meanwhile (pick again)."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def ensure_not_source(target: Path, sources: Iterable[Path]) -> None:
    for src in sources:
        if src is None:
            continue
        src = Path(src)
        if _same_file(target, src) or target.resolve() == src.resolve():
            raise ExportError("refusing to overwrite the original file; choose another name", target)


def free_stem(folder: Path, stem: str, extensions: list[str], suffix: str = SUFFIX) -> str:
    """``stem + suffix`` (then ``_2``, ``_3``...) such that no ``<name><ext>`` exists yet in ``folder``."""
    base = f"{stem}{suffix}"
    for n in range(1, MAX_TRIES):
        name = base if n == 1 else f"{base}_{n}"
        if not any((folder / f"{name}{ext}").exists() for ext in extensions):
            return name
    raise ExportError(f"no free file name like {base}{extensions[0]} in the folder", folder)


def _create_temp(folder: Path, name: str) -> Path:
    """An empty hidden temp file next to the target, created with the user's umask (mkstemp would make 0600)."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.part"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise ExportError(f"cannot write in this folder ({exc.strerror or exc})", folder) from exc
    raise ExportError("cannot create a temporary file in this folder", folder)


def atomic_write(target: Path, write: Callable[[Path], None], *, overwrite: bool) -> Path:
    """Writes through a temporary file in the target folder, then moves it into place in one step.

    Without ``overwrite`` the final step refuses to replace a file that appeared meanwhile (hard link), so two
    exports racing for one free name cannot clobber each other. No partial file is left on failure.
    """
    folder = target.parent
    if not folder.is_dir():
        raise ExportError("the output folder does not exist", folder)
    tmp = _create_temp(folder, target.name)
    try:
        write(tmp)
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise NameTakenError("a file of that name appeared while exporting; nothing was replaced",
                                     target) from None
            except OSError:
                # File systems without hard links: fall back to an exists-check plus rename.
                if target.exists():
                    raise NameTakenError("a file of that name already exists", target) from None
                os.replace(tmp, target)
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"could not be written ({exc.strerror or exc})", target) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def write_bytes_atomic(target: Path, data: bytes, *, overwrite: bool) -> Path:
    return atomic_write(target, lambda tmp: tmp.write_bytes(data), overwrite=overwrite)


def write_free(folder: Path, stem: str, parts: list[tuple[str, bytes]], suffix: str = SUFFIX,
               sources: Iterable[Path] = ()) -> list[Path]:
    """Writes each ``(ext, data)`` as ``<stem><suffix>[_n]<ext>`` in ``folder``, all under one free name (a Live
    Photo's still and MOV), picking again if a parallel export wins a name. None or all of them are left."""
    exts = [ext for ext, _ in parts]
    for _ in range(100):
        name = free_stem(folder, stem, exts, suffix)
        targets = [folder / f"{name}{ext}" for ext in exts]
        for target in targets:
            ensure_not_source(target, sources)
        written: list[Path] = []
        try:
            for target, (_, data) in zip(targets, parts):
                written.append(write_bytes_atomic(target, data, overwrite=False))
        except BaseException as exc:
            for path in written:
                path.unlink(missing_ok=True)     # half a pair is worse than none
            if isinstance(exc, NameTakenError):
                continue
            raise
        return written
    raise ExportError("could not find a free file name", folder)
