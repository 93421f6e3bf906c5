"""MoPD: Mixture-of-Prompts Distillation for vision-language models (library part)."""

__version__ = "0.1.0"
