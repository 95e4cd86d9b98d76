"""Math-Shepherd labels with a real tiny completer: label layout, soft vs hard, outcome labels."""

from evaluation.prompts import plain_prompt
from rl.shepherd import Solution, continue_from, outcome_examples, shepherd_examples
from rl.steps import step_end_positions


def make_solution(tokenizer, problem, completion_text):
    prompt = tuple(tokenizer(plain_prompt(problem["question"]), add_special_tokens=False)["input_ids"])
    comp = tuple(tokenizer(completion_text, add_special_tokens=False)["input_ids"])
    gold = problem["answer"]
    return Solution(prompt, comp, tuple(step_end_positions(list(comp), tokenizer)), gold)


def test_labels_sit_at_step_ends_and_last_step_is_the_grade(tiny_model, tokenizer, problems):
    p = problems[0][0]
    right = make_solution(tokenizer, p, p["solution"])
    wrong = make_solution(tokenizer, p, p["solution"].rsplit("#### ", 1)[0] + "#### 999")
    soft = shepherd_examples(tiny_model, tokenizer, [right, wrong], n=3, max_new_tokens=4, temperature=1.0, seed=0, soft=True)
    hard = shepherd_examples(tiny_model, tokenizer, [right, wrong], n=3, max_new_tokens=4, temperature=1.0, seed=0, soft=False)
    for ex, sol in zip(soft, [right, wrong]):
        assert list(ex.positions) == [len(sol.prompt_ids) + e for e in sol.step_ends]
        assert all(0.0 <= y <= 1.0 for y in ex.labels)
    assert soft[0].labels[-1] == 1.0 and soft[1].labels[-1] == 0.0
    # hard = 1 iff soft > 0, step by step
    for s, h in zip(soft, hard):
        assert [float(y > 0) for y in s.labels[:-1]] == list(h.labels[:-1])


def test_continuations_are_seeded_and_counted(tiny_model, tokenizer):
    prefixes = [tokenizer("Question: a", add_special_tokens=False)["input_ids"], [tokenizer.eos_token_id]]
    a = continue_from(tiny_model, tokenizer, prefixes, n=2, max_new_tokens=3, temperature=1.0, seed=5)
    b = continue_from(tiny_model, tokenizer, prefixes, n=2, max_new_tokens=3, temperature=1.0, seed=5)
    assert a == b and [len(x) for x in a] == [2, 2]


def test_outcome_examples_grade_the_last_token(tokenizer, problems):
    p = problems[0][0]
    sol = make_solution(tokenizer, p, p["solution"])
    (ex,) = outcome_examples(tokenizer, [sol])
    assert ex.positions == (len(sol.prompt_ids) + len(sol.completion_ids) - 1,) and ex.labels == (1.0,)


def test_hard_and_soft_come_from_the_same_continuations(tiny_model, tokenizer, problems):
    from rl.shepherd import shepherd_both

    p = problems[0][1]
    sols = [make_solution(tokenizer, p, p["solution"])]
    hard, soft = shepherd_both(tiny_model, tokenizer, sols, n=4, max_new_tokens=4, temperature=1.0, seed=3)
    assert [float(y > 0) for y in soft[0].labels[:-1]] == list(hard[0].labels[:-1])
    assert all(y * 4 == int(y * 4) for y in soft[0].labels[:-1])  # shares of 4 continuations
    assert hard[0].labels[-1] == soft[0].labels[-1] == 1.0
