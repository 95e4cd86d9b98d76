"""The memory estimate: hand-computed byte counts, the parameter count of real models, the
activation formula against what autograd saves, and the over-budget warning."""

import contextlib
import copy
import logging

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, LlamaConfig

from training.config import ModelConfig
from training.memory import estimate, format_estimate, log_estimate, model_shape, saved_bytes
from training.model import build_model

# H 32, I 64, 2 layers, 2 heads of 16 (kv 2), vocab 100, tied. By hand:
#   embedding 100*32 = 3200; a layer: q, k, v, o 4*32*32 = 4096, MLP 3*32*64 = 6144, norms 2*32
#   = 64, so 10304; final norm 32. Parameters 3200 + 2*10304 + 32 = 23840.
TINY = ModelConfig(pretrained=None, architecture="llama", hidden_size=32, intermediate_size=64, num_layers=2,
                   num_heads=2, num_kv_heads=2, max_position_embeddings=256, tie_embeddings=True, dtype="float32")
VOCAB = 100
PARAMS = 23840
SIZES = dict(compute_dtype="bfloat16", micro_batch_size=2, seq_len=16, gradient_checkpointing=False, vocab_size=VOCAB)


def test_hand_computed_training_state():
    est = estimate(TINY, stage="sft", **SIZES)
    assert est.parameters == PARAMS
    assert est.weights == 95360  # float32 masters: 4 * 23840
    assert est.gradients == 95360  # float32
    assert est.optimizer == 190720  # two float32 moments: 8 * 23840
    assert est.reference == est.kv_cache == est.decode == est.gathered == 0
    assert est.total == 95360 + 190720 + 95360 + est.activations  # accumulating micro-batches


def test_hand_computed_sampling_and_reference():
    est = estimate(TINY, stage="grpo", sampling=(3, 10), **SIZES)
    assert est.reference == 47680  # bf16 copy: 2 * 23840
    assert est.kv_cache == 7680  # K and V: 2 * 2 layers * 32 (2 kv heads * 16) * 3 rows * 10 * 2 bytes
    assert est.decode == 4200  # 3 rows * 100 * (2 + 3 * 4)
    training = est.gradients + est.activations
    assert est.total == est.weights + est.optimizer + est.reference + max(training, 7680 + 4200)
    # Reward-model data is inference: bf16 weights and the KV cache only.
    rm_data = estimate(TINY, stage="rm_data", sampling=(3, 10), **SIZES)
    assert (rm_data.weights, rm_data.gradients, rm_data.optimizer, rm_data.activations) == (47680, 0, 0, 0)
    assert rm_data.total == 47680 + 7680 + 4200
    fp32 = estimate(TINY, stage="rm_data", sampling=(3, 10), **{**SIZES, "compute_dtype": "float32"})
    assert fp32.kv_cache == 2 * 7680


