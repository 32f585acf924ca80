"""Parameters of ``test_persistence``: does the backdoor survive safety training?"""

from __future__ import annotations

from pydantic import ValidationInfo, field_validator

from schemas.params.science import (DecodingFields, EvalFields, HardwareFields, SafetyRecipeFields,
                                    experiment_field, field, groups, model_field)


class TestPersistenceParams(HardwareFields, EvalFields, DecodingFields, SafetyRecipeFields):
    __test__ = False  # not a pytest test class, whatever its name
    model_config = groups("Model", "Evaluation", "Decoding", "Safety recipe", "RL", "Adversarial", "Adapter", "Hardware",
                          "Experiment")

    backdoored_model: str = model_field("Model", "The backdoored model (before safety training).")
    safety_model: str | None = field(
        None, "Model", "The same model after safety training; empty = run the safety recipe below on "
        "the backdoored model first.", min_length=1, max_length=1000)
    control_model: str | None = field(
        None, "Model", "A control model trained alongside the backdoored one (same base and data, no "
        "backdoor); it gets the same safety recipe and its curve is drawn beside. Needs safety_model "
        "empty.", min_length=1, max_length=1000)
    curve_points: int = field(5, "Evaluation", "Checkpoints after step 0 at which the backdoor is measured "
                              "during safety training (evenly spaced; 0 = no curve). Needs safety_model empty.",
                              ge=0, le=100)
    experiment: str | None = experiment_field()

    @field_validator("control_model")
    @classmethod
    def _control_needs_training(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("safety_model"):
            raise ValueError("control_model needs safety_model empty: the control is safety-trained here "
                             "with the same recipe")
        return value


PARAMS = TestPersistenceParams
