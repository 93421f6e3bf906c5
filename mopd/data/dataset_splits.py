"""The one call a dataset reader makes after reading its split: few-shot sampling, then base/new."""
from __future__ import annotations

from typing import Any, Sequence

from mopd.backend import Datum
from mopd.data.fewshot import sample_fewshot_splits
from mopd.data.subsample import Subsample, check_subsample, subsample_classes


def prepare_dataset_splits(
    train: Sequence[Datum],
    val: Sequence[Datum] | None,
    test: Sequence[Datum],
    *,
    num_shots: int,
    seed: int,
    subsample: Subsample,
    fewshot_dir: str,
    image_dir: str,
) -> tuple[list[Datum], list[Datum] | None, list[Datum]]:
    """Apply few-shot sampling (cached, when num_shots >= 1) then base/new class subsampling.

    `val=None` (datasets that validate on the test set, such as ImageNet) samples train only and
    returns None for val. Few-shot cache records are stored relative to `image_dir`.
    """
    check_subsample(subsample)
    if num_shots >= 1:
        train, val = sample_fewshot_splits(
            train, val, num_shots=num_shots, seed=seed, fewshot_dir=fewshot_dir, image_dir=image_dir
        )
    if val is None:
        train, test = subsample_classes(train, test, subsample=subsample)
        return train, None, test
    train, val, test = subsample_classes(train, val, test, subsample=subsample)
    return train, val, test


def build_dataset_splits(
    cfg: Any,
    train: Sequence[Datum],
    val: Sequence[Datum] | None,
    test: Sequence[Datum],
    *,
    fewshot_dir: str,
    image_dir: str,
) -> tuple[list[Datum], list[Datum] | None, list[Datum]]:
    """`prepare_dataset_splits` with DATASET.NUM_SHOTS, SEED and DATASET.SUBSAMPLE_CLASSES from `cfg`."""
    return prepare_dataset_splits(
        train,
        val,
        test,
        num_shots=cfg.DATASET.NUM_SHOTS,
        seed=cfg.SEED,
        subsample=cfg.DATASET.SUBSAMPLE_CLASSES,
        fewshot_dir=fewshot_dir,
        image_dir=image_dir,
    )
