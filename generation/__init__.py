"""Sampling in one place: one engine interface (HF generate, a lean decode loop, or vLLM) for
rollouts, reward-model data, Math-Shepherd continuations and evaluation."""

from generation.engine import Engine, Sample, SamplingSpec
from generation.factory import make_engine
from generation.hf_engine import HFEngine
from generation.lean_engine import LeanEngine

__all__ = ["Engine", "HFEngine", "LeanEngine", "Sample", "SamplingSpec", "make_engine"]
