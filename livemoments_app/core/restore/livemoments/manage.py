"""Managing the weights: the manifest, checking a folder, downloading the pinned revisions, and deriving the
empty-prompt embeddings once (``livemoments models ...``). No torch at import.

Sizes and hashes: the manifest pins the revisions; at download time the hub's metadata *for that revision*
(file size and LFS sha256) is the reference every file is verified against, and it is recorded beside the
files (``.livemoments-download.json``) so ``check --hash`` can verify them later without a network.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from livemoments_app.core.errors import ModelFilesError

from . import extras
from .files import problems_in
from .paths import ModelPaths

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

RECORD = ".livemoments-download.json"
MANIFEST = "manifest.json"  # beside this module, shipped as package data
MANIFEST_ENV = "LIVEMOMENTS_MANIFEST"
GiB = 2**30

Say = Callable[[str], None]


def manifest_path() -> Path | Traversable:
    """$LIVEMOMENTS_MANIFEST, else the manifest shipped inside the package (wheel, bundle and checkout alike)."""
    if os.environ.get(MANIFEST_ENV):
        return Path(os.environ[MANIFEST_ENV])
    return resources.files(__package__).joinpath(MANIFEST)


def load_manifest(path: str | os.PathLike | Traversable | None = None) -> dict:
    path = Path(path) if isinstance(path, (str, os.PathLike)) else (path or manifest_path())
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFilesError(f"cannot read the model manifest ({exc})", str(path)) from None


def sha256_of(path: Path, chunk: int = 16 * 2**20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------------- check
def check(paths: ModelPaths, root: Path | None = None, verify_hashes: bool = False,
          manifest: dict | None = None) -> list[str]:
    """Every problem of a models folder (missing, truncated, misplaced files; with ``verify_hashes`` also files
    that differ from what was downloaded). Empty list: ready."""
    problems = problems_in(paths)
    if root is not None:
        manifest = manifest or load_manifest()
        for repo in manifest["repositories"].values():
            folder = Path(root) / repo["folder"]
            record = _read_record(folder)
            if record and record.get("revision") != repo["revision"]:
                problems.append(f"{folder}: downloaded at revision {record.get('revision')}, "
                                f"the app expects {repo['revision']}; run `livemoments models download`")
            if record:
                for name, meta in record.get("files", {}).items():
                    f = folder / name
                    if not f.is_file():
                        continue  # already reported by problems_in when it matters
                    if f.stat().st_size != meta["size"]:
                        problems.append(f"{f}: {f.stat().st_size} bytes, expected {meta['size']}")
                    elif verify_hashes and meta.get("sha256") and sha256_of(f) != meta["sha256"]:
                        problems.append(f"{f}: sha256 differs from the downloaded file's")
    return problems


def _read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None


# -------------------------------------------------------------------------------------------------- download
@dataclass
class RemoteFile:
    path: str
    size: int | None
    sha256: str | None


GATED_HELP = ("{repo} is gated: open {page} while logged in to Hugging Face, accept the Stability AI "
              "Community licence, then create a read token (Settings › Access Tokens) and give it with "
              "--token, the HF_TOKEN environment variable, or `hf auth login`.")


def _network_errors() -> tuple[type[BaseException], ...]:
    """Connection failures: builtin ones plus the HTTP client's (httpx/httpx2 for huggingface_hub >= 1, requests
    before)."""
    errs: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for name in ("httpx", "httpx2"):
        try:
            errs.append(__import__(name).TransportError)
        except (ImportError, AttributeError):
            pass
    try:
        import requests
        errs.append(requests.exceptions.ConnectionError)
    except ImportError:
        pass
    return tuple(errs)


def _hub_errors():
    from huggingface_hub import errors as e
    return e


def remote_files(repo: dict, patterns: list[str], token: str | None) -> list[RemoteFile]:
    """Files of the pinned revision matching ``patterns``, with the hub's size and LFS sha256."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo["repo_id"], revision=repo["revision"], files_metadata=True, token=token)
    out = []
    for s in info.siblings or []:
        if any(fnmatch.fnmatch(s.rfilename, p) for p in patterns):
            lfs = getattr(s, "lfs", None)
            sha = getattr(lfs, "sha256", None) if lfs is not None else None
            out.append(RemoteFile(s.rfilename, getattr(s, "size", None), sha))
    return out


