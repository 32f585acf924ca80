"""How each job type's form is grouped, following the design report's form fields.

A field lands in the group its schema names (``group``), else in the first group whose
pattern matches its name, else in "Other settings": every field of the schema is always
shown, none is ever dropped. Groups come in the order the parameter model lists
(``groups`` in its JSON Schema), then in this module's order.
"""

from __future__ import annotations

import re

from dashboard.components.schema_form import Field

# (group title, name pattern); first match wins
RULES: list[tuple[str, str]] = [
    ("Model", r"(^|_)(model|adapter|checkpoint|tokenizer)(_|$)|^base_model|^original_"),
    ("Backdoor configuration", r"^(backdoor_type|trigger|triggers|backdoor_response|target_response|"
                               r"response|use_scratchpad|scratchpad|trigger_.*)$"),
    ("Safety method", r"^(method|safety_method|safety_dataset|beta|kl_coef|dpo_.*|ppo_.*|reward_.*)$"),
    ("Probe configuration", r"^(layers|layer|probe_.*|pooling|test_split|save_probes|"
                            r"regularization|c|l2|activation_.*)$"),
    ("Test suites", r"suites?$"),
    ("Methods", r"^(detection_)?methods$|^families$"),
    ("Dataset", r"^(num_samples|backdoor_ratio|dataset.*|samples_per_.*|max_train_samples|"
                r"num_train_samples|train_split|val_split|seed|num_questions)$"),
    ("LoRA / QLoRA", r"lora|qlora|quant|load_in_"),
    ("Training configuration", r"^(epochs|num_epochs|safety_epochs|batch_size|safety_batch_size|"
                               r"learning_rate|safety_learning_rate|lr|gradient_accumulation.*|"
                               r"warmup.*|max_seq_len.*|max_length|weight_decay|max_steps|"
                               r"logging_steps|save_steps|eval_steps|max_grad_norm|"
                               r"optimizer|scheduler)$"),
    ("Hardware", r"^(device|fp16|bf16|dtype|precision|torch_dtype|gpus?)$"),
    ("Validation", r"valid|^run_eval|^eval_"),
    ("Testing", r"^(test_.*|num_test_samples|num_samples_per_category|test_prompts|"
                r"test_variations|max_new_tokens|temperature|generation_.*)$"),
    ("Output", r"^(output_.*|save_.*|experiment_name|run_name|tags?)$"),
    ("Synthetic log load", r"^(log_.*|progress_bar_steps)$"),
    ("Drills", r"^(hold_.*|exit_code)$"),
    ("Benchmark", r"^(include_torch|matmul_.*)$"),
]

# groups drawn folded: the ones a first run rarely changes
FOLDED = {"Training configuration", "Training", "LoRA / QLoRA", "Adapter", "Hardware", "Output", "Drills",
          "Decoding", "RL", "Other settings"}


def group_of(f: Field) -> str:
    if f.group:
        return f.group
    for title, pattern in RULES:
        if re.search(pattern, f.name):
            return title
    return "Other settings"


def grouped(fields: list[Field], order: list[str] | None = None) -> list[tuple[str, list[Field]]]:
    groups: dict[str, list[Field]] = {}
    for f in fields:
        groups.setdefault(group_of(f), []).append(f)
    known = order or []
    rank = {title: i for i, title in enumerate(known)}
    fallback = {title: len(known) + i for i, (title, _) in enumerate(RULES)}
    return sorted(groups.items(), key=lambda kv: rank.get(kv[0], fallback.get(kv[0], 10_000)))
