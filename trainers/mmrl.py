"""MMRL trainer: representation tokens in both towers of CLIP, a class-token and a representation branch."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.clip.loading import architecture_of
from mopd.config.checks import check_mmrl_cfg
from mopd.methods.class_text_features import encode_class_prompts
from mopd.methods.mmrl import evaluation_branch, mmrl_loss
from mopd.prompts.prompted_clip import RepresentationCLIP, RepresentationOutput
from mopd.prompts.representation_learner import RepresentationLearner, draw_proj_rep
from mopd.training.two_tower import TwoTowerPromptsMixin, frozen_clip_image_features

from .coop import CoOp

# Where the authors' CustomCLIP keeps the learner.
_AUTHORS_LEARNER_PREFIX = "representation_learner."
_AUTHORS_CLASS_PROMPTS = "prompt_embeddings"  # their class-name buffer, which their own loading drops


@TRAINER_REGISTRY.register()
class MMRL(TwoTowerPromptsMixin, CoOp):
    """Multi-Modal Representation Learning (Guo and Gu, CVPR 2025, arXiv:2503.08497).

    K shared representation tokens, projected per layer into both towers from REP_LAYERS on; the text
    tower reads the dataset's hand-written prompts. Loss: ALPHA * CE of the class-token branch +
    (1 - ALPHA) * CE of the representation branch + REG_WEIGHT times the cosine distances of the
    class-token image features and the class features to frozen CLIP's. Evaluation uses the fusion
    or the class-token branch as TRAINER.MMRL.TASK says (`mopd.methods.mmrl.evaluation_branch`).
    Drawn from the generator as the authors' build leaves it, so a seed gives their initial values;
    their run folders evaluate as they are.
    """

    authors_model_folder = "MultiModalRepresentationLearner"
    hand_crafted_in_training = True  # the class prompts and frozen CLIP's text features use the template
    config_node = "MMRL"
    # the authors' names of what their CLIP learns -> this learner's
    authors_clip_parameters = {"image_encoder.proj_rep": "proj_rep"}
    check_method_cfg = staticmethod(check_mmrl_cfg)

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        self.check_method_cfg(cfg)

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        mmrl = self.method_cfg
        proj_rep = draw_proj_rep(architecture_of(clip_model))  # the authors draw after building two random CLIPs
        return RepresentationLearner(classnames, clip_model, self.hand_crafted_template(), mmrl.N_REP_TOKENS,
                                     mmrl.REP_DIM, mmrl.REP_LAYERS, proj_rep)

    def build_prompted_clip(self, clip_model: nn.Module, prompt_learner: nn.Module) -> nn.Module:
        return RepresentationCLIP(clip_model, prompt_learner, self.method_cfg.ALPHA)

    def before_train_extra(self) -> None:
        """Frozen CLIP's normalised features of the hand-written prompts (C, D), in CLIP's dtype, outside autocast."""
        with torch.no_grad():
            self.clip_text_features = encode_class_prompts(self.model.text_encoder, [self.hand_crafted_template()],
                                                           self.dm.dataset.classnames)[0]

    def parse_batch_train(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch, and frozen CLIP's normalised image features of it."""
        image, label = super().parse_batch_train(batch)
        self.clip_image_features = frozen_clip_image_features(self.model, self.precision, image)
        return image, label

    def compute_losses(self, output: RepresentationOutput, label: torch.Tensor) -> dict[str, torch.Tensor]:
        mmrl = self.method_cfg
        return mmrl_loss(self.loss_input(output.class_logits), self.loss_input(output.rep_logits), label,
                         output.image_features, self.clip_image_features, output.text_features, self.clip_text_features,
                         mmrl.ALPHA, mmrl.REG_WEIGHT)._asdict()

    def classify_features(self, image_features: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of test image features (B, 2, D): the fusion or the class-token branch, as TASK chooses."""
        cfg = self.cfg
        with self.precision.autocast():
            output = self.model.classify(F.normalize(image_features, dim=-1), self._eval_text_features)
        branch = evaluation_branch(self.method_cfg.TASK, cfg.DATASET.SUBSAMPLE_CLASSES, cfg.DATASET.NAME)
        return (output.logits if branch == "fusion" else output.class_logits).float()

    def checkpoint_meta(self) -> dict:
        meta = super().checkpoint_meta()
        mmrl = self.method_cfg
        meta["training_settings"] = {"alpha": mmrl.ALPHA, "reg_weight": mmrl.REG_WEIGHT}
        return meta

    def authors_prompt_key(self, key: str) -> str | None:
        """`representation_learner.<name>` and what their CLIP learns (`authors_clip_parameters`) -> this learner's."""
        if key.startswith(_AUTHORS_LEARNER_PREFIX):
            return key[len(_AUTHORS_LEARNER_PREFIX):]
        return self.authors_clip_parameters.get(key)

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """The authors' checkpoint without their class-prompt embeddings (rebuilt from the classes, as they do)."""
        state_dict = {key: value for key, value in state_dict.items() if key != _AUTHORS_CLASS_PROMPTS}
        return super().convert_foreign_state_dict(name, state_dict)
