"""Splitting a labelled list into train/val/test per class, for datasets whose raw data has no split."""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

from mopd.backend import Datum
from mopd.data.splits import SplitTriple


def split_per_class(
    items: Sequence[Datum], p_trn: float = 0.5, p_val: float = 0.2, *, seed: int = 0
) -> SplitTriple:
    """Shuffle each class of `items` and cut it into round(n * p_trn) train, round(n * p_val) val, rest test.

    Classes are visited in first-appearance order; `seed` drives a local RNG.
    """
    if not (0.0 < p_trn < 1.0 and 0.0 < p_val < 1.0 and p_trn + p_val < 1.0):
        raise ValueError(f"p_trn={p_trn}, p_val={p_val} must be fractions in (0, 1) with p_trn + p_val < 1")
    by_label: dict[int, list[Datum]] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)

    rng = random.Random(seed)
    train: list[Datum] = []
    val: list[Datum] = []
    test: list[Datum] = []
    for label, members in by_label.items():
        n_train = round(len(members) * p_trn)
        n_val = round(len(members) * p_val)
        if n_train == 0 or n_val == 0 or len(members) - n_train - n_val <= 0:
            raise ValueError(
                f"class {label} ({members[0].classname!r}) has {len(members)} item(s), too few to split "
                f"into {p_trn:.0%} train / {p_val:.0%} val / rest test"
            )
        members = list(members)
        rng.shuffle(members)
        train.extend(members[:n_train])
        val.extend(members[n_train:n_train + n_val])
        test.extend(members[n_train + n_val:])
    return train, val, test
