"""What the trainers with prompts in both towers of CLIP share (MaPLe, IVLP, PromptSRC, MMRL)."""
from __future__ import annotations

import logging
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from mopd.clip.precision import PrecisionPolicy
from mopd.prompts.prompted_clip import TwoTowerPromptedCLIP
from mopd.training.checkpoint_hooks import CLASS_NAME_BUFFERS

logger = logging.getLogger(__name__)

# The authors' CustomCLIP keeps CLIP's towers as `image_encoder` (CLIP's `visual`) and `text_encoder`, beside
# `logit_scale`; here the image tower is wrapped, so its weights are under `image_encoder.visual.`.
_AUTHORS_FROZEN_PREFIXES = (("image_encoder.", "image_encoder.visual."), ("text_encoder.", "text_encoder."),
                            ("logit_scale", "logit_scale"))


class TwoTowerPromptsMixin:
    """Builds the model around a two-tower prompt learner; its image features depend on the prompts.

    So the model says its image features are not frozen CLIP's, and evaluation encodes every test
    image (the evaluation feature cache is never read or written for it); class features are still
    encoded once per evaluation.

    The authors' checkpoints (muzairkhattak/multimodal-prompt-learning, PromptSRC) hold their whole
    `CustomCLIP` under the trainer's folder `authors_model_folder`: the prompts, the class-name buffers
    and every frozen CLIP weight. Evaluation reads that folder as it is, keeps the prompts under this
    learner's names (`authors_prompt_key`) and drops the CLIP weights once they are checked to be the
    frozen weights of this run's CLIP.
    """

    authors_model_folder = ""  # the name the authors' trainer registers its model under (its checkpoint folder)
    config_node = ""  # TRAINER.<config_node> holds the method's settings

    @property
    def method_cfg(self):
        """The method's config node, TRAINER.<config_node>."""
        return self.cfg.TRAINER[self.config_node]

    def build_prompted_clip(self, clip_model: nn.Module, prompt_learner: nn.Module) -> nn.Module:
        """CLIP with the learner's prompts in both towers."""
        return TwoTowerPromptedCLIP(clip_model, prompt_learner)

    def checkpoint_folders(self, name: str) -> tuple[str, ...]:
        """The prompt learner's own folder, then the authors' (their run folders evaluate as they are)."""
        folders = super().checkpoint_folders(name)
        return (*folders, self.authors_model_folder) if name == "prompt_learner" and self.authors_model_folder else folders

    def authors_prompt_key(self, key: str) -> str | None:
        """This learner's name for a key of the authors' CustomCLIP that belongs to the prompts, else None."""
        prefix = "prompt_learner."
        return key[len(prefix):] if key.startswith(prefix) else None

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """The prompts of an authors' checkpoint under this learner's names; their frozen CLIP weights checked, dropped."""
        own = {*self.model.prompt_learner.state_dict(), *CLASS_NAME_BUFFERS}  # keys already in this learner's layout
        learned, frozen = {}, {}
        for key, value in state_dict.items():
            ours = key if key in own else self.authors_prompt_key(key)
            if ours is None:
                frozen[key] = value
            else:
                learned[ours] = value
        if frozen:
            self.check_frozen_weights(frozen)
            logger.info("Dropped %d frozen CLIP weights of the checkpoint (checked against this run's CLIP)", len(frozen))
        return super().convert_foreign_state_dict(name, learned)

    def check_frozen_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Raise ValueError unless the authors' frozen CLIP weights are this run's (`check_frozen_clip_weights`)."""
        check_frozen_clip_weights(weights, self.model)


def frozen_clip_image_features(model: nn.Module, precision: PrecisionPolicy, image: torch.Tensor) -> torch.Tensor:
    """Frozen CLIP's normalised image features (B, D) of a batch: CLIP's own image tower (`visual`), no gradient."""
    with torch.no_grad(), precision.autocast():
        return F.normalize(model.image_encoder.visual(image.type(model.dtype)), dim=-1)


def our_frozen_key(key: str) -> str | None:
    """This model's state-dict key of a frozen CLIP weight of the authors' CustomCLIP (None for other keys)."""
    for theirs, ours in _AUTHORS_FROZEN_PREFIXES:
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    return None


def check_frozen_clip_weights(weights: dict[str, torch.Tensor], model: nn.Module,
                              expected: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
    """Raise ValueError unless every entry is a frozen CLIP weight of `model`, equal to it (in `model`'s dtype).

    `expected` turns each of `model`'s weights, cast to the checkpoint tensor's dtype, into the value
    the checkpoint must hold (PromptSRC's GPA rounds them).

    Entries that are not CLIP weights would be learned tensors this code does not know; CLIP weights of
    another shape or value mean the checkpoint was trained on another CLIP than this run's.
    """
    ours = model.state_dict()
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    unknown = [key for key in weights if our_frozen_key(key) not in ours or our_frozen_key(key) in trainable]
    if unknown:
        raise ValueError(f"it holds {unknown[:5]} ({len(unknown)} in all), which are neither prompts of "
                         f"{type(model.prompt_learner).__name__} nor frozen CLIP weights; it was written by another "
                         "method or another version of it: point --model-dir at a run of this trainer")
    differing = []
    for key, value in weights.items():
        mine = ours[our_frozen_key(key)]
        if value.shape != mine.shape:
            differing.append(key)
        elif expected is not None and mine.is_floating_point():
            if not torch.equal(value, expected(mine.to(value.dtype))):
                differing.append(key)
        elif not torch.equal(value.to(mine.dtype), mine):
            differing.append(key)
    if differing:
        key = differing[0]
        raise ValueError(
            f"its frozen CLIP weights differ from this run's CLIP ({len(differing)} of {len(weights)} tensors, e.g. "
            f"{key}: checkpoint {tuple(weights[key].shape)}, this run {tuple(ours[our_frozen_key(key)].shape)}); it was "
            "trained on other CLIP weights; set MODEL.BACKBONE.NAME (and MODEL.BACKBONE.PATH) to the CLIP it was "
            "trained with"
        )
