"""CLIP with a learnable text prompt: frozen image and text encoders around a prompt learner."""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from mopd.clip.prompted_vision import PromptedVisionTransformer, RepresentationVisionTransformer
from mopd.clip.representation_tokens import RepresentationTokens
from mopd.clip.text_encoder import TextEncoder
from mopd.prompts.cocoop_prompt_learner import cocoop_logits


class PromptedOutput(NamedTuple):
    """What one forward pass produces; methods read the parts their losses need."""

    logits: torch.Tensor  # (B, C) student logits s * f @ g^T
    image_features: torch.Tensor  # (B, D) normalised; no gradient unless the image tower is prompted
    text_features: torch.Tensor | None  # (C, D) normalised class features; None when they depend on the image
    logit_scale: torch.Tensor  # scalar s = exp(logit_scale)


class PromptedCLIP(nn.Module):
    """A frozen CLIP whose class text features come from a learnable prompt learner."""

    # Whether image features are frozen CLIP's, the same in every run (only then may the evaluation feature
    # cache hold them); a model whose image tower takes learned prompts says False.
    frozen_image_features = True

    def __init__(self, clip_model: nn.Module, prompt_learner: nn.Module) -> None:
        super().__init__()
        self.prompt_learner = prompt_learner
        self.image_encoder = clip_model.visual
        self.text_encoder = TextEncoder(clip_model)
        self.logit_scale = clip_model.logit_scale
        self.dtype = clip_model.dtype

    def image_features(self, image: torch.Tensor) -> torch.Tensor:
        """Image features (B, D) as the image encoder gives them, not normalised; frozen, so no graph is kept."""
        with torch.no_grad():
            return self.image_encoder(image.type(self.dtype))

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Normalised image features (B, D)."""
        return F.normalize(self.image_features(image), dim=-1)

    def encode_classes(self) -> torch.Tensor:
        """Normalised student text features (C, D) from the current prompt."""
        learner = self.prompt_learner
        features = self.text_encoder(learner(), learner.tokenized_prompts)
        return F.normalize(features, dim=-1)

    def forward(self, image: torch.Tensor, text_features: torch.Tensor | None = None) -> PromptedOutput:
        """Student logits for a batch; `text_features` (C, D) skips re-encoding the prompts."""
        return self.classify(self.encode_image(image), text_features)

    def classify(self, image_features: torch.Tensor, text_features: torch.Tensor | None = None) -> PromptedOutput:
        """Logits for normalised image features (B, D), encoded now or read from the evaluation feature cache."""
        if text_features is None:
            text_features = self.encode_classes()
        scale = self.logit_scale.exp()
        logits = scale * image_features @ text_features.t()
        return PromptedOutput(logits, image_features, text_features, scale)


class HandCraftedCLIP(PromptedCLIP):
    """Zero-shot CLIP: class features from fixed hand-written prompts instead of a learnable prompt."""

    def __init__(self, clip_model: nn.Module, text_features: torch.Tensor) -> None:
        super().__init__(clip_model, prompt_learner=nn.Identity())
        self.register_buffer("text_features", text_features, persistent=False)  # (C, D), normalised

    def encode_classes(self) -> torch.Tensor:
        """The fixed normalised class features (C, D)."""
        return self.text_features


class ConditionalPromptedCLIP(PromptedCLIP):
    """CoCoOp: every image gets its own class prompts, so class features are never shared or cached."""

    def __init__(self, clip_model: nn.Module, prompt_learner: nn.Module, images_per_call: int) -> None:
        super().__init__(clip_model, prompt_learner)
        self.images_per_call = images_per_call

    def encode_classes(self) -> None:
        """No image-independent class features exist: evaluation falls back to the per-image path."""
        return None

    def classify(self, image_features: torch.Tensor, text_features: torch.Tensor | None = None) -> PromptedOutput:
        """Logits (B, C) from each image's own prompts, made from its features (B, D); `text_features` must be None."""
        assert text_features is None, "CoCoOp's class features depend on the image"
        scale = self.logit_scale.exp()
        logits = cocoop_logits(image_features, self.prompt_learner, self.text_encoder, scale, self.images_per_call)
        return PromptedOutput(logits, image_features, None, scale)


