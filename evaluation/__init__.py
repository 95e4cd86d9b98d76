"""Evaluation: prompts, the one grader, pass@k / maj@k metrics, generation backends, reports."""
