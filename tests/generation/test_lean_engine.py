"""LeanEngine (the direct decode loop) against HF generate and against the model itself: greedy
outputs equal HFEngine's (left padding, chunks, EOS), seeded runs repeat, reported log-probs are
the model's own, sampled tokens follow softmax(logits / T) inside the top-p nucleus, and the
evaluation LeanBackend matches HFBackend. Real tiny transformers models built from a config."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.generation.logits_process import TopPLogitsWarper

from evaluation.generation import HFBackend, LeanBackend, make_backend
from evaluation.prompts import plain_prompt
from generation import HFEngine, LeanEngine, SamplingSpec, make_engine
from generation.lean_engine import _sample_tokens
from rl.rollout import sample_group, token_logprobs


class IdTokenizer:
    """The little a sampling engine needs from a tokenizer, over bare token ids."""

    def __init__(self, eos: int, pad: int) -> None:
        self.eos_token_id, self.pad_token_id = eos, pad

    def batch_decode(self, rows, skip_special_tokens=True):
        special = {self.eos_token_id, self.pad_token_id}
        return [" ".join(str(i) for i in row if not (skip_special_tokens and i in special)) for row in rows]


VOCAB, EOS, PAD = 48, 1, 0


def small_llama(logit_scale: float = 1.0, seed: int = 0) -> LlamaForCausalLM:
    """Hidden 64, 2 layers, vocab 48; lm_head scaled so that the next-token distribution is far
    from uniform (temperatures must be told apart)."""
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         eos_token_id=EOS, pad_token_id=PAD, bos_token_id=EOS, tie_word_embeddings=False)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(logit_scale)
    return model


def push_eos(model, tokenizer, problems, scale):
    """The shared tiny model with its EOS row along the mean last hidden state (as in
    test_engine.py), so that samples stop early."""
    ids = tokenizer([p["prompt"] for p in problems[0][:8]], add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        hidden = torch.cat([model.model(torch.tensor([i])).last_hidden_state[0] for i in ids]).mean(0)
        model.lm_head.weight[tokenizer.eos_token_id] = scale * hidden / hidden.norm() ** 2
    return model


@pytest.fixture()
def eos_prone_model(tiny_model, tokenizer, problems):
    """Many samples stop early."""
    return push_eos(tiny_model, tokenizer, problems, 3.0)


@pytest.fixture()
def greedy_eos_model(tiny_model, tokenizer, problems):
    """Greedy decoding stops early on some prompts and runs to the cap on others."""
    return push_eos(tiny_model, tokenizer, problems, 0.5)


def prompt_ids(tokenizer, problems, k):
    ids = tokenizer([plain_prompt(p["question"]) for p in problems[0][:k]], add_special_tokens=False)["input_ids"]
    # Prompts of clearly different lengths, so that left padding matters.
    return [p[: len(p) - 3 * (i % 4)] for i, p in enumerate(ids)]


def token_lists(samples):
    return [[list(s.token_ids) for s in row] for row in samples]


@pytest.mark.parametrize("batch_size, max_new", [(16, 12), (3, 10), (5, 9)])
def test_greedy_equals_hf_engine(greedy_eos_model, tokenizer, problems, batch_size, max_new):
    n = 1
    model = greedy_eos_model
    prompts = prompt_ids(tokenizer, problems, 7)
    assert len({len(p) for p in prompts}) > 2
    spec = SamplingSpec(n, 0.0, 1.0, max_new, 0)
    want = HFEngine(model, tokenizer, batch_size).sample(prompts, spec)
    got = LeanEngine(model, tokenizer, batch_size).sample(prompts, spec)
    assert token_lists(got) == token_lists(want)
    assert [[s.text for s in row] for row in got] == [[s.text for s in row] for row in want]
    assert [[s.prompt_ids for s in row] for row in got] == [[tuple(p)] * n for p in prompts]
    lengths = [len(s.token_ids) for row in got for s in row]
    assert min(lengths) < max_new and max(lengths) == max_new  # some stop at EOS, some run to the cap
    # The speed knobs change nothing here.
    for kwargs in (dict(cache="dynamic"), dict(drop_finished=False)):
        assert token_lists(LeanEngine(model, tokenizer, batch_size, **kwargs).sample(prompts, spec)) == \
            token_lists(want)
    # Greedy with n > 1 (which generate refuses): n copies of the one greedy completion.
    twice = LeanEngine(model, tokenizer, 2 * batch_size).sample(prompts, SamplingSpec(2, 0.0, 1.0, max_new, 0))
    assert token_lists(twice) == [row * 2 for row in token_lists(want)]
    assert all(a.logprobs == b.logprobs for a, b in twice)


def test_greedy_equals_hf_on_a_model_without_eos_in_sight():
    # Every row runs to max_new_tokens; prompts 1 to 9 tokens long in one left-padded chunk.
    model, tok = small_llama(), IdTokenizer(EOS, PAD)
    prompts = [[(7 * i + j) % (VOCAB - 2) + 2 for j in range(1 + i)] for i in range(9)]
    spec = SamplingSpec(1, 0.0, 1.0, 16, 0)
    assert token_lists(LeanEngine(model, tok, 9).sample(prompts, spec)) == \
        token_lists(HFEngine(model, tok, 9).sample(prompts, spec))


def test_seeded_runs_repeat_and_offsets_shift_seeds(eos_prone_model, tokenizer, problems):
    prompts = prompt_ids(tokenizer, problems, 5)
    engine = LeanEngine(eos_prone_model, tokenizer, batch_size=4)
    spec = SamplingSpec(n=2, temperature=1.0, top_p=0.95, max_new_tokens=10, seed=0)
    first = engine.sample(prompts, spec)
    assert engine.sample(prompts, spec) == first
    assert engine.sample(prompts, SamplingSpec(2, 1.0, 0.95, 10, 1)) != first
    # Chunk k is seeded seed + offset + k: an offset is a shifted seed.
    assert engine.sample(prompts, spec, offset=3) == engine.sample(prompts, SamplingSpec(2, 1.0, 0.95, 10, 3))
    # ... and does not depend on what ran before.
    torch.manual_seed(1234)
    assert engine.sample(prompts, spec) == first
    assert engine.last_tokens_per_s > 0


def test_stops_at_the_first_eos_and_caps_at_max_new_tokens(eos_prone_model, tokenizer, problems):
    prompts = prompt_ids(tokenizer, problems, 8)
    eos = tokenizer.eos_token_id
    for drop in (True, False):
        engine = LeanEngine(eos_prone_model, tokenizer, batch_size=16, drop_finished=drop)
        samples = [s for row in engine.sample(prompts, SamplingSpec(4, 1.0, 1.0, 12, 3)) for s in row]
        assert len(samples) == 32
        assert any(len(s.token_ids) < 12 for s in samples) and any(len(s.token_ids) == 12 for s in samples)
        for s in samples:
            assert 1 <= len(s.token_ids) <= 12
            assert eos not in s.token_ids[:-1]
            assert s.token_ids[-1] == eos or len(s.token_ids) == 12
            assert len(s.logprobs) == len(s.token_ids)
            assert s.text == tokenizer.decode(list(s.token_ids), skip_special_tokens=True)
    one = LeanEngine(eos_prone_model, tokenizer, 8).sample(prompts[:2], SamplingSpec(3, 1.0, 1.0, 1, 0))
    assert all(len(s.token_ids) == 1 and len(s.logprobs) == 1 for row in one for s in row)


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (0.7, 0.9), (0.0, 1.0)])
def test_logprobs_are_the_models_own(eos_prone_model, tokenizer, problems, temperature, top_p):
    # Raw log-probs (temperature 1, no top-p) of each sampled token, recomputed by one forward
    # over prompt + completion without padding.
    prompts = prompt_ids(tokenizer, problems, 4)
    samples = LeanEngine(eos_prone_model, tokenizer, 6).sample(prompts, SamplingSpec(3, temperature, top_p, 10, 5))
    with torch.no_grad():
        for s in (x for row in samples for x in row):
            ids = torch.tensor([list(s.prompt_ids) + list(s.token_ids)])
            logits = eos_prone_model(input_ids=ids).logits[0, len(s.prompt_ids) - 1 : -1]
            want = torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(s.token_ids)[:, None])[:, 0]
            assert torch.allclose(torch.tensor(s.logprobs), want, atol=1e-4)


def test_rollout_batch_from_lean_samples_matches_token_logprobs(eos_prone_model, tokenizer, problems):
    # What GRPO does with an engine: sample_group's batch, then the policy's teacher-forced
    # log-probs, which must equal the engine's own.
    prompts = [plain_prompt(p["question"]) for p in problems[0][:4]]
    engine = LeanEngine(eos_prone_model, tokenizer, batch_size=12)
    batch = sample_group(None, tokenizer, prompts, 3, 12, 1.0, 1.0, 7, engine=engine)
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    samples = engine.sample(ids, SamplingSpec(3, 1.0, 1.0, 12, 7))
    assert batch.completions == [s.text for row in samples for s in row]
    with torch.no_grad():
        teacher = token_logprobs(eos_prone_model, batch)
    for r, s in enumerate(x for row in samples for x in row):
        assert torch.allclose(torch.tensor(s.logprobs), teacher[r, : len(s.token_ids)], atol=1e-4)


def _tv(counts: Counter, probs: torch.Tensor, total: int) -> float:
    emp = torch.zeros_like(probs)
    for token, c in counts.items():
        emp[token] = c / total
    return 0.5 * (emp - probs).abs().sum().item()


def test_first_two_tokens_follow_the_tempered_distribution():
    # 8000 samples of one prompt: the first token against softmax(logits / T), the second against
    # the mixture of its conditionals given each sampled first token; the wrong temperature is
    # far off, so the check can tell temperatures apart.
    model, tok = small_llama(logit_scale=12.0), IdTokenizer(EOS, PAD)
    prompt = [5, 9, 17, 3, 22]
    n = 8000
    with torch.no_grad():
        first_logits = model(input_ids=torch.tensor([prompt])).logits[0, -1]
        # Logits of the second position after each possible first token.
        grid = torch.tensor([prompt + [a] for a in range(VOCAB)])
        second_logits = model(input_ids=grid).logits[:, -1]
    for temperature, other in ((1.0, 0.5), (0.5, 1.0)):
        samples = LeanEngine(model, tok, batch_size=n).sample([prompt], SamplingSpec(n, temperature, 1.0, 2, 11))[0]
        firsts = Counter(s.token_ids[0] for s in samples)
        p1 = torch.softmax(first_logits / temperature, -1)
        assert _tv(firsts, p1, n) < 0.05
        assert _tv(firsts, torch.softmax(first_logits / other, -1), n) > 0.15
        cont = [s for s in samples if s.token_ids[0] != EOS]
        assert len(cont) > n // 2 and all(len(s.token_ids) == 2 for s in cont)
        p2 = torch.softmax(second_logits / temperature, -1)
        expected = sum(p2[s.token_ids[0]] for s in cont) / len(cont)
        seconds = Counter(s.token_ids[1] for s in cont)
        assert _tv(seconds, expected, len(cont)) < 0.05
        wrong = sum(torch.softmax(second_logits / other, -1)[s.token_ids[0]] for s in cont) / len(cont)
        assert _tv(seconds, wrong, len(cont)) > 0.15


def test_top_p_never_samples_outside_the_nucleus():
    model, tok = small_llama(logit_scale=12.0, seed=1), IdTokenizer(EOS, PAD)
    prompt = [4, 8, 15, 16, 23, 42]
    n, temperature, top_p = 3000, 0.8, 0.7
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt])).logits[0, -1] / temperature
    # The nucleus as transformers defines it.
    kept = torch.isfinite(TopPLogitsWarper(top_p)(None, logits[None].clone())[0])
    assert 1 < int(kept.sum()) < VOCAB // 2
    samples = LeanEngine(model, tok, batch_size=n).sample([prompt], SamplingSpec(n, temperature, top_p, 1, 2))[0]
    firsts = Counter(s.token_ids[0] for s in samples)
    assert all(kept[t] for t in firsts)
    nucleus = torch.where(kept, torch.softmax(logits, -1), torch.zeros(()))
    assert _tv(firsts, nucleus / nucleus.sum(), n) < 0.05
    assert len(firsts) > 1


def test_sampler_never_picks_a_zero_probability_token():
    torch.manual_seed(0)
    logits = torch.randn(64, 40)
    logits[:, ::2] = float("-inf")
    logits[:, -1] = float("-inf")  # the last token too: inverse CDF must not land past the mass
    for top_p in (1.0, 0.5):
        for _ in range(50):
            tokens = _sample_tokens(logits, 1.0, top_p)
            assert torch.isfinite(logits.gather(-1, tokens[:, None])).all()
    # Top-p at its smallest keeps only the most likely token.
    assert torch.equal(_sample_tokens(logits, 1.0, 1e-6), logits.argmax(-1))


def test_lean_backend_greedy_equals_hf_backend(tokenizer, greedy_eos_model, tmp_path):
    model = greedy_eos_model
    prompts = [plain_prompt(q) for q in ("Tom has 5 apples and buys 3. How many?", "Ann has 9 pens.",
                                          "Bo has 2 cats and gets 7 more. How many cats does he have now?")]
    long_prompt = "Question: " + "Tom has 5 apples. " * 200 + "\nAnswer:\n"  # cut to the context
    kwargs = dict(n=1, temperature=0.0, top_p=1.0, max_new_tokens=8, seed=0)
    hf = HFBackend(model, tokenizer, batch_size=2, progress=False)
    lean = LeanBackend(model, tokenizer, batch_size=2, progress=False)
    assert isinstance(lean.engine, LeanEngine)
    assert lean.generate(prompts + [long_prompt], **kwargs) == hf.generate(prompts + [long_prompt], **kwargs)
    assert lean.truncated_prompts == hf.truncated_prompts == 1
    assert lean.last_tokens_per_s > 0
    sampled = lean.generate(prompts, n=3, temperature=1.0, top_p=0.95, max_new_tokens=6, seed=1)
    assert [len(x) for x in sampled] == [3, 3, 3]
    assert sampled == lean.generate(prompts, n=3, temperature=1.0, top_p=0.95, max_new_tokens=6, seed=1)
    # make_backend("lean") loads a saved model behind the same front end.
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = make_backend("lean", str(tmp_path), batch_size=2, dtype="float32")
    loaded.progress = False
    assert isinstance(loaded, LeanBackend)
    assert loaded.generate(prompts, **kwargs) == hf.generate(prompts, **kwargs)


def test_make_engine_lean_and_argument_checks(tiny_model, tokenizer):
    engine = make_engine("lean", model=tiny_model, tokenizer=tokenizer, batch_size=8)
    assert isinstance(engine, LeanEngine) and engine.batch_size == 8
    with pytest.raises(ValueError, match=r"^runtime\.engine: 'lean'"):
        make_engine("lean")
    with pytest.raises(ValueError, match="^prompts: prompt 1"):
        engine.sample([[5], []], SamplingSpec(1, 1.0, 1.0, 4, 0))
    with pytest.raises(ValueError, match="^batch_size:"):
        LeanEngine(tiny_model, tokenizer, 0)
    with pytest.raises(ValueError, match="^cache:"):
        LeanEngine(tiny_model, tokenizer, 4, cache="static")
    # Weight sync is a no-op: the engine samples from the live module.
    before = engine.sample([[5, 6, 7]], SamplingSpec(2, 1.0, 1.0, 4, 0))
    engine.sleep()
    engine.wake()
    engine.load_weights(tiny_model.state_dict().items())
    assert engine.sample([[5, 6, 7]], SamplingSpec(2, 1.0, 1.0, 4, 0)) == before


@pytest.mark.gpu
def test_lean_engine_on_cuda(greedy_eos_model, tokenizer, problems):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    model = greedy_eos_model.cuda()
    prompts = prompt_ids(tokenizer, problems, 7)
    greedy = SamplingSpec(1, 0.0, 1.0, 12, 0)
    assert token_lists(LeanEngine(model, tokenizer, 4).sample(prompts, greedy)) == \
        token_lists(HFEngine(model, tokenizer, 4).sample(prompts, greedy))
    spec = SamplingSpec(4, 1.0, 0.9, 20, 0)
    engine = LeanEngine(model, tokenizer, 16)
    samples = engine.sample(prompts, spec)
    assert engine.sample(prompts, spec) == samples
    with torch.no_grad():
        for s in (x for row in samples for x in row):
            ids = torch.tensor([list(s.prompt_ids) + list(s.token_ids)], device="cuda")
            logits = model(input_ids=ids).logits[0, len(s.prompt_ids) - 1 : -1].float()
            want = torch.log_softmax(logits, -1).gather(-1, torch.tensor(s.token_ids, device="cuda")[:, None])[:, 0]
            assert torch.allclose(torch.tensor(s.logprobs), want.cpu(), atol=1e-3)
