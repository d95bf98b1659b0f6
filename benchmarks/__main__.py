"""Run every benchmark module in this folder, one after another: ``python -m benchmarks [NAME ...]``.

Each module's ``main`` is called with an empty argument list (its defaults); a benchmark that fails (an exception
or a non-zero return) is reported and the others still run. The exit status is non-zero when any failed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def discover() -> list[str]:
    folder = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_"))


def run_one(name: str) -> bool:
    """Runs ``benchmarks.<name>.main([])``; True when it returns 0 or None."""
    return not importlib.import_module(f"benchmarks.{name}").main([])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = discover()
    unknown = [n for n in argv if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    failed = []
    for name in argv or names:
        print(f"\n===== benchmarks.{name} =====", flush=True)
        start = time.perf_counter()
        try:
            ok = run_one(name)
        except SystemExit as exc:
            ok = exc.code in (None, 0)
        except Exception:
            traceback.print_exc()
            ok = False
        print(f"===== benchmarks.{name}: {'ok' if ok else 'FAILED'} in {time.perf_counter() - start:.1f} s =====",
              flush=True)
        if not ok:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
