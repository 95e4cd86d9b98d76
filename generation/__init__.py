"""Sampling in one place: one engine interface (HF or vLLM) for rollouts, reward-model data,
Math-Shepherd continuations and evaluation."""

from generation.engine import Engine, Sample, SamplingSpec
from generation.factory import make_engine
from generation.hf_engine import HFEngine

__all__ = ["Engine", "HFEngine", "Sample", "SamplingSpec", "make_engine"]
