"""The one call a dataset reader makes after reading its split: class check, few-shot sampling, then base/new."""
from __future__ import annotations

import itertools
from operator import attrgetter
from typing import Any, Collection, Sequence

from mopd.backend import Datum
from mopd.data.distinct import require_distinct_classes
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
    shared_names: Collection[str] = (),
) -> tuple[list[Datum], list[Datum] | None, list[Datum]]:
    """Check the classes, then apply few-shot sampling (cached, when num_shots >= 1) and base/new subsampling.

    Every class of the three splits must have one name, which CLIP's tokenizer reads differently
    from every other class's (else ValueError naming them, before anything is written), except
    the `shared_names` the reader accepts. `val=None` (datasets that validate on the test set,
    such as ImageNet) samples train only and returns None for val. Few-shot cache records are
    stored relative to `image_dir`.
    """
    check_subsample(subsample)
    require_distinct_classes(
        map(attrgetter("label", "classname"), itertools.chain(train, val or (), test)),
        where=f"the dataset in {image_dir}", shared_names=shared_names,
    )
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
    shared_names: Collection[str] = (),
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
        shared_names=shared_names,
    )
