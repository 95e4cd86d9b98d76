"""HFBackend and evaluate() on a tiny random Llama model with a tokenizer trained here."""

import importlib.util

import pytest
import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from inputs.problems import normalize_all
from evaluation.config import BenchmarkConfig, EvaluateConfig
from evaluation.evaluate import Prompting, evaluate
from evaluation.generation import HFBackend, VLLMBackend, make_backend
from evaluation.prompts import plain_prompt

PLAIN = Prompting(model_format="plain")  # what `prompt: model` reads from a trained model directory
PROBLEMS = [
    {"id": "p0", "question": "Tom has 5 apples and buys 3. How many?", "answer": "5 + 3 = 8.\n#### 8"},
    {"id": "p1", "question": "Ann has 9 pens and loses 4. How many?", "answer": "9 - 4 = 5.\n#### 5"},
    {"id": "p2", "question": "Bo has 2 cats and gets 7. How many?", "answer": "2 + 7 = 9.\n#### 9"},
]


def _tokenizer() -> PreTrainedTokenizerFast:
    # Word-level with one token per digit, like the project's tiny tokenizer.
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\d|[A-Za-z]+|[^\sA-Za-z\d]|\s"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    corpus = [plain_prompt(p["question"]) + p["answer"] for p in PROBLEMS] + ["0 1 2 3 4 5 6 7 8 9 ####"]
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<pad>", "<eos>", "<unk>"]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>", unk_token="<unk>")


@pytest.fixture(scope="module")
def backend() -> HFBackend:
    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return HFBackend(LlamaForCausalLM(config), tokenizer, batch_size=4, progress=False)


def _prompts() -> list[str]:
    return [plain_prompt(p["question"]) for p in PROBLEMS]


def test_greedy_is_deterministic_and_batch_independent(backend):
    kwargs = dict(n=1, temperature=0.0, top_p=1.0, max_new_tokens=8)
    first = backend.generate(_prompts(), seed=0, **kwargs)
    second = backend.generate(_prompts(), seed=123, **kwargs)
    assert first == second
    assert [len(c) for c in first] == [1, 1, 1]
    assert all(isinstance(c[0], str) and c[0] for c in first)
    # Left padding: a prompt's greedy output does not depend on its batch neighbours.
    alone = backend.generate(_prompts()[1:2], seed=0, **kwargs)
    assert alone[0] == first[1]
    assert backend.last_tokens_per_s > 0


def test_sampling_returns_n_per_prompt_and_is_seeded(backend):
    kwargs = dict(n=3, temperature=1.0, top_p=1.0, max_new_tokens=8)
    a = backend.generate(_prompts(), seed=7, **kwargs)
    b = backend.generate(_prompts(), seed=7, **kwargs)
    c = backend.generate(_prompts(), seed=8, **kwargs)
    assert [len(x) for x in a] == [3, 3, 3]
    assert a == b
    assert a != c
    assert "<eos>" not in "".join(s for x in a for s in x)


def test_generate_rejects_bad_arguments(backend):
    with pytest.raises(ValueError, match="^n:"):
        backend.generate(_prompts(), n=0, temperature=0.0, top_p=1.0, max_new_tokens=4, seed=0)


def _cfg(batch_size: int = 4, **bench: int) -> EvaluateConfig:
    return EvaluateConfig(batch_size=batch_size, benchmarks=(BenchmarkConfig(**bench),))


def _data(problems: list[dict]) -> dict[str, list[dict]]:
    return {"synthetic": normalize_all(problems, "synthetic")}


