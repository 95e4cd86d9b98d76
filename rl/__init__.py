"""GRPO (DeepSeekMath §4.1): rollouts, rule rewards, advantage estimators, the clipped loss with k3 KL."""
