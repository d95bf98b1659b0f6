"""The `livemoments` command. Each subcommand lives in its own module with a ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys

from livemoments_app import __version__
from livemoments_app.core.errors import LivePhotoError
from livemoments_app.core.jobs import Cancelled

# Module names under livemoments_app.cli; each adds its subparser and sets ``func(args) -> int``.
SUBCOMMANDS = ["info", "frames", "restore", "align", "models"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livemoments", description=__doc__)
    parser.add_argument("--version", action="version", version=f"livemoments {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"livemoments_app.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LivePhotoError as exc:
        print(f"livemoments: error: {exc}", file=sys.stderr)
        return 1
    except Cancelled:
        print("livemoments: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("livemoments: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
