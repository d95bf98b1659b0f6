"""The `livemoments` command. Each subcommand lives in its own module with a ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from livemoments_app import __version__
from livemoments_app.core.errors import LivePhotoError
from livemoments_app.core.jobs import Cancelled

# Module names under livemoments_app.cli; each adds its subparser and sets ``func(args) -> int``.
SUBCOMMANDS = ["info", "frames", "restore", "align", "models", "suggest"]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or only ``command``'s: a subcommand module may import OpenCV and
    friends, and `livemoments info` should not pay for `align`'s imports."""
    parser = argparse.ArgumentParser(prog="livemoments", description="Pick another moment of a Live Photo or Motion "
                                     "Photo and restore it with the key photo as the reference.")
    parser.add_argument("--version", action="version", version=f"livemoments {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in [command] if command in SUBCOMMANDS else SUBCOMMANDS:
        importlib.import_module(f"livemoments_app.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
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
    except BrokenPipeError:
        # The reader went away (`livemoments suggest DIR | head`): stop quietly, as Unix tools do, and keep
        # Python from reporting the same error again when it flushes stdout on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141


if __name__ == "__main__":
    sys.exit(main())
