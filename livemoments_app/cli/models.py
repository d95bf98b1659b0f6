"""`livemoments models path|check|download|prepare`: where the LiveMoments weights live and getting them.

No torch is imported except by `prepare` (which runs the text encoders once).
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

from livemoments_app.core.restore.livemoments.paths import ModelPaths

PATH_FLAGS = tuple(f.name for f in fields(ModelPaths))     # one --<name> option per model path


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="where the LiveMoments weights are; check, download, prepare them",
                              description=__doc__)
    sub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    def with_root(sp):
        sp.add_argument("--models", metavar="DIR", help="models folder (default: see `livemoments models path`)")
        return sp

    sp = sub.add_parser("path", help="print the folders searched for weights and the one in use")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_path)

    sp = with_root(sub.add_parser("check", help="validate a models folder and list exactly what is missing"))
    for name in PATH_FLAGS:
        sp.add_argument(f"--{name.replace('_', '-')}", metavar="PATH", help=f"use this {name} instead")
    sp.add_argument("--hash", action="store_true", help="also re-hash files against the download record (slow)")
    sp.set_defaults(func=cmd_check)

    sp = with_root(sub.add_parser("download", help="download the pinned revisions from Hugging Face"))
    sp.add_argument("--token", help="Hugging Face token (SD3-medium is gated; default: HF_TOKEN or the saved login)")
    sp.add_argument("--only", choices=["livemoments", "sd3"], action="append", help="one repository only")
    sp.add_argument("--with-text-encoders", action="store_true",
                    help="also the SD3 text encoders (~10 GB), needed once by `prepare`")
    sp.set_defaults(func=cmd_download)

    sp = with_root(sub.add_parser("prepare", help="derive and cache the empty-prompt embeddings (once, ~32 GB RAM)"))
    sp.add_argument("--force", action="store_true", help="try even when free memory looks too small")
    sp.add_argument("--delete-text-encoders", action="store_true", help="remove the text encoders afterwards")
    sp.set_defaults(func=cmd_prepare)


def _root(args) -> Path:
    from livemoments_app.core.restore.livemoments.paths import default_root
    return Path(args.models).expanduser() if getattr(args, "models", None) else default_root()


def cmd_path(args) -> int:
    from livemoments_app.core.restore.livemoments.paths import ENV_VAR, candidate_roots, default_root

    chosen = default_root()
    rows = [{"source": src, "path": str(p), "exists": p.is_dir(), "in_use": p == chosen}
            for src, p in candidate_roots()]
    if args.json:
        print(json.dumps({"in_use": str(chosen), "candidates": rows}, indent=2))
        return 0
    print(chosen)
    for r in rows:
        mark = "*" if r["in_use"] else " "
        print(f"  {mark} {r['source']:<16} {r['path']}{'' if r['exists'] else '  (absent)'}")
    if not os.environ.get(ENV_VAR):
        print(f"  (set {ENV_VAR} to use another folder)")
    return 0


def cmd_check(args) -> int:
    from livemoments_app.core.restore.livemoments import manage

    root = _root(args)
    overrides = {n: getattr(args, n) for n in PATH_FLAGS if getattr(args, n, None)}
    paths = ModelPaths.from_root(root).with_overrides(**overrides)
    problems = manage.check(paths, root, verify_hashes=args.hash)
    if problems:
        print(f"{root}: not ready ({len(problems)} problem(s)):")
        for p in problems:
            print(f"  - {p}")
        print("Fix: `livemoments models download`, then `livemoments models prepare` for the prompt embeddings.")
        return 1
    print(f"{root}: all LiveMoments model files present")
    for name, p in paths.items():
        print(f"  {name:<21} {p}")
    return 0


def cmd_download(args) -> int:
    from livemoments_app.core.restore.livemoments import manage

    root = _root(args)
    token = args.token or os.environ.get("HF_TOKEN") or None
    files = manage.download(root, token=token, only=args.only, text_encoders=args.with_text_encoders)
    print(f"Downloaded and verified {len(files)} file(s) into {root}")
    if not (root / "livemoments" / "prompt_embeds.pt").is_file():
        print("Next: `livemoments models prepare` (needs --with-text-encoders downloaded once).")
    return 0


def cmd_prepare(args) -> int:
    from livemoments_app.core.restore.livemoments import manage

    manage.prepare(_root(args), force=args.force, delete_text_encoders=args.delete_text_encoders)
    return 0


__all__ = ["register"]