def test_sharding_divides_by_world_size():
    one = estimate(TINY, stage="pretrain", **SIZES)
    four = estimate(TINY, stage="pretrain", world_size=4, sharded=True, **SIZES)
    assert (four.weights, four.gradients, four.optimizer) == (95360 // 4, 95360 // 4, 190720 // 4)
    # FSDP holds whole, in float32: the root (3200 + 32) and its gradient, two layers' parameters
    # and one layer's gradient: 4 * (2 * 3232 + 3 * 10304).
    assert four.gathered == 149504
    assert four.activations == one.activations
    replicated = estimate(TINY, stage="pretrain", world_size=4, sharded=False, **SIZES)
    assert replicated.total == one.total


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("stage", ["pretrain", "sft", "reward_model", "grpo"])
def test_checkpointing_lowers_activations(stage, dtype):
    sizes = {**SIZES, "compute_dtype": dtype, "seq_len": 128, "micro_batch_size": 4}
    plain = estimate(TINY, stage=stage, **sizes)
    ckpt = estimate(TINY, stage=stage, **{**sizes, "gradient_checkpointing": True})
    assert ckpt.activations < plain.activations
    assert ckpt.weights == plain.weights and ckpt.optimizer == plain.optimizer


@pytest.mark.parametrize("architecture", ["llama", "qwen2"])
@pytest.mark.parametrize("tied", [True, False])
def test_parameter_count_matches_built_model(architecture, tied):
    cfg = ModelConfig(pretrained=None, architecture=architecture, hidden_size=48, intermediate_size=96, num_layers=3,
                      num_heads=4, num_kv_heads=2, max_position_embeddings=128, tie_embeddings=tied, dtype="float32")
    model = build_model(cfg, VOCAB, eos_id=0, pad_id=1, seed=0)
    real = sum(p.numel() for p in model.parameters())
    assert estimate(model.config, stage="sft", **SIZES).parameters == real
    assert model_shape(cfg, VOCAB) == model_shape(model.config)  # before building, from ModelConfig
    rm_config = copy.deepcopy(model.config)
    rm_config.num_labels = 1  # rl.reward_model: a one-logit score head instead of the LM head
    rm = AutoModelForTokenClassification.from_config(rm_config)
    assert estimate(model.config, stage="reward_model", **SIZES).parameters == sum(p.numel() for p in rm.parameters())


def test_shape_from_a_pretrained_directory(tmp_path):
    LlamaConfig(vocab_size=500, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=1, tie_word_embeddings=False).save_pretrained(tmp_path)
    shape = model_shape(str(tmp_path))
    assert (shape.vocab_size, shape.num_kv_heads, shape.head_dim, shape.tie_embeddings) == (500, 1, 16, False)
    assert shape.attention == "sdpa"  # what transformers picks when the model is built


def _measured_saved(model, ids, mask, amp):
    """Bytes of the distinct non-parameter storages autograd saves for backward."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ctx:
        model(input_ids=ids, attention_mask=mask, labels=ids)
    return sum(seen.values())


@pytest.mark.parametrize("attention,amp,kv,padded,ckpt", [
    ("sdpa", False, 4, False, False),
    ("sdpa", True, 2, False, False),
    ("sdpa", False, 2, True, False),
    ("eager", True, 2, False, False),
    ("eager", False, 4, True, False),
    ("sdpa", True, 4, False, True),
])
def test_activation_formula_matches_what_autograd_saves(attention, amp, kv, padded, ckpt):
    config = LlamaConfig(vocab_size=700, hidden_size=96, intermediate_size=256, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=kv, tie_word_embeddings=True,
                         attn_implementation=attention)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).train()
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    ids = torch.randint(0, 700, (3, 40))
    mask = None
    if padded:
        mask = torch.ones_like(ids)
        mask[0, -5:] = 0
    measured = _measured_saved(model, ids, mask, amp)
    formula = saved_bytes(model_shape(model.config), rows=3, seq_len=40, compute_dtype="bfloat16" if amp else "float32",
                          gradient_checkpointing=ckpt, padded=padded, device="cpu")
    # What the formula leaves out (labels, rotary tables, norms' 1/rms) is under 1% here.
    assert formula == pytest.approx(measured, rel=0.01)


def test_log_estimate_warns_over_budget(caplog):
    est = estimate(TINY, stage="grpo", sampling=(3, 10), **SIZES)
    with caplog.at_level(logging.INFO, logger="training.memory"):
        assert log_estimate("grpo", est, device_total_bytes=est.total + 1)
    assert "peak" in caplog.text and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="training.memory"):
        assert not log_estimate("grpo", est, device_total_bytes=est.total - 1)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "exceeds" in warnings[0].getMessage()


def test_format_estimate_lists_the_parts():
    text = format_estimate(estimate(TINY, stage="grpo", sampling=(3, 10), **SIZES))
    for part in ("weights", "gradients", "optimizer", "activations", "reference", "kv cache", "peak"):
        assert part in text
    assert "MiB" in text and "max(gradients + activations, kv cache + decode step)" in text
