"""`CachedEvaluationMixin`: a trainer's evaluation on test-image features from the feature cache.

Put it before the backend's TrainerX in a trainer's bases (as `CheckpointMixin` is). It relies on
the trainer's `cfg`, `model` (a `PromptedCLIP`: `encode_classes`, `classify`, `image_encoder`,
`frozen_image_features`: a model whose image tower takes learned prompts is never served from the cache),
`precision`, `device`, `evaluator`, `val_loader`, `test_loader`, `epoch` and `write_scalar`, and
never imports `dassl`.
"""
from __future__ import annotations

import logging
from functools import cached_property

import torch
import torch.nn.functional as F

from mopd.feature_cache.evaluation import evaluate_features, evaluation_loader
from mopd.feature_cache.split_features import (
    EvalFeatureCache,
    build_eval_feature_cache,
    encode_images,
    split_order_problem,
)

logger = logging.getLogger(__name__)


class CachedEvaluationMixin:
    """Evaluation with the class prompts encoded once per run and the images' features cached per split."""

    _eval_text_features: torch.Tensor | None = None
    _last_test_result: float | None = None  # the last test's first metric (accuracy)
    _feature_cache_bypassed: frozenset[str] = frozenset()  # splits whose loader cannot use the cache (logged)

    @torch.no_grad()
    def test(self, split: str | None = None) -> float:
        """Evaluate with the class prompts encoded once for the whole run, not once per batch.

        With TEST.FEATURE_CACHE.ENABLED the images' features come from the evaluation feature cache
        (encoded and stored on a miss); otherwise, or when the split's loader does not yield it in
        order (`split_order_problem`, logged once per split), Dassl's loop encodes every image.
        """
        self.set_model_mode("eval")
        with self.precision.autocast():
            self._eval_text_features = self.model.encode_classes()
        try:
            evaluate = self.test_from_features if self._uses_feature_cache(split) else super().test
            self._last_test_result = evaluate(split)
            return self._last_test_result
        finally:
            self._eval_text_features = None

    def _uses_feature_cache(self, split: str | None) -> bool:
        """Whether this evaluation of `split` reads the feature cache; why not is logged once per split.

        Never for a model whose image features depend on learned prompts (`frozen_image_features`).
        """
        if not (self.cfg.TEST.FEATURE_CACHE.ENABLED and self.model.frozen_image_features):
            return False
        name, loader = evaluation_loader(split or self.cfg.TEST.SPLIT, self.val_loader, self.test_loader)
        problem = split_order_problem(loader)
        if problem and name not in self._feature_cache_bypassed:
            self._feature_cache_bypassed = self._feature_cache_bypassed | {name}
            logger.warning("The %s split is evaluated from its images, not the feature cache: %s", name, problem)
        return not problem

    def test_from_features(self, split: str | None = None) -> float:
        """Dassl's `test` on the split's cached image features: one product with the class features per batch."""
        split, loader = evaluation_loader(split or self.cfg.TEST.SPLIT, self.val_loader, self.test_loader)
        logger.info("Evaluate on the *%s* set", split)
        features, labels = self.eval_feature_cache.split_features(split, loader, self.encode_test_images)
        results = evaluate_features(features.to(self.device), labels.to(self.device), loader.batch_size,
                                    self.classify_features, self.evaluator)
        for name, value in results.items():
            self.write_scalar(f"{split}/{name}", value, self.epoch)
        return list(results.values())[0]

    @cached_property
    def eval_feature_cache(self) -> EvalFeatureCache:
        """The run's evaluation features, keyed by its frozen image encoder, precision and device."""
        assert self.model.frozen_image_features, "image features that depend on learned prompts are never cached"
        return build_eval_feature_cache(self.cfg, self.model.image_encoder, self.precision, self.device)

    def encode_test_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, D) features of a batch of test images under the run's precision, not normalised (as cached)."""
        return encode_images(self.model, self.precision, images)

    def classify_features(self, image_features: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of a batch of test image features (not normalised), encoded now or read from the cache."""
        with self.precision.autocast():
            normalised = F.normalize(image_features, dim=-1)  # as `encode_image` normalises in training
            return self.model.classify(normalised, self._eval_text_features).logits.float()

    def model_inference(self, image: torch.Tensor) -> torch.Tensor:
        """Logits of a test batch without the cache: its features, then the product with the class features."""
        return self.classify_features(self.encode_test_images(image))
