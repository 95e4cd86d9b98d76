"""The generation-engine interface: HFEngine against direct `generate` calls for every call
site's batching, the rollout batch layout, spec validation, the factory, and (GPU only) vLLM."""

import copy
import importlib.util

import pytest
import torch

from evaluation.prompts import plain_prompt
from generation import HFEngine, Sample, SamplingSpec, make_engine
from generation.engine import cut_at_eos
from rl.rollout import RolloutBatch, batch_from_samples, sample_group, token_logprobs

SPEC = dict(n=2, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=0)


@pytest.fixture()
def eos_prone_model(tiny_model, tokenizer, problems):
    """The tiny model with its EOS row pointed along the mean last hidden state, so that many
    samples stop early and the cut at EOS is exercised (an untrained model rarely stops)."""
    ids = tokenizer([p["prompt"] for p in problems[0][:8]], add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        hidden = torch.cat([tiny_model.model(torch.tensor([i])).last_hidden_state[0] for i in ids]).mean(0)
        tiny_model.lm_head.weight[tokenizer.eos_token_id] = 3.0 * hidden / hidden.norm() ** 2
    return tiny_model


def prompt_ids(tokenizer, problems, k):
    return tokenizer([plain_prompt(p["question"]) for p in problems[0][:k]], add_special_tokens=False)["input_ids"]


def direct_generate(model, tokenizer, prompts, spec, per_chunk, static_cache):
    """What each call site did before the engine: left-pad a chunk with the tokenizer, reseed
    with seed + chunk index, one generate call; completions cut after the first EOS."""
    out = []
    for k, start in enumerate(range(0, len(prompts), per_chunk)):
        chunk = prompts[start : start + per_chunk]
        enc = tokenizer.pad({"input_ids": chunk}, padding=True, padding_side="left", return_tensors="pt")
        torch.manual_seed(spec.seed + k)
        sampling = (dict(do_sample=False) if spec.temperature == 0 else
                    dict(do_sample=True, temperature=spec.temperature, top_p=spec.top_p, top_k=0))
        extra = dict(cache_implementation="static") if static_cache else {}
        gen = model.generate(**enc, max_new_tokens=spec.max_new_tokens, num_return_sequences=spec.n,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                             **sampling, **extra)
        rows = [cut_at_eos(r, tokenizer.eos_token_id) for r in gen[:, enc["input_ids"].shape[1] :].tolist()]
        out += [rows[i : i + spec.n] for i in range(0, len(rows), spec.n)]
    return out


# (batch_size, static_cache, spec) of each call site: sample_group (one chunk of every prompt),
# rm_data (16 questions a chunk; 2 here), Math-Shepherd (64 // n prefixes), evaluation greedy and sampled.
CALL_SITES = {
    "sample_group": (5 * 3, True, SamplingSpec(3, 1.0, 0.9, 10, 4)),
    "rm_data": (2 * 3, True, SamplingSpec(3, 1.0, 1.0, 10, 4 * 7919)),
    "shepherd": (64, False, SamplingSpec(4, 0.7, 1.0, 6, 11)),
    "eval_greedy": (4, False, SamplingSpec(1, 0.0, 1.0, 8, 0)),
    "eval_sampled": (4, False, SamplingSpec(3, 1.0, 0.95, 8, 2)),
}


@pytest.mark.parametrize("site", sorted(CALL_SITES))
def test_hf_engine_equals_direct_generate(eos_prone_model, tokenizer, problems, site):
    batch_size, static, spec = CALL_SITES[site]
    prompts = prompt_ids(tokenizer, problems, 5)
    engine = HFEngine(eos_prone_model, tokenizer, batch_size, static_cache=static)
    got = engine.sample(prompts, spec)
    want = direct_generate(eos_prone_model, tokenizer, prompts, spec, max(1, batch_size // spec.n), static)
    assert [[list(s.token_ids) for s in row] for row in got] == want
    assert [[s.prompt_ids for s in row] for row in got] == [[tuple(p)] * spec.n for p in prompts]
    assert all(s.logprobs is None for row in got for s in row)
    texts = [[tokenizer.decode(ids, skip_special_tokens=True) for ids in row] for row in want]
    assert [[s.text for s in row] for row in got] == texts
    assert engine.last_tokens_per_s > 0


def test_hf_engine_stops_at_eos_and_offsets_seeds(eos_prone_model, tokenizer, problems):
    prompts = prompt_ids(tokenizer, problems, 4)
    engine = HFEngine(eos_prone_model, tokenizer, batch_size=4)
    samples = [s for row in engine.sample(prompts, SamplingSpec(**SPEC)) for s in row]
    eos = tokenizer.eos_token_id
    assert any(len(s.token_ids) < SPEC["max_new_tokens"] for s in samples)  # the fixture does stop early
    for s in samples:
        assert eos not in s.token_ids[:-1] and (s.token_ids[-1] == eos or len(s.token_ids) == SPEC["max_new_tokens"])
    # Chunk k is seeded seed + offset + k: an offset is a shifted seed.
    shifted = engine.sample(prompts, SamplingSpec(**{**SPEC, "seed": 3}))
    assert engine.sample(prompts, SamplingSpec(**SPEC), offset=3) == shifted


def test_hf_engine_weight_sync_is_a_no_op(tiny_model, tokenizer, problems):
    engine = HFEngine(tiny_model, tokenizer, batch_size=4)
    prompts = prompt_ids(tokenizer, problems, 2)
    before = engine.sample(prompts, SamplingSpec(**SPEC))
    engine.sleep()
    engine.wake()
    engine.load_weights(tiny_model.state_dict().items())
    assert engine.sample(prompts, SamplingSpec(**SPEC)) == before


def old_sample_group(model, tokenizer, prompts, group_size, max_new_tokens, temperature, top_p, seed):
    """sample_group as it was before the engine, the reference for byte-identical rollouts."""
    from evaluation.generation import completion_mask_from

    enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    torch.manual_seed(seed)
    out = model.eval().generate(**enc, do_sample=True, temperature=temperature, top_p=top_p, top_k=0,
                                max_new_tokens=max_new_tokens, num_return_sequences=group_size,
                                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                cache_implementation="static")
    width = enc["input_ids"].shape[1]
    tokens = out[:, width:]
    mask = completion_mask_from(tokens, tokenizer.eos_token_id)
    prompt_mask = enc["attention_mask"].repeat_interleave(group_size, dim=0)
    texts = tokenizer.batch_decode(tokens, skip_special_tokens=True)
    groups = torch.arange(len(prompts)).repeat_interleave(group_size)
    return RolloutBatch(out, torch.cat([prompt_mask, mask.long()], dim=1), mask, groups, width, texts)


def assert_same_batch(a: RolloutBatch, b: RolloutBatch) -> None:
    for name in ("input_ids", "attention_mask", "completion_mask", "groups"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and torch.equal(x, y), name
    assert a.prompt_width == b.prompt_width and a.completions == b.completions


@pytest.mark.parametrize("args", [(3, 12, 1.0, 1.0, 1), (2, 16, 0.7, 0.9, 5)])
def test_sample_group_is_byte_identical_to_the_old_implementation(eos_prone_model, tokenizer, problems, args):
    prompts = [plain_prompt(p["question"]) for p in problems[0][:4]]
    want = old_sample_group(eos_prone_model, tokenizer, prompts, *args)
    assert_same_batch(sample_group(eos_prone_model, tokenizer, prompts, *args), want)
    assert (want.completion_mask.sum(-1) < want.completion_mask.shape[1]).any()  # some rows stop early
    # An engine passed in is used as is: one chunk with every prompt is the same sampler.
    engine = HFEngine(eos_prone_model, tokenizer, batch_size=len(prompts) * args[0], static_cache=True)
    assert_same_batch(sample_group(None, tokenizer, prompts, *args, engine=engine), want)


def test_batch_from_samples_layout():
    pad, eos = 0, 9
    s = lambda p, c: Sample(tuple(p), tuple(c), None, f"{c}")  # noqa: E731
    samples = [
        [s([5, 6, 7], [1, 9]), s([5, 6, 7], [1, 2, 3, 4])],  # stops at EOS; never stops
        [s([8], [3, 9, 4, 4]), s([8], [9])],  # tokens after the first EOS are dropped; EOS at once
    ]
    b = batch_from_samples(samples, pad, eos)
    assert b.prompt_width == 3
    assert b.input_ids.tolist() == [
        [5, 6, 7, 1, 9, 0, 0],
        [5, 6, 7, 1, 2, 3, 4],
        [0, 0, 8, 3, 9, 0, 0],
        [0, 0, 8, 9, 0, 0, 0],
    ]
    assert b.attention_mask.tolist() == [
        [1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0, 0],
    ]
    assert b.completion_mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]
    assert b.completion_mask.dtype == torch.float32 and b.input_ids.dtype == torch.long
    assert b.groups.tolist() == [0, 0, 1, 1]
    assert b.completions == ["[1, 9]", "[1, 2, 3, 4]", "[3, 9, 4, 4]", "[9]"]
    with pytest.raises(ValueError, match="^samples:"):
        batch_from_samples([], pad, eos)


@pytest.mark.parametrize("field, value", [("n", 0), ("temperature", -0.1), ("top_p", 0.0), ("top_p", 1.5),
                                          ("max_new_tokens", 0)])
def test_sampling_spec_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        SamplingSpec(**{**SPEC, field: value})


def test_engines_reject_empty_prompts(tiny_model, tokenizer):
    with pytest.raises(ValueError, match="^prompts: prompt 1"):
        HFEngine(tiny_model, tokenizer, 4).sample([[5], []], SamplingSpec(**SPEC))
    with pytest.raises(ValueError, match="^batch_size:"):
        HFEngine(tiny_model, tokenizer, 0)


def test_make_engine(tiny_model, tokenizer):
    engine = make_engine("hf", model=tiny_model, tokenizer=tokenizer, batch_size=8)
    assert isinstance(engine, HFEngine) and engine.batch_size == 8
    with pytest.raises(ValueError, match=r"^runtime\.engine: unknown engine 'tgi'"):
        make_engine("tgi", model=tiny_model, tokenizer=tokenizer)
    with pytest.raises(ValueError, match=r"^runtime\.engine: 'hf'"):
        make_engine("hf")
    with pytest.raises(ValueError, match=r"^runtime\.engine: 'vllm'"):
        make_engine("vllm")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_engine_explains_missing_extra():
    with pytest.raises(ImportError, match=r"pip install -e \.\[gpu\]"):
        make_engine("vllm", model_dir="/nonexistent")


@pytest.mark.gpu
def test_vllm_engine_weight_sync_and_logprobs(tiny_model, tokenizer, problems, tmp_path):
    pytest.importorskip("vllm")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from generation.vllm_engine import VLLMEngine

    tiny_model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    engine = VLLMEngine(str(tmp_path), seed=0, dtype="bfloat16", gpu_memory_utilization=0.2, enable_sleep=True,
                        max_model_len=256)
    prompts = prompt_ids(tokenizer, problems, 3)
    spec = SamplingSpec(n=2, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=0)
    model = copy.deepcopy(tiny_model).cuda().eval()

    def check_logprobs(samples):
        # vLLM's raw log-probs against the HF model's teacher-forced ones, bf16 against float32.
        batch = batch_from_samples(samples, tokenizer.pad_token_id, tokenizer.eos_token_id, "cuda")
        with torch.no_grad():
            hf = token_logprobs(model, batch)
        for r, s in enumerate(x for row in samples for x in row):
            assert s.logprobs is not None and len(s.logprobs) == len(s.token_ids)
            assert torch.allclose(torch.tensor(s.logprobs), hf[r, : len(s.token_ids)].cpu(), atol=0.1)

    first = engine.sample(prompts, spec)
    assert [len(row) for row in first] == [2, 2, 2]
    check_logprobs(first)
    tokens = lambda samples: [[s.token_ids for s in row] for row in samples]  # noqa: E731
    assert tokens(engine.sample(prompts, spec)) == tokens(first)  # seeded per prompt
    assert tokens(engine.sample(prompts[1:], spec, offset=1)) == tokens(first)[1:]  # and independent of neighbours

    # Perturbed weights pushed in: vLLM now samples from them (its log-probs follow the new model).
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen).to(p.device))
    engine.sleep()
    engine.wake()
    with pytest.raises(RuntimeError, match="load_weights"):  # level-2 sleep discarded the weights
        engine.sample(prompts, spec)
    engine.load_weights(model.state_dict().items())
    moved = engine.sample(prompts, spec)
    check_logprobs(moved)
    assert [s.logprobs for row in moved for s in row] != [s.logprobs for row in first for s in row]
    # And back: the original weights give the original samples.
    engine.load_weights(tiny_model.state_dict().items())
    assert tokens(engine.sample(prompts, spec)) == tokens(first)
