"""Prompts for CLIP: learnable contexts (CoOp) and hand-written teacher prompts."""
from mopd.prompts.prompt_learner import CLASS_TOKEN_POSITIONS, ClassTokenPosition, PromptLearner

__all__ = ["CLASS_TOKEN_POSITIONS", "ClassTokenPosition", "PromptLearner"]
