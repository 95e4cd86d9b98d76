"""Evaluation: benchmarks, prompts, the one grader (extraction, fast path, math-verify workers), pass@k / maj@k, generation backends, reports, and the `python -m evaluation.grade` command."""