def test_evaluate_returns_metrics_records_and_timing(backend):
    cfg = _cfg(n_problems=3, greedy_max_new_tokens=6, n_samples=4, max_new_tokens=6)
    results, records, timing = evaluate(backend, _data(PROBLEMS), cfg, seed=0, prompting=PLAIN)
    metrics = results["synthetic"]
    assert set(metrics) == {"n_problems", "n_samples", "top1", "sample_acc", "top1_strict", "sample_acc_strict",
                            "grading_timeouts", "grading_errors", "truncated_prompts"} | {
        f"{kind}@{k}" for kind in ("pass", "maj") for k in (1, 2, 4)
    }
    assert metrics["n_problems"] == 3 and metrics["n_samples"] == 4
    assert all(0.0 <= metrics[key] <= 1.0 for key in metrics if "@" in key or "acc" in key or "top1" in key)
    assert len(records) == 3 * (1 + 4)
    assert set(records[0]) == {"benchmark", "id", "mode", "index", "completion", "extracted", "method", "gold",
                               "correct", "strict", "error"}
    assert [r["mode"] for r in records[:5]] == ["greedy"] + ["sample"] * 4
    assert set(timing["synthetic"]) == {"greedy_seconds", "greedy_tokens_per_s", "sample_seconds",
                                        "sample_tokens_per_s", "grading_seconds", "grading_retries",
                                        "grading_retry_successes"}
    again, _, _ = evaluate(backend, _data(PROBLEMS), cfg, seed=0, prompting=PLAIN)
    assert again == results


def test_evaluate_rejects_too_few_problems(backend):
    with pytest.raises(ValueError, match="^n_problems:"):
        evaluate(backend, _data(PROBLEMS), _cfg(n_problems=5, n_samples=2), seed=0, prompting=PLAIN)


def test_evaluate_rejects_a_benchmark_without_data(backend):
    with pytest.raises(ValueError, match="no data given for benchmark 'synthetic'"):
        evaluate(backend, {}, _cfg(n_problems=1, n_samples=2), seed=0)


def test_make_backend_hf_round_trip(backend, tmp_path):
    backend.model.save_pretrained(tmp_path)
    backend.tokenizer.save_pretrained(tmp_path)
    loaded = make_backend("hf", str(tmp_path), batch_size=4, dtype="float32")
    kwargs = dict(n=1, temperature=0.0, top_p=1.0, max_new_tokens=6, seed=0)
    loaded.progress = False
    assert loaded.generate(_prompts(), **kwargs) == backend.generate(_prompts(), **kwargs)


def test_make_backend_rejects_unknown_name():
    with pytest.raises(ValueError, match="choices"):
        make_backend("tgi", "/nonexistent", batch_size=4, dtype="float32")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_backend_explains_missing_extra():
    with pytest.raises(ImportError, match=r"pip install -e \.\[gpu\]"):
        VLLMBackend("/nonexistent")


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None or not torch.cuda.is_available(),
    reason="needs vllm (gpu extra) and a CUDA GPU",
)
def test_vllm_backend_generates(backend, tmp_path):
    backend.model.save_pretrained(tmp_path)
    backend.tokenizer.save_pretrained(tmp_path)
    vllm_backend = VLLMBackend(str(tmp_path), seed=0, dtype="float32", gpu_memory_utilization=0.3)
    out = vllm_backend.generate(_prompts(), n=2, temperature=1.0, top_p=1.0, max_new_tokens=6, seed=0)
    assert [len(x) for x in out] == [2, 2, 2]


def test_hf_backend_with_project_tokenizer_and_model(tokenizer, tiny_model, problems):
    # The shared fixtures (training.tokenizer BPE, training.model Llama): decoding round-trips
    # the SFT target text, so the grader sees what the model would have been trained to write.
    _, test = problems
    target_ids = tokenizer(test[0]["solution"], add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(target_ids, skip_special_tokens=True).strip() == test[0]["solution"]
    hf = HFBackend(tiny_model, tokenizer, batch_size=8, progress=False)
    cfg = _cfg(batch_size=8, n_problems=4, greedy_max_new_tokens=5, n_samples=2, max_new_tokens=5)
    results, records, _ = evaluate(hf, _data(test), cfg, seed=0, prompting=PLAIN)
    assert results["synthetic"]["n_problems"] == 4 and len(records) == 4 * 3


def test_hf_backend_cuts_prompts_to_the_context(tokenizer, tiny_model):
    hf = HFBackend(tiny_model, tokenizer, batch_size=4, progress=False)
    long_prompt = "Question: " + "Tom has 5 apples. " * 200 + "\nAnswer:\n"
    out = hf.generate([long_prompt, "Question: 1\nAnswer:\n"], n=1, temperature=0.0, top_p=1.0,
                      max_new_tokens=4, seed=0)
    assert len(out) == 2 and hf.truncated_prompts == 1
