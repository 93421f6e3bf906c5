"""KgCoOp trainer: CoOp plus a pull of the learned class features towards the hand-crafted ones."""
from __future__ import annotations

import logging

import torch

from mopd.backend import TRAINER_REGISTRY
from mopd.methods.kgcoop_loss import kgcoop_loss, kgcoop_objective
from mopd.prompts.prompted_clip import PromptedOutput
from mopd.prompts.templates import kgcoop_template

from .coop import CoOp

logger = logging.getLogger(__name__)


@TRAINER_REGISTRY.register()
class KgCoOp(CoOp):
    """Knowledge-guided Context Optimization (Yao, Zhang, Xu, CVPR 2023, arXiv:2303.13283).

    Loss: CE + W * (1 - mean cosine(learned class features, hand-crafted class features)), the
    hand-crafted prompts written with KgCoOp's own template table.
    """

    hand_crafted_in_training = True

    def hand_crafted_template(self) -> str:
        return kgcoop_template(self.cfg.DATASET.NAME)

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        if cfg.TRAINER.KGCOOP.W < 0:
            raise ValueError(f"TRAINER.KGCOOP.W={cfg.TRAINER.KGCOOP.W} must be >= 0")

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """The authors' code (htyao89/KgCoOp) also saves `bias_vectors` and a `meta_net`, never trained or used."""
        state_dict = super().convert_foreign_state_dict(name, state_dict)
        unused = [key for key in state_dict if key == "bias_vectors" or key.startswith("meta_net.")]
        if unused:
            logger.info("Ignoring %s of %s (untrained and unused by KgCoOp's inference)", unused, name)
        return {key: value for key, value in state_dict.items() if key not in unused}

    def before_train_extra(self) -> None:
        self.hand_crafted = self.encode_hand_crafted_classes(self.model.text_encoder)

    def compute_losses(self, output: PromptedOutput, label: torch.Tensor) -> dict[str, torch.Tensor]:
        ce = super().compute_losses(output, label)["loss"]
        kg = kgcoop_loss(output.text_features, self.hand_crafted)
        return {"loss": kgcoop_objective(ce, kg, self.cfg.TRAINER.KGCOOP.W), "ce": ce, "kg": kg}
