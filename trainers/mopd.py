"""MoPD trainer: CoOp plus a teacher-prompt bank, a gating network and the MPD/MPS losses."""
from __future__ import annotations

import logging

import torch
from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.config.checks import check_mopd_cfg
from mopd.training.gate_report import SelectionTally, write_gate_stats
from mopd.methods.gate import PromptGate
from mopd.methods.mopd_loss import mopd_loss_terms, mopd_total_loss
from mopd.methods.teacher_bank import TeacherBank
from mopd.prompts.pools import load_teacher_pool
from mopd.prompts.prompted_clip import PromptedOutput

from .coop import CoOp

logger = logging.getLogger(__name__)


@TRAINER_REGISTRY.register()
class MoPD(CoOp):
    """Mixture-of-Prompts Distillation: distil gate-selected hand-written prompts into CoOp's prompt.

    Chen, Fu and Zhang, "MoPD: Mixture-of-Prompts Distillation for Vision-Language Models",
    IEEE TMM, arXiv:2412.19087. The teacher bank is built only for training (never saved); the
    gate is trained and saved with the context vectors; evaluation uses the student prompt alone.
    """

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        mopd = cfg.TRAINER.MOPD
        self.templates = load_teacher_pool(mopd.POOL, cfg.DATASET.NAME, mopd.POOL_FILE)
        check_mopd_cfg(cfg, len(self.templates))

    def build_model(self) -> None:
        super().build_model()
        shape = (len(self.dm.dataset.classnames), len(self.templates))
        self.tally = SelectionTally(*shape)  # all epochs so far, kept in the checkpoints for resuming
        self._epoch_tally = SelectionTally(*shape)

    def build_extra_modules(self, clip_model: nn.Module) -> dict[str, nn.Module]:
        embed_dim = clip_model.text_projection.shape[1]
        gate = PromptGate(embed_dim, len(self.templates), self.cfg.TRAINER.MOPD.TOP_K, dtype=clip_model.dtype)
        return {"gate": gate}

    def checkpoint_meta(self) -> dict:
        meta = super().checkpoint_meta()
        meta["training_settings"] = {"pool_size": len(self.templates), "top_k": self.cfg.TRAINER.MOPD.TOP_K}
        return meta

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """The authors' code (cheny02/MoPD-TMM) saves the (D, P) gate matrix as `gate`; here it is `gate.weight`."""
        state_dict = super().convert_foreign_state_dict(name, state_dict)
        if "gate" in state_dict:
            state_dict["gate.weight"] = state_dict.pop("gate")
        return state_dict

    def adapt_loaded_state_dict(self, name: str, state_dict: dict) -> dict:
        """Evaluation needs no gate: one trained with another pool size (or none) is skipped with a log line."""
        state_dict = dict(state_dict)
        gate = self.model.prompt_learner.gate.weight
        saved = state_dict.get("gate.weight")
        if saved is None or saved.shape != gate.shape:
            shape = "absent" if saved is None else tuple(saved.shape)
            logger.info("Not loading the gate (checkpoint: %s, this run: %s); it is unused at evaluation",
                        shape, tuple(gate.shape))
            state_dict["gate.weight"] = gate.detach().clone()
        return state_dict

    def training_templates(self) -> dict[str, list[str]]:
        return {**super().training_templates(), f"TRAINER.MOPD.POOL {self.cfg.TRAINER.MOPD.POOL!r}": self.templates}

    def before_train_extra(self) -> None:
        classnames = self.dm.dataset.classnames
        with torch.no_grad(), self.precision.autocast():
            self.teacher_bank = TeacherBank.from_text_encoder(self.model.text_encoder, self.templates, classnames)
        logger.info("Teacher bank: %d prompts x %d classes", len(self.templates), len(classnames))

    def compute_losses(self, output: PromptedOutput, label: torch.Tensor) -> dict[str, torch.Tensor]:
        mopd = self.cfg.TRAINER.MOPD
        weights, indices = self.model.prompt_learner.gate(output.image_features)
        teacher_logits = self.teacher_bank.logits(output.image_features, output.logit_scale)
        terms = mopd_loss_terms(output.logits, teacher_logits, label, weights, indices, mopd.TEMPERATURE)
        self._epoch_tally.add(label, indices)
        total = mopd_total_loss(terms, mopd.W, mopd.W2)
        return {"loss": total, "ce": terms.ce, "mpd": terms.mpd, "mps": terms.mps}

    def training_state(self) -> dict:
        return {"gate_selection_counts": self.tally.per_class.clone()}

    def restore_training_state(self, state: dict) -> None:
        counts = state.get("gate_selection_counts")
        if counts is None or counts.shape != self.tally.per_class.shape:
            logger.warning("The checkpoint holds no gate selection counts for %s classes x %s prompts; "
                           "gate_stats.json will count only the epochs trained from now on",
                           *self.tally.per_class.shape)
            return
        self.tally.per_class.copy_(counts)

    def after_epoch(self) -> None:
        frequencies = self._epoch_tally.frequencies()
        shares = " ".join(f"{i}:{share:.2f}" for i, share in enumerate(frequencies.tolist()))
        logger.info("epoch %d teacher-prompt selection frequency: %s", self.epoch + 1, shares)
        for i, share in enumerate(frequencies.tolist()):
            self.write_scalar(f"train/selection/prompt_{i}", share, self.epoch)
        self.tally.per_class += self._epoch_tally.per_class
        self._epoch_tally.per_class.zero_()
        super().after_epoch()

    def after_train(self) -> None:
        write_gate_stats(self.output_dir, self.templates, self.dm.dataset.classnames, self.tally)
        super().after_train()
