"""What the trainers with prompts in both towers of CLIP share (MaPLe, IVLP, PromptSRC)."""
from __future__ import annotations

from torch import nn

from mopd.prompts.prompted_clip import TwoTowerPromptedCLIP


class TwoTowerPromptsMixin:
    """Builds the model around a two-tower prompt learner; its image features depend on the prompts.

    So the model says its image features are not frozen CLIP's, and evaluation encodes every test
    image (the evaluation feature cache is never read or written for it); class features are still
    encoded once per evaluation.
    """

    def build_prompted_clip(self, clip_model: nn.Module, prompt_learner: nn.Module) -> nn.Module:
        """CLIP with the learner's prompts in both towers."""
        return TwoTowerPromptedCLIP(clip_model, prompt_learner)
