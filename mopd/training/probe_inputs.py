"""The images a linear probe is fitted, validated and tested on, and the whole splits the cache reads them from.

CoOp's `lpclip/` encodes the whole train and val splits once, then samples each run's few-shot
images from them (K per class for training, min(K, 4) for validation). Ours takes the same numbers
of images from the run's few-shot split file (`split_fewshot/shot_K-seed_S.json`), so a probe sees
the images the prompt learners of the same seed see, and reads their features as rows of the whole
splits, which the evaluation feature cache encodes once for every probe of a study. A dataset that
validates on its test split (ImageNet) keeps no val images in its split file: min(K, 4) test images
per class are drawn with `random.Random(SEED)`, as CoOp's script draws them from the same set.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.fewshot import MAX_VAL_SHOTS, generate_fewshot

PROBE_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ProbeSplit:
    """The images of one probe split and the whole cached split they are rows of."""

    cached: str  # the split whose features are cached: train, val or test
    whole: list[Datum]  # every image of that split, in split order: the rows of its feature file
    images: list[Datum]  # the probe's images; train and val class by class in ascending label order


def probe_splits(cfg: Any, dataset: Any) -> dict[str, ProbeSplit]:
    """The train, val and test images of a probe run of `dataset` (read with the run's `cfg`)."""
    if not dataset.val:
        raise ValueError(f"{cfg.DATASET.NAME} has no validation split, on which the linear probe chooses C; "
                         "choose a dataset with one")
    whole = dataset if cfg.DATASET.NUM_SHOTS < 1 else _whole_dataset(cfg)
    validates_on_test = _paths(whole.val) == _paths(whole.test)
    val = dataset.val
    if validates_on_test and cfg.DATASET.NUM_SHOTS >= 1:
        val = generate_fewshot(val, min(cfg.DATASET.NUM_SHOTS, MAX_VAL_SHOTS), random.Random(cfg.SEED))
    return {
        "train": ProbeSplit("train", list(whole.train_x), _by_label(dataset.train_x)),
        "val": ProbeSplit("test", list(whole.test), _by_label(val)) if validates_on_test
        else ProbeSplit("val", list(whole.val), _by_label(val)),
        "test": ProbeSplit("test", list(dataset.test), list(dataset.test)),
    }


def _whole_dataset(cfg: Any) -> Any:
    """The dataset of `cfg` without few-shot sampling: its whole train and val splits."""
    whole = cfg.clone()
    whole.defrost()
    whole.DATASET.NUM_SHOTS = -1
    whole.freeze()
    return DATASET_REGISTRY.get(whole.DATASET.NAME)(whole)


def _by_label(items: list[Datum]) -> list[Datum]:
    """`items` class by class, ascending labels, each class in its given order: lpclip's order of a sampled set."""
    return sorted(items, key=lambda item: item.label)


def _paths(items: list[Datum] | None) -> list[str]:
    return [item.impath for item in items or ()]