class TwoTowerPromptedCLIP(PromptedCLIP):
    """CLIP with learned prompts in both towers (MaPLe, IVLP, PromptSRC): image features depend on the prompts.

    The prompt learner gives `forward()` (the text prompt embeddings), `text_prompts()` and
    `vision_prompts()` (`TowerPrompts`). Class features do not depend on the image, so evaluation
    still encodes them once; image features are never cached.
    """

    frozen_image_features = False

    def __init__(self, clip_model: nn.Module, prompt_learner: nn.Module) -> None:
        super().__init__(clip_model, prompt_learner)
        self.image_encoder = PromptedVisionTransformer(clip_model.visual)

    def image_features(self, image: torch.Tensor) -> torch.Tensor:
        """Image features (B, D) under the learned vision prompts, not normalised (with their graph when training).

        Training (`encode_image`) and evaluation (`encode_images` of the feature-cache module) both read them.
        """
        return self.image_encoder(image.type(self.dtype), self.prompt_learner.vision_prompts())

    def encode_classes(self) -> torch.Tensor:
        """Normalised class features (C, D) under the learned text context and deep text prompts."""
        learner = self.prompt_learner
        features = self.text_encoder(learner(), learner.tokenized_prompts, learner.text_prompts())
        return F.normalize(features, dim=-1)


class RepresentationOutput(NamedTuple):
    """MMRL's forward pass: `logits` is the fusion of the class-token and representation branches."""

    logits: torch.Tensor  # (B, C) ALPHA * class_logits + (1 - ALPHA) * rep_logits
    image_features: torch.Tensor  # (B, D) normalised class-token features
    text_features: torch.Tensor  # (C, D) normalised class features
    logit_scale: torch.Tensor  # the fixed scale of both branches
    class_logits: torch.Tensor  # (B, C) scale * image_features @ text_features^T
    rep_logits: torch.Tensor  # (B, C) scale * (normalised representation features) @ text_features^T


class RepresentationCLIP(PromptedCLIP):
    """MMRL (arXiv:2503.08497): representation tokens in both towers, a class-token and a representation branch.

    The learner (`RepresentationLearner`) gives each tower its tokens; the text tower reads the
    hand-written prompts at EOT + K; an image has a class-token feature (CLIP's `proj`) and a
    representation feature (`RepresentationVisionTransformer`), so image features are (B, 2, D). Both
    branches' logits use the fixed scale 100, as the authors' code. MMRL++ (arXiv:2505.10088) is the same model
    with its learner (`ResidualRepresentationLearner`).
    """

    frozen_image_features = False
    scale = 100.0

    def __init__(self, clip_model: nn.Module, prompt_learner: nn.Module, alpha: float) -> None:
        super().__init__(clip_model, prompt_learner)
        self.image_encoder = RepresentationVisionTransformer(clip_model.visual)
        self.alpha = alpha

    def image_features(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 2, D) class-token and representation features under the representation tokens, not normalised."""
        return self._image_features(image, self.prompt_learner.representation_tokens()[1])

    def encode_classes(self) -> torch.Tensor:
        """Normalised class features (C, D) of the hand-written prompts under the representation tokens."""
        return self._encode_classes(self.prompt_learner.representation_tokens()[0])

    def forward(self, image: torch.Tensor, text_features: torch.Tensor | None = None) -> RepresentationOutput:
        """Both branches' logits and their fusion; the learner's tokens are made once for both towers.

        `text_features` (C, D) skips re-encoding the prompts.
        """
        text_tokens, vision_tokens = self.prompt_learner.representation_tokens()
        if text_features is None:
            text_features = self._encode_classes(text_tokens)
        return self.classify(F.normalize(self._image_features(image, vision_tokens), dim=-1), text_features)

    def _image_features(self, image: torch.Tensor, tokens: RepresentationTokens) -> torch.Tensor:
        proj_rep = self.prompt_learner.rep_projection(self.image_encoder.visual.proj)
        return self.image_encoder(image.type(self.dtype), tokens, proj_rep)

    def _encode_classes(self, tokens: RepresentationTokens) -> torch.Tensor:
        learner = self.prompt_learner
        features = self.text_encoder(learner.prompt_embeddings, learner.tokenized_prompts, representation=tokens)
        return F.normalize(features, dim=-1)

    def classify(self, image_features: torch.Tensor, text_features: torch.Tensor | None = None) -> RepresentationOutput:
        """Both branches' logits and their fusion for normalised image features (B, 2, D)."""
        if text_features is None:
            text_features = self.encode_classes()
        class_features, rep_features = image_features.unbind(dim=1)
        class_logits = (self.scale * class_features) @ text_features.t()
        rep_logits = (self.scale * rep_features) @ text_features.t()
        logits = self.alpha * class_logits + (1 - self.alpha) * rep_logits
        scale = torch.tensor(self.scale, device=class_logits.device)
        return RepresentationOutput(logits, class_features, text_features, scale, class_logits, rep_logits)
