"""The fused decode step (generation/fast_decode.py) against the transformers forward it
replaces: same logits on Llama (grouped-query attention, untied head) and Qwen2 (q/k/v biases)
with left padding; LeanEngine gives the same greedy and seeded samples with and without it; and
architectures it does not model are refused, so the engine keeps the module forward."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from generation import LeanEngine, SamplingSpec
from generation.fast_decode import FusedDecoder, SharedPrefix, supports
from generation.lean_engine import cache_argument
from tests.generation.test_lean_engine import EOS, PAD, VOCAB, IdTokenizer, small_llama


def small_qwen2(seed: int = 0) -> Qwen2ForCausalLM:
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         eos_token_id=EOS, pad_token_id=PAD, bos_token_id=EOS, tie_word_embeddings=True)
    model = Qwen2ForCausalLM(config).eval()
    with torch.no_grad():  # non-zero biases, so that dropping them would show
        for layer in model.model.layers:
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                proj.bias.normal_(0, 0.5)
    return model


PROMPTS = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15, 16]]


@pytest.mark.parametrize("build", [small_llama, small_qwen2], ids=["llama", "qwen2"])
def test_step_logits_equal_the_module_forward(build):
    """Prefill left-padded prompts with the module, then decode 5 tokens both ways."""
    model = build()
    width = max(map(len, PROMPTS))
    ids = torch.tensor([[PAD] * (width - len(p)) + p for p in PROMPTS])
    prompt_mask = (torch.arange(width)[None] >= torch.tensor([width - len(p) for p in PROMPTS])[:, None]).long()
    positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    steps = 5
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=prompt_mask, position_ids=positions, use_cache=True)
        cache = out.past_key_values
        cfg = model.config
        kv, hd = cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
        keys = [torch.zeros(len(PROMPTS), kv, width + steps, hd) for _ in range(cfg.num_hidden_layers)]
        values = [torch.zeros_like(k) for k in keys]
        for i, layer in enumerate(cache.layers):
            keys[i][:, :, :width] = layer.keys
            values[i][:, :, :width] = layer.values
        decoder = FusedDecoder(model)
        cache_arg = cache_argument(model)
        mask = torch.cat([prompt_mask, torch.ones(len(PROMPTS), steps, dtype=torch.long)], dim=1)
        pos = positions[:, -1:] + 1
        tok = out.logits[:, -1].argmax(-1)
        for t in range(steps):
            ref = model(input_ids=tok[:, None], attention_mask=mask[:, : width + t + 1], position_ids=pos,
                        use_cache=True, **{cache_arg: cache}).logits[:, -1]
            got = decoder.step(tok, pos, keys, values, width + t, mask[:, : width + t + 1].bool())
            torch.testing.assert_close(got, ref.float(), rtol=1e-5, atol=1e-5)
            tok, pos = ref.argmax(-1), pos + 1


@pytest.mark.parametrize("build", [small_llama, small_qwen2], ids=["llama", "qwen2"])
def test_shared_prefix_steps_equal_the_module_forward_on_repeated_prompts(build):
    """n = 3 outputs per left-padded prompt: the prompts' keys and values held once
    (SharedPrefix) against the module on a cache with every prompt repeated; rows leave midway."""
    model, n, steps = build(), 3, 5
    width = max(map(len, PROMPTS))
    ids = torch.tensor([[PAD] * (width - len(p)) + p for p in PROMPTS])
    prompt_mask = (torch.arange(width)[None] >= torch.tensor([width - len(p) for p in PROMPTS])[:, None]).long()
    positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    cache_arg = cache_argument(model)
    with torch.no_grad():
        once = model(input_ids=ids, attention_mask=prompt_mask, position_ids=positions, use_cache=True)
        prefix = SharedPrefix([layer.keys for layer in once.past_key_values.layers],
                              [layer.values for layer in once.past_key_values.layers], prompt_mask, n, steps)
        rep = lambda t: t.repeat_interleave(n, 0)  # noqa: E731
        full = model(input_ids=rep(ids), attention_mask=rep(prompt_mask), position_ids=rep(positions), use_cache=True)
        cache = full.past_key_values
        decoder = FusedDecoder(model)
        mask = torch.cat([rep(prompt_mask), torch.ones(len(PROMPTS) * n, steps, dtype=torch.long)], dim=1)
        pos = rep(positions[:, -1:]) + 1
        gen = torch.Generator().manual_seed(0)
        tok = torch.randint(3, VOCAB, (len(PROMPTS) * n,), generator=gen)
        for t in range(steps):
            if t == 2:  # rows 0, 4 and 8 (one output of each prompt) leave the batch
                keep = torch.tensor([1, 2, 3, 5, 6, 7])
                cache.batch_select_indices(keep)
                prefix.select(keep, t)
                mask, pos, tok = mask[keep], pos[keep], tok[keep]
            ref = model(input_ids=tok[:, None], attention_mask=mask[:, : width + t + 1], position_ids=pos,
                        use_cache=True, **{cache_arg: cache}).logits[:, -1]
            got = decoder.step_shared(tok, pos, prefix, t)
            torch.testing.assert_close(got, ref.float(), rtol=1e-5, atol=1e-5)
            tok, pos = torch.randint(3, VOCAB, tok.shape, generator=gen), pos + 1


@pytest.mark.parametrize("build", [small_llama, small_qwen2], ids=["llama", "qwen2"])
def test_engine_samples_the_same_with_and_without_fusion(build):
    model = build()
    tok = IdTokenizer(EOS, PAD)
    prompts = [[5 + i, 6 + i, 7] for i in range(6)]
    fused, plain = LeanEngine(model, tok, 12), LeanEngine(model, tok, 12, fused=False)
    repeated = LeanEngine(model, tok, 12, shared_prefix=False)  # fused, prompt keys and values repeated n times
    assert fused.fused and not plain.fused
    for spec in (SamplingSpec(1, 0.0, 1.0, 12, 0), SamplingSpec(4, 1.0, 1.0, 12, 3), SamplingSpec(4, 0.8, 0.9, 12, 7)):
        a = fused.sample(prompts, spec)
        for other in (plain.sample(prompts, spec), repeated.sample(prompts, spec)):
            assert [[s.token_ids for s in row] for row in a] == [[s.token_ids for s in row] for row in other]
            for row_a, row_b in zip(a, other):
                for x, y in zip(row_a, row_b):
                    torch.testing.assert_close(torch.tensor(x.logprobs), torch.tensor(y.logprobs), rtol=1e-4, atol=1e-4)


def test_unsupported_models_keep_the_module_forward():
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=1, n_head=2, n_positions=64,
                                      eos_token_id=EOS, pad_token_id=PAD)).eval()
    assert not supports(gpt2)
    assert not LeanEngine(gpt2, IdTokenizer(EOS, PAD), 4).fused
    biased = LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                          num_attention_heads=2, attention_bias=True)).eval()
    assert not supports(biased)
    assert supports(small_llama()) and supports(small_qwen2())
