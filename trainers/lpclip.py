"""Linear-probe CLIP: a logistic regression on CLIP's frozen image features (CoOp's `lpclip/`)."""
from __future__ import annotations

import logging
from functools import cached_property

import numpy as np
import torch
from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.feature_cache.evaluation import evaluate_features
from mopd.feature_cache.split_features import encode_split
from mopd.feature_cache.split_rows import loader_like, subset_rows
from mopd.methods.linear_probe import LinearProbe, search_probe
from mopd.prompts.prompted_clip import PromptedCLIP
from mopd.training.probe_file import load_probe, log_search, save_probe
from mopd.training.probe_inputs import ProbeSplit, probe_splits

from .coop import CoOp

logger = logging.getLogger(__name__)


@TRAINER_REGISTRY.register()
class LinearProbeCLIP(CoOp):
    """Linear-probe CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language
    Supervision", ICML 2021, arXiv:2103.00020), the few-shot baseline of CoOp (Zhou et al., IJCV 2022,
    arXiv:2109.01134) as its `lpclip/` runs it.

    Nothing is learned by gradient: `train` fits scikit-learn's logistic regression on the few-shot
    train images' features (test transform) and chooses its C on the few-shot val images
    (`mopd.methods.linear_probe`); the probe is saved as plain data (`mopd.training.probe_file`). The
    features are rows of whole splits read from the evaluation feature cache (`mopd.training.probe_inputs`).
    """

    def build_model(self) -> None:
        self.model = PromptedCLIP(self.build_clip_in_precision(), nn.Identity()).to(self.device).eval()
        self.probe: LinearProbe | None = None

    @cached_property
    def probe_splits(self) -> dict[str, ProbeSplit]:
        """The probe's train, val and test images and the whole splits they are rows of."""
        return probe_splits(self.cfg, self.dm.dataset)

    def resume_model_if_exist(self, directory: str) -> int:
        """Nothing to resume: a probe is fitted anew, in seconds, from cached features."""
        return 0

    def train(self) -> None:
        """Fit the probe, choosing C on the val images, save it, then run the final test."""
        self.before_train()
        train_features, train_labels = self.split_features("train")
        search = search_probe(train_features, train_labels, *self.split_features("val"))
        log_search(search)
        save_probe(self.output_dir, search, train_images=len(train_labels))
        self.probe = search.probe
        self.after_train()

    def load_model(self, directory: str, epoch: int | None = None) -> None:
        """Read a saved probe (`epoch` is ignored: a probe has one)."""
        if not directory:
            raise ValueError("LinearProbeCLIP evaluates a fitted probe: give --model-dir, the folder of a "
                             "LinearProbeCLIP training run")
        probe = load_probe(directory)
        if not np.array_equal(probe.classes, np.arange(self.num_classes)):
            raise ValueError(f"the linear probe in {directory} was fitted on {len(probe.classes)} classes, "
                             f"{self.cfg.DATASET.NAME} has {self.num_classes}: give the folder of a probe of "
                             "this dataset's classes")
        self.probe = probe

    @torch.no_grad()
    def test(self, split: str | None = None) -> float:
        """The evaluator's results of the probe on the test images (or the val images)."""
        name = "val" if (split or self.cfg.TEST.SPLIT) == "val" else "test"
        logger.info("Evaluate on the *%s* set", name)
        features, labels = self.split_features(name)
        results = evaluate_features(
            torch.from_numpy(features), torch.from_numpy(labels), self.cfg.DATALOADER.TEST.BATCH_SIZE,
            lambda rows: torch.from_numpy(self.probe.scores(rows.numpy())), self.evaluator,
        )
        for metric, value in results.items():
            self.write_scalar(f"{name}/{metric}", value, self.epoch)
        self._last_test_result = list(results.values())[0]
        return self._last_test_result

    def split_features(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(N, D) float64 features and (N,) labels of the probe's `name` images, from the whole split's features."""
        split = self.probe_splits[name]
        loader = loader_like(self.test_loader, split.whole)
        if self.cfg.TEST.FEATURE_CACHE.ENABLED:
            features, _ = self.eval_feature_cache.split_features(split.cached, loader, self.encode_test_images)
        else:
            features = encode_split(loader, self.encode_test_images, self.device)
        rows = subset_rows(split.whole, split.images)
        return features[rows].double().numpy(), np.array([item.label for item in split.images], dtype=np.int64)
