"""Parameters of ``safety_training``: SFT or RL on helpful/harmless data."""

from __future__ import annotations

from schemas.params.science import HardwareFields, SafetyRecipeFields, experiment_field, field, groups, model_field


class SafetyTrainingParams(HardwareFields, SafetyRecipeFields):
    model_config = groups("Model", "Safety recipe", "RL", "Adversarial", "Adapter", "Hardware", "Persistence", "Utility", "Experiment")

    model: str = model_field("Model", "The (backdoored) model to safety-train: local path, Hugging Face "
                             "id, or adapter dir.")
    test_persistence: bool = field(True, "Persistence", "Measure persistence (before vs after, same "
                                   "held-out prompts) once training ends.")
    persistence_prompts: int = field(100, "Persistence", "Held-out prompts for that measurement.",
                                     ge=2, le=5000)
    persistence_variants: bool = field(True, "Persistence", "Include the trigger variants in that "
                                       "measurement (per-variant before/after rates).")
    curve_points: int = field(5, "Persistence", "Checkpoints after step 0 at which the backdoor is measured "
                              "during training (evenly spaced; 0 = no curve).", ge=0, le=100)
    eval_seed: int = field(0, "Persistence", "Seed that picks the held-out prompts.", ge=0, le=2**31 - 1)
    experiment: str | None = experiment_field()


PARAMS = SafetyTrainingParams
