"""Zero-shot CLIP: classify with CoOp's hand-written template per dataset, nothing trained."""
from __future__ import annotations

import logging

from mopd.backend import TRAINER_REGISTRY
from mopd.clip.text_encoder import TextEncoder
from mopd.prompts.prompted_clip import HandCraftedCLIP

from .coop import CoOp

logger = logging.getLogger(__name__)


@TRAINER_REGISTRY.register()
class ZeroshotCLIP(CoOp):
    """Zero-shot CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language
    Supervision", ICML 2021, arXiv:2103.00020) with CoOp's per-dataset template. Run with --eval-only."""

    def build_model(self) -> None:
        clip_model = self.build_clip_in_precision().to(self.device)
        text_features = self.encode_hand_crafted_classes(TextEncoder(clip_model))
        self.model = HandCraftedCLIP(clip_model, text_features)

    def train(self) -> None:
        """Nothing is learned: evaluate directly."""
        logger.info("ZeroshotCLIP has nothing to train; evaluating")
        self.test()
