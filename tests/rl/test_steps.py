"""Step splitting on real tokenizer output."""

import torch

from rl.steps import batch_step_ends, step_end_positions


def test_steps_end_at_newlines_and_at_the_last_token(tokenizer):
    text = "Tom starts with 5 apples.\nTom buys 3 more, so 5 + 3 = 8.\n#### 8"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    ends = step_end_positions(ids, tokenizer)
    assert len(ends) == 3 and ends[-1] == len(ids) - 1
    pieces = [tokenizer.decode(ids[: e + 1]) for e in ends]
    assert pieces[0].endswith("apples.\n") and pieces[1].endswith("= 8.\n") and pieces[2] == text


def test_completion_ending_with_a_newline_has_no_empty_step(tokenizer):
    ids = tokenizer("a\nb\n", add_special_tokens=False)["input_ids"]
    assert len(step_end_positions(ids, tokenizer)) == 2
    assert step_end_positions([], tokenizer) == []


def test_batch_pads_step_slots(tokenizer):
    one = tokenizer("x\ny\nz", add_special_tokens=False)["input_ids"]
    two = tokenizer("x", add_special_tokens=False)["input_ids"]
    width = max(len(one), len(two))
    tokens = torch.zeros(2, width, dtype=torch.long)
    mask = torch.zeros(2, width)
    tokens[0, : len(one)], mask[0, : len(one)] = torch.tensor(one), 1
    tokens[1, : len(two)], mask[1, : len(two)] = torch.tensor(two), 1
    ends, step_mask = batch_step_ends(tokens, mask, tokenizer)
    assert ends.shape == (2, 3) and step_mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert ends[1, 0].item() == len(two) - 1


def test_memoised_step_ends_match_a_fresh_decode_of_every_token(tokenizer):
    # The memo answers each id once per process; its answers must be what decoding says, for
    # every id of the vocabulary and for two delimiters kept apart.
    ids = list(range(len(tokenizer)))
    for delimiter in ("\n", "."):
        expected = [i for i in ids if delimiter in tokenizer.decode([i])]
        assert expected, f"no token holds {delimiter!r}"
        got = step_end_positions(ids, tokenizer, delimiter)
        assert got[:-1] == [i for i in expected if i != ids[-1]]
        assert step_end_positions(ids, tokenizer, delimiter) == got  # a second call, from the memo, agrees
