"""SFT examples packed into rows (`sft.packing`): every example once, positions restarting per
example, and on a tiny real transformers model the same loss and gradients as padded rows,
because transformers masks attention between the packed examples."""

from __future__ import annotations

import copy

import pytest
import torch

from training.sft import IGNORE, SFTLoss, collate, collate_packed, encode_examples


@pytest.fixture()
def examples(problems, tokenizer):
    ex, _ = encode_examples(problems[0][:24], tokenizer, 128, "plain")
    return ex


def test_every_example_once_with_its_own_positions(examples):
    packed = collate_packed(examples, 0)
    ids, labels, pos = packed["input_ids"], packed["labels"], packed["position_ids"]
    width = max(len(e.ids) for e in examples)
    assert ids.shape[1] == width and ids.shape[0] < len(examples)  # fewer rows than examples
    found = []
    for r in range(ids.shape[0]):
        starts = (pos[r] == 0).nonzero().flatten().tolist() + [width]
        for a, b in zip(starts, starts[1:]):
            assert pos[r, a:b].tolist() == list(range(b - a))
            found.append(tuple(ids[r, a:b].tolist()))
    for e in examples:  # each example appears once, as a whole
        assert found.count(e.ids) >= 1
    assert int((labels != IGNORE).sum()) == int((collate(examples, 0)["labels"] != IGNORE).sum())


def test_packed_loss_and_gradients_equal_the_padded_ones(tiny_model, examples):
    results = []
    for packing in (False, True):
        model = copy.deepcopy(tiny_model).train()
        loss = SFTLoss(examples, len(examples), 0, seed=0, packing=packing).loss(model, examples, None)
        loss.backward()
        results.append((loss.item(), [p.grad.clone() for p in model.parameters()]))
    (l0, g0), (l1, g1) = results
    assert l0 == pytest.approx(l1, rel=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g0, g1))


def test_packed_examples_do_not_see_each_other(tiny_model, examples):
    """The logits of the second example of a packed row equal its logits alone."""
    packed = collate_packed(examples, 0)
    known = {e.ids for e in examples}
    for r, pos in enumerate(packed["position_ids"]):  # a row whose second segment is an example
        starts = (pos == 0).nonzero().flatten().tolist() + [len(pos)]
        if len(starts) > 2 and tuple(packed["input_ids"][r, starts[1] : starts[2]].tolist()) in known:
            row, second, end = r, starts[1], starts[2]
            break
    else:
        pytest.fail("no row holds two examples")
    with torch.no_grad():
        together = tiny_model(input_ids=packed["input_ids"][row : row + 1],
                              position_ids=packed["position_ids"][row : row + 1], use_cache=False).logits[0, second:end]
        alone = tiny_model(input_ids=packed["input_ids"][row : row + 1, second:end], use_cache=False).logits[0]
    assert torch.allclose(together, alone, atol=1e-5)


def test_eager_attention_packs_the_same(tiny_model, examples):
    tiny_model.config._attn_implementation = "eager"
    with torch.no_grad():
        padded = SFTLoss(examples, len(examples), 0, seed=0).loss(tiny_model, examples, None).item()
        packed = SFTLoss(examples, len(examples), 0, seed=0, packing=True).loss(tiny_model, examples, None).item()
    assert padded == pytest.approx(packed, rel=1e-5)