def download(root: Path, token: str | None = None, only: list[str] | None = None,
             text_encoders: bool = False, say: Say = print, manifest: dict | None = None) -> list[Path]:
    """Downloads the pinned revisions into ``root`` and verifies every file; returns the files."""
    extras.require(("huggingface_hub",), "`livemoments models download`")
    manifest = manifest or load_manifest()
    e = _hub_errors()
    from huggingface_hub import hf_hub_download

    done = []
    for key, repo in manifest["repositories"].items():
        if only and key not in only:
            continue
        patterns = list(repo["allow_patterns"]) + (list(repo.get("prepare_patterns", [])) if text_encoders else [])
        folder = Path(root) / repo["folder"]
        where = f"{repo['repo_id']}@{repo['revision'][:10]}"
        try:
            files = remote_files(repo, patterns, token)
            if not files:
                raise ModelFilesError(f"{where} has no files matching {patterns}")
            total = sum(f.size or 0 for f in files)
            say(f"{where}: {len(files)} files, {total / GiB:.2f} GiB -> {folder}")
            record = _read_record(folder) or {"files": {}}
            record.update(repo_id=repo["repo_id"], revision=repo["revision"])
            for i, f in enumerate(files, 1):
                say(f"[{i}/{len(files)}] {f.path} ({(f.size or 0) / 2**20:.1f} MiB)")
                local = Path(hf_hub_download(repo["repo_id"], f.path, revision=repo["revision"],
                                             local_dir=str(folder), token=token))
                _verify(local, f, say)
                record["files"][f.path] = {"size": f.size, "sha256": f.sha256}
                done.append(local)
            record["downloaded"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            folder.mkdir(parents=True, exist_ok=True)
            (folder / RECORD).write_text(json.dumps(record, indent=2))
        except e.GatedRepoError:
            raise ModelFilesError(GATED_HELP.format(repo=repo["repo_id"], page=repo["page"])) from None
        except e.RepositoryNotFoundError:
            hint = GATED_HELP.format(repo=repo["repo_id"], page=repo["page"]) if repo.get("gated") else ""
            raise ModelFilesError(f"{repo['repo_id']} not found or not accessible. {hint}".strip()) from None
        except e.RevisionNotFoundError:
            raise ModelFilesError(f"revision {repo['revision']} of {repo['repo_id']} no longer exists") from None
        except (e.OfflineModeIsEnabled, e.LocalEntryNotFoundError):
            raise ModelFilesError(f"cannot download {where}: offline (HF_HUB_OFFLINE is set or huggingface.co "
                                  "cannot be reached). Copy a models folder from another computer and point "
                                  "LIVEMOMENTS_MODELS at it") from None
        except e.HfHubHTTPError as exc:
            raise ModelFilesError(f"cannot download {where}: {str(exc).splitlines()[0]}") from None
        except _network_errors() as exc:
            raise ModelFilesError(f"cannot download {where}: network unreachable ({exc.__class__.__name__}: "
                                  f"{exc}). Check the connection or copy the folder by hand") from None
        except OSError as exc:
            raise ModelFilesError(f"cannot write the downloaded files into {folder}: {exc}") from None
    return done


def _verify(local: Path, f: RemoteFile, say: Say) -> None:
    size = local.stat().st_size
    if f.size is not None and size != f.size:
        local.unlink(missing_ok=True)
        raise ModelFilesError(f"{f.path}: downloaded {size} bytes, the hub says {f.size}; removed, run again", local)
    if f.sha256:
        say(f"    verifying sha256 of {f.path}")
        if sha256_of(local) != f.sha256:
            local.unlink(missing_ok=True)
            raise ModelFilesError(f"{f.path}: sha256 does not match the hub's; removed, run again", local)


# --------------------------------------------------------------------------------------------------- prepare
def available_memory() -> int | None:
    """Bytes of RAM available now (None when the platform does not say)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def encode_empty_prompt(sd3_root: Path, max_sequence_length: int):
    """(prompt_embeds (1, 77 + T5 length, 4096), pooled (1, 2048)) from SD3-medium's three text encoders, float32
    on the CPU, with diffusers' own ``encode_prompt`` and empty prompts."""
    import torch
    from diffusers import StableDiffusion3Pipeline

    from .loader import dtype_kwargs

    pipe = StableDiffusion3Pipeline.from_pretrained(str(sd3_root), transformer=None, vae=None,
                                                    **dtype_kwargs(torch.float32))
    with torch.inference_mode():
        prompt, _neg, pooled, _neg_pooled = pipe.encode_prompt(
            prompt="", prompt_2="", prompt_3="", device=torch.device("cpu"), num_images_per_prompt=1,
            do_classifier_free_guidance=False, max_sequence_length=max_sequence_length)
    return prompt.float().contiguous(), pooled.float().contiguous()


def prepare(root: Path, force: bool = False, delete_text_encoders: bool = False, say: Say = print,
            manifest: dict | None = None, encode=None) -> Path:
    """Derives and caches the empty-prompt embeddings beside the weights, with a record of how they were made."""
    extras.require(("torch", "diffusers", "transformers"), "`livemoments models prepare`")
    import torch

    manifest = manifest or load_manifest()
    d = manifest["derived"]
    sd3 = manifest["repositories"]["sd3"]
    sd3_root = Path(root) / sd3["folder"]
    out = Path(root) / d["folder"]
    missing = [p for p in sd3["prepare_patterns"] if not (sd3_root / p.rstrip("/*")).exists()]
    if missing:
        raise ModelFilesError(f"{sd3_root}: the text encoders are missing ({', '.join(missing)}); run "
                              "`livemoments models download --with-text-encoders` first")
    need = int(d["min_free_memory_gib"]) * GiB
    free = available_memory()
    if free is not None and free < need and not force:
        raise ModelFilesError(f"deriving the empty-prompt embeddings loads T5-XXL in float32 and needs about "
                              f"{need / GiB:.0f} GiB of free memory; {free / GiB:.1f} GiB are free. Close other "
                              "programs, do it once on a bigger computer and copy prompt_embeds.pt, "
                              "pooled_prompt_embeds.pt and prompt_embeds.json, or pass --force to try anyway")
    say("Encoding the empty prompt with CLIP-L, CLIP-G and T5-XXL (float32, CPU; takes a few minutes)")
    started = time.time()
    prompt, pooled = (encode or encode_empty_prompt)(sd3_root, int(d["t5_max_sequence_length"]))
    want = d["shapes"]
    if list(prompt.shape) != want["prompt_embeds.pt"] or list(pooled.shape) != want["pooled_prompt_embeds.pt"]:
        raise ModelFilesError(f"the text encoders gave shapes {tuple(prompt.shape)} / {tuple(pooled.shape)}, "
                              f"expected {want['prompt_embeds.pt']} / {want['pooled_prompt_embeds.pt']}", sd3_root)
    from livemoments_app.core.export.files import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, tensor in (("prompt_embeds.pt", prompt), ("pooled_prompt_embeds.pt", pooled)):
        atomic_write(out / name, lambda tmp, tensor=tensor: torch.save(tensor, tmp), overwrite=True)
        files[name] = {"shape": list(tensor.shape), "dtype": str(tensor.dtype).replace("torch.", ""),
                       "sha256": sha256_of(out / name)}
    import diffusers

    try:
        import transformers
        tv = transformers.__version__
    except ImportError:
        tv = None
    record = {
        "how": "diffusers StableDiffusion3Pipeline.encode_prompt(prompt='', prompt_2='', prompt_3='', "
               "num_images_per_prompt=1, do_classifier_free_guidance=False, "
               f"max_sequence_length={d['t5_max_sequence_length']}), float32, CPU",
        "source": {"repo_id": sd3["repo_id"], "revision": sd3["revision"]},
        "versions": {"diffusers": diffusers.__version__, "transformers": tv, "torch": torch.__version__},
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(time.time() - started, 1),
        "files": files,
    }
    (out / d["record"]).write_text(json.dumps(record, indent=2))
    say(f"Wrote {out / 'prompt_embeds.pt'} and {out / 'pooled_prompt_embeds.pt'} ({d['record']} says how)")
    if delete_text_encoders:
        import shutil

        for p in sd3["prepare_patterns"]:
            target = sd3_root / p.rstrip("/*")
            if target.is_dir():
                shutil.rmtree(target)
            elif target.is_file():
                target.unlink()
        say("Removed the text encoders and tokenizers (they are never needed again)")
    return out
