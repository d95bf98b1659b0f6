"""`livemoments models path|check|download|prepare` with local fakes only (no network)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from livemoments_app.cli import main
from livemoments_app.core.restore.livemoments import manage, paths as lm_paths

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    pytest.importorskip("diffusers")
    from livemoments_app.core.restore.livemoments import tiny

    return tiny.write_checkpoint(tmp_path_factory.mktemp("models"), tiny.TINY)


def test_path_lists_env_user_and_checkout(monkeypatch, tmp_path, capsys):
    (tmp_path / "livemoments").mkdir()
    monkeypatch.setenv(lm_paths.ENV_VAR, str(tmp_path))
    assert main(["models", "path"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(tmp_path)
    assert "$LIVEMOMENTS_MODELS" in out[1] and out[1].lstrip().startswith("*")
    assert any("user data dir" in line for line in out)
    assert main(["models", "path", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["in_use"] == str(tmp_path) and data["candidates"][0]["in_use"]


def test_path_without_env_uses_user_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(lm_paths.ENV_VAR, raising=False)
    monkeypatch.setattr(lm_paths, "user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(lm_paths, "checkout_models_dir", lambda: None)
    assert lm_paths.default_root() == tmp_path / "user"


def test_check_ready_folder(tiny_root, capsys):
    assert main(["models", "check", "--models", str(tiny_root)]) == 0
    assert "all LiveMoments model files present" in capsys.readouterr().out


def test_check_lists_exactly_what_is_missing(tmp_path, capsys):
    assert main(["models", "check", "--models", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for what in ("transformer: missing", "transformer_ref: missing", "motion_encoder.pt: missing",
                 "prompt_embeds.pt: missing", "vae: missing", "scheduler_config.json: missing"):
        assert what in out
    assert "livemoments models prepare" in out


def test_check_with_single_path_override(tiny_root, tmp_path, capsys):
    assert main(["models", "check", "--models", str(tiny_root), "--vae", str(tmp_path / "novae")]) == 1
    assert "novae: missing" in capsys.readouterr().out


def test_check_detects_truncation_and_hash_mismatch(tiny_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "m"
    shutil.copytree(tiny_root, root)
    me = root / "livemoments" / "motion_encoder.pt"
    record = {"repo_id": "Clara-7/LiveMoments", "revision": manage.load_manifest()["repositories"]["livemoments"]["revision"],
              "files": {"motion_encoder.pt": {"size": me.stat().st_size, "sha256": "0" * 64}}}
    (root / "livemoments" / manage.RECORD).write_text(json.dumps(record))
    assert main(["models", "check", "--models", str(root)]) == 0
    capsys.readouterr()
    assert main(["models", "check", "--models", str(root), "--hash"]) == 1
    assert "sha256 differs" in capsys.readouterr().out
    weights = root / "livemoments" / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    assert main(["models", "check", "--models", str(root)]) == 1
    assert "truncated" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- download fakes
FILES = {
    "Clara-7/LiveMoments": {"transformer/config.json": b"{}", "transformer/diffusion_pytorch_model.safetensors": b"T" * 1000,
                            "transformer_ref/config.json": b"{}", "motion_encoder.pt": b"M" * 300,
                            "README.md": b"not wanted"},
    "stabilityai/stable-diffusion-3-medium-diffusers": {
        "vae/config.json": b"{}", "vae/diffusion_pytorch_model.safetensors": b"V" * 500,
        "scheduler/scheduler_config.json": b"{}", "text_encoder_3/model.safetensors": b"E" * 50,
        "transformer/diffusion_pytorch_model.safetensors": b"not wanted"},
}


class FakeHub:
    def __init__(self, corrupt: str | None = None, error=None):
        self.corrupt, self.error, self.downloads, self.revisions = corrupt, error, [], set()

    def install(self, monkeypatch):
        import huggingface_hub

        hub = self

        class Api:
            def model_info(self, repo_id, revision=None, files_metadata=False, token=None):
                if hub.error is not None:
                    raise hub.error
                hub.revisions.add((repo_id, revision))
                siblings = [SimpleNamespace(rfilename=name, size=len(data),
                                            lfs=SimpleNamespace(sha256=hashlib.sha256(data).hexdigest()))
                            for name, data in FILES[repo_id].items()]
                return SimpleNamespace(siblings=siblings)

        def download(repo_id, filename, revision=None, local_dir=None, token=None):
            hub.downloads.append(filename)
            data = FILES[repo_id][filename]
            if filename == hub.corrupt:
                data = data[:-1] + b"X"
            target = Path(local_dir) / filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            return str(target)

        monkeypatch.setattr(huggingface_hub, "HfApi", Api)
        monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)


def test_download_fetches_pinned_revisions_and_verifies(monkeypatch, tmp_path, capsys):
    hub = FakeHub()
    hub.install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path)]) == 0
    manifest = manage.load_manifest()
    assert hub.revisions == {(r["repo_id"], r["revision"]) for r in manifest["repositories"].values()}
    assert "README.md" not in hub.downloads and "transformer/diffusion_pytorch_model.safetensors" in hub.downloads
    assert "text_encoder_3/model.safetensors" not in hub.downloads
    assert (tmp_path / "livemoments" / "motion_encoder.pt").read_bytes() == b"M" * 300
    assert (tmp_path / "sd3" / "vae" / "diffusion_pytorch_model.safetensors").is_file()
    record = json.loads((tmp_path / "sd3" / manage.RECORD).read_text())
    assert record["revision"] == manifest["repositories"]["sd3"]["revision"]
    assert record["files"]["vae/diffusion_pytorch_model.safetensors"]["size"] == 500
    out = capsys.readouterr().out
    assert "[1/" in out and "verifying sha256" in out and "livemoments models prepare" in out


def test_download_with_text_encoders_and_only(monkeypatch, tmp_path):
    hub = FakeHub()
    hub.install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path), "--only", "sd3", "--with-text-encoders"]) == 0
    assert "text_encoder_3/model.safetensors" in hub.downloads
    assert not (tmp_path / "livemoments").exists()


def test_download_rejects_a_corrupted_file(monkeypatch, tmp_path, capsys):
    FakeHub(corrupt="motion_encoder.pt").install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path), "--only", "livemoments"]) == 1
    err = capsys.readouterr().err
    assert "motion_encoder.pt: sha256 does not match" in err
    assert not (tmp_path / "livemoments" / "motion_encoder.pt").exists()


def _http_error(cls, status):
    import httpx2

    response = httpx2.Response(status, request=httpx2.Request("GET", "https://huggingface.co/api/models/x"))
    return cls("boom", response=response)


def test_download_explains_the_gated_licence(monkeypatch, tmp_path, capsys):
    from huggingface_hub.errors import GatedRepoError

    FakeHub(error=_http_error(GatedRepoError, 403)).install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path), "--only", "sd3"]) == 1
    err = capsys.readouterr().err
    assert "gated" in err and "accept" in err and "licence" in err and "HF_TOKEN" in err


@pytest.mark.parametrize("name, status, words", [("RepositoryNotFoundError", 404, "not found or not accessible"),
                                                  ("RevisionNotFoundError", 404, "no longer exists"),
                                                  ("HfHubHTTPError", 500, "cannot download")])
def test_download_other_hub_errors(monkeypatch, tmp_path, capsys, name, status, words):
    from huggingface_hub import errors

    FakeHub(error=_http_error(getattr(errors, name), status)).install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path), "--only", "sd3"]) == 1
    err = capsys.readouterr().err
    assert words in err
    if name == "RepositoryNotFoundError":
        assert "licence" in err  # SD3-medium is gated: a 404 usually means "not accepted / no token"


def test_download_fails_clearly_offline(monkeypatch, tmp_path, capsys):
    import httpx2

    FakeHub(error=httpx2.ConnectError("[Errno -3] Temporary failure in name resolution")).install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "network unreachable" in err and err.count("\n") == 1

    from huggingface_hub.errors import OfflineModeIsEnabled

    FakeHub(error=OfflineModeIsEnabled("offline")).install(monkeypatch)
    assert main(["models", "download", "--models", str(tmp_path)]) == 1
    assert "offline" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------- prepare
def _sd3_with_text_encoders(root: Path) -> None:
    sd3 = root / "sd3"
    for p in manage.load_manifest()["repositories"]["sd3"]["prepare_patterns"]:
        target = sd3 / p.rstrip("/*")
        if p.endswith("/*"):
            target.mkdir(parents=True, exist_ok=True)
            (target / "weights.bin").write_bytes(b"x")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("{}")


def _fake_encode(calls):
    def encode(sd3_root, max_len):
        calls.append((sd3_root, max_len))
        return torch.full((1, 77 + max_len, 4096), 0.5), torch.full((1, 2048), -1.0)
    return encode


def test_prepare_writes_embeddings_and_record(monkeypatch, tmp_path, capsys):
    _sd3_with_text_encoders(tmp_path)
    calls = []
    monkeypatch.setattr(manage, "encode_empty_prompt", _fake_encode(calls))
    monkeypatch.setattr(manage, "available_memory", lambda: 64 * manage.GiB)
    assert main(["models", "prepare", "--models", str(tmp_path), "--delete-text-encoders"]) == 0
    assert calls == [(tmp_path / "sd3", 256)]
    lm = tmp_path / "livemoments"
    prompt = torch.load(lm / "prompt_embeds.pt", weights_only=True)
    assert prompt.shape == (1, 333, 4096) and prompt.dtype == torch.float32
    assert torch.load(lm / "pooled_prompt_embeds.pt", weights_only=True).shape == (1, 2048)
    record = json.loads((lm / "prompt_embeds.json").read_text())
    assert "encode_prompt" in record["how"] and "max_sequence_length=256" in record["how"]
    assert record["source"]["revision"] == manage.load_manifest()["repositories"]["sd3"]["revision"]
    assert record["files"]["prompt_embeds.pt"]["sha256"] == hashlib.sha256((lm / "prompt_embeds.pt").read_bytes()).hexdigest()
    assert not (tmp_path / "sd3" / "text_encoder_3").exists()


def test_prepare_refuses_politely_when_memory_is_short(monkeypatch, tmp_path, capsys):
    _sd3_with_text_encoders(tmp_path)
    calls = []
    monkeypatch.setattr(manage, "encode_empty_prompt", _fake_encode(calls))
    monkeypatch.setattr(manage, "available_memory", lambda: 8 * manage.GiB)
    assert main(["models", "prepare", "--models", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "32 GiB" in err and "8.0 GiB are free" in err and "--force" in err
    assert calls == []
    assert main(["models", "prepare", "--models", str(tmp_path), "--force"]) == 0
    assert calls


def test_prepare_needs_the_text_encoders(tmp_path, capsys):
    assert main(["models", "prepare", "--models", str(tmp_path)]) == 1
    assert "--with-text-encoders" in capsys.readouterr().err


def test_manifest_pins_the_revisions():
    m = manage.load_manifest()
    lm, sd3 = m["repositories"]["livemoments"], m["repositories"]["sd3"]
    assert (lm["repo_id"], lm["revision"]) == ("Clara-7/LiveMoments", "f0ccce7bb606174cdf8c983df82b3eb805f328e4")
    assert (sd3["repo_id"], sd3["revision"]) == ("stabilityai/stable-diffusion-3-medium-diffusers",
                                                 "ea42f8cef0f178587cf766dc8129abd379c90671")
    assert sd3["gated"] and not lm["gated"]


def _tiny_sd3_text_encoders(root: Path) -> None:
    """A tiny SD3-medium diffusers folder with random CLIP-L/CLIP-G/T5 encoders and real tokenizers."""
    from tokenizers import Tokenizer, models as tok_models, pre_tokenizers
    from transformers import (CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer, T5Config, T5EncoderModel,
                              T5TokenizerFast)

    from livemoments_app.core.restore.livemoments import tiny

    torch.manual_seed(0)
    src = root / "src"
    src.mkdir(parents=True)
    (src / "vocab.json").write_text(json.dumps({"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2, "a</w>": 3}))
    (src / "merges.txt").write_text("#version: 0.2\n")
    for sub, pad in (("", "<|endoftext|>"), ("_2", "!")):
        CLIPTokenizer(str(src / "vocab.json"), str(src / "merges.txt"), pad_token=pad,
                      model_max_length=77).save_pretrained(root / f"tokenizer{sub}")
        cfg = CLIPTextConfig(vocab_size=4, hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                             num_attention_heads=2, projection_dim=8, max_position_embeddings=77, bos_token_id=0,
                             eos_token_id=1, pad_token_id=1)
        CLIPTextModelWithProjection(cfg).save_pretrained(root / f"text_encoder{sub}")
    t5 = Tokenizer(tok_models.Unigram([("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)], unk_id=2))
    t5.pre_tokenizer = pre_tokenizers.Metaspace()
    t5.save(str(src / "t5.json"))
    T5TokenizerFast(tokenizer_file=str(src / "t5.json"), eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                    extra_ids=0, model_max_length=512).save_pretrained(root / "tokenizer_3")
    T5EncoderModel(T5Config(vocab_size=4, d_model=32, d_kv=8, d_ff=64, num_layers=1,
                            num_heads=2)).save_pretrained(root / "text_encoder_3")
    index = {"_class_name": "StableDiffusion3Pipeline", "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
             "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
             "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
             "text_encoder_3": ["transformers", "T5EncoderModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "tokenizer_2": ["transformers", "CLIPTokenizer"], "tokenizer_3": ["transformers", "T5TokenizerFast"],
             "transformer": ["diffusers", "SD3Transformer2DModel"], "vae": ["diffusers", "AutoencoderKL"],
             "image_encoder": [None, None], "feature_extractor": [None, None]}
    (root / "model_index.json").write_text(json.dumps(index))
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text(json.dumps(tiny.SCHEDULER))
    import shutil
    shutil.rmtree(src)


def test_prepare_runs_the_real_text_encoders_path(monkeypatch, tmp_path, capsys):
    """`prepare` end to end through diffusers' encode_prompt, with tiny random text encoders."""
    pytest.importorskip("transformers")
    pytest.importorskip("diffusers")
    _tiny_sd3_text_encoders(tmp_path / "sd3")
    manifest = manage.load_manifest()
    manifest["derived"].update(t5_max_sequence_length=8,
                               shapes={"prompt_embeds.pt": [1, 85, 32], "pooled_prompt_embeds.pt": [1, 16]})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(manage.MANIFEST_ENV, str(tmp_path / "manifest.json"))
    monkeypatch.setattr(manage, "available_memory", lambda: 64 * manage.GiB)
    assert main(["models", "prepare", "--models", str(tmp_path)]) == 0, capsys.readouterr().err
    lm = tmp_path / "livemoments"
    prompt = torch.load(lm / "prompt_embeds.pt", weights_only=True)
    pooled = torch.load(lm / "pooled_prompt_embeds.pt", weights_only=True)
    assert prompt.shape == (1, 85, 32) and pooled.shape == (1, 16)
    # CLIP token embeddings are zero-padded from 8 + 8 to the T5 width; the T5 part follows the 77 CLIP tokens
    assert torch.all(prompt[:, :77, 16:] == 0) and prompt[:, :77, :16].abs().sum() > 0
    assert prompt[:, 77:].abs().sum() > 0
    again = manage.encode_empty_prompt(tmp_path / "sd3", 8)
    assert torch.equal(again[0], prompt) and torch.equal(again[1], pooled)
    record = json.loads((lm / "prompt_embeds.json").read_text())
    assert record["versions"]["transformers"] and record["files"]["pooled_prompt_embeds.pt"]["shape"] == [1, 16]
