"""Prompt formats shared by SFT, RL, RM data and evaluation; training targets; the format a
model directory records; the evaluation styles."""

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from evaluation.prompts import (build_prompt, check_format, cot_prompt, format_prompt, plain_prompt, read_format,
                                record_format, training_target, with_prompts)

GSM8K = {"question": "Q?", "solution": "She pays 2*3=<<2*3=6>>6 dollars.\n#### 6", "answer": "6", "source": "gsm8k"}
MATH = {"question": "P?", "solution": "So $x=\\boxed{\\frac12}$.", "answer": "\\frac12", "source": "math"}
TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"


def _tokenizer(template: str | None) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.WordLevel({"<eos>": 0, "<unk>": 1}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", unk_token="<unk>")
    if template:
        fast.chat_template = template
    return fast


def test_plain_and_cot_formats():
    assert plain_prompt("What is 2+2?") == "Question: What is 2+2?\nAnswer:\n"
    assert cot_prompt("What is 2+2?") == ("User: What is 2+2?\nPlease reason step by step, and put your final "
                                          "answer within \\boxed{}.\n\nAssistant:")
    assert format_prompt("cot", "q") == cot_prompt("q") and format_prompt("plain", "q") == plain_prompt("q")


def test_chat_format_uses_the_tokenizers_template_and_needs_one():
    prompt = format_prompt("chat", "What is 2+2?", _tokenizer(TEMPLATE))
    assert prompt == ("<|user|>What is 2+2?\nPlease reason step by step, and put your final answer within "
                      "\\boxed{}.\n<|assistant|>")
    with pytest.raises(ValueError, match="^prompt: 'chat' needs a tokenizer with a chat template"):
        format_prompt("chat", "q", _tokenizer(None))
    with pytest.raises(ValueError, match="^prompt: 'chat'"):
        check_format("chat", None)
    with pytest.raises(ValueError, match="^prompt: must be one of"):
        check_format("fancy")


def test_training_targets_per_format():
    # Calculator annotations go; plain keeps the #### line (the embedded default's target).
    assert training_target(GSM8K, "plain") == "She pays 2*3=6 dollars.\n#### 6"
    # cot/chat answer the way the prompt asks: the final marker becomes a boxed answer.
    assert training_target(GSM8K, "cot") == "She pays 2*3=6 dollars.\nThe final answer is $\\boxed{6}$."
    assert training_target(MATH, "cot") == training_target(MATH, "plain") == MATH["solution"]


def test_evaluation_styles_and_the_recorded_format(tmp_path):
    with pytest.raises(ValueError, match="^prompt: 'model' needs a model directory with prompt.json"):
        build_prompt("model", "q", model_format=read_format(tmp_path))
    record_format(tmp_path, "cot")
    assert read_format(tmp_path) == "cot"
    assert build_prompt("model", "q", model_format=read_format(tmp_path)) == cot_prompt("q")
    eight = build_prompt("gsm8k-8shot", "What is 2+2?")
    assert eight.count("Question:") == 9 and eight.endswith("Question: What is 2+2?\nAnswer:")
    four = build_prompt("math-4shot", "What is 2+2?")
    assert four.count("Problem:") == 5 and four.count("\\boxed{") == 4
    with pytest.raises(ValueError, match="^prompt: must be one of"):
        build_prompt("sixshot", "q")
    (tmp_path / "prompt.json").write_text('{"format": "weird"}')
    with pytest.raises(ValueError, match="format must be one of"):
        read_format(tmp_path)


def test_with_prompts_adds_the_rendered_prompt_only():
    (out,) = with_prompts([GSM8K], "plain")
    assert out == {**GSM8K, "prompt": "Question: Q?\nAnswer:\n"} and "prompt" not in GSM8K
