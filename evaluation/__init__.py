"""Evaluation: prompts, the one answer grader, pass@k / maj@k metrics, generation backends, reports."""
