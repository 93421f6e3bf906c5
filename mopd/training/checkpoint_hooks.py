"""What a checkpoint says about the prompt that wrote it, and the keys of the original repositories' checkpoints."""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

CLASS_NAME_BUFFERS = ("token_prefix", "token_suffix", "token_midfix")


class PromptCheckpointMixin:
    """The `meta` of checkpoints holding `self.model.prompt_learner` (see `mopd.engine.checkpoint_meta`)."""

    def checkpoint_meta(self) -> dict:
        """Trainer, backbone, classes and the prompt's shape settings, saved in and checked against checkpoints."""
        learner = self.model.prompt_learner
        return {
            "trainer": type(self).__name__,
            "backbone": self.cfg.MODEL.BACKBONE.NAME,
            "num_classes": learner.n_cls,
            "model_settings": learner.settings(),
            "training_settings": {},
        }

    def accepted_checkpoint_trainers(self) -> tuple[str, ...]:
        """Other trainers whose checkpoints this one evaluates (`TRAINER.COOP.ACCEPT_CHECKPOINT_OF`)."""
        accepted = self.cfg.TRAINER.COOP.ACCEPT_CHECKPOINT_OF
        return (accepted,) if accepted else ()

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """Drop the class-name buffers that the original repositories save; they are rebuilt from the classes."""
        stale = [key for key in state_dict if key in CLASS_NAME_BUFFERS]
        if stale:
            logger.info("Ignoring class-name buffers %s of %s (rebuilt for the current classes)", stale, name)
        return {key: value for key, value in state_dict.items() if key not in CLASS_NAME_BUFFERS}
