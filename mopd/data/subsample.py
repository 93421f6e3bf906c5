"""Base-to-new class splitting: the first half of the labels are base classes, the rest new."""
from __future__ import annotations

import logging
import math
from typing import Literal, Sequence, get_args

from mopd.backend import Datum

logger = logging.getLogger(__name__)

Subsample = Literal["all", "base", "new"]
SUBSAMPLE_CHOICES: tuple[str, ...] = get_args(Subsample)


def check_subsample(subsample: str) -> None:
    """Raise ValueError unless `subsample` is one of SUBSAMPLE_CHOICES."""
    if subsample not in SUBSAMPLE_CHOICES:
        raise ValueError(
            f"DATASET.SUBSAMPLE_CLASSES={subsample!r} is not one of {list(SUBSAMPLE_CHOICES)}; "
            "use 'all' for every class, 'base' for the first half of the labels, 'new' for the rest"
        )


def subsample_classes(*splits: Sequence[Datum], subsample: Subsample = "all") -> tuple[list[Datum], ...]:
    """Keep the base or new classes of every split, as CoOp's base-to-new protocol does.

    The labels of the first split are sorted and cut at m = ceil(n / 2): base keeps the first
    m labels, new keeps the rest relabelled to 0, 1, ...; classnames are kept. `"all"` returns
    copies of the splits unchanged. Returns new lists of new Datum items, one per split.
    """
    check_subsample(subsample)
    if subsample == "all":
        return tuple(list(split) for split in splits)
    if not splits or not splits[0]:
        raise ValueError(f"cannot take the {subsample} classes of an empty split")

    labels = sorted({item.label for item in splits[0]})
    m = math.ceil(len(labels) / 2)
    selected = labels[:m] if subsample == "base" else labels[m:]
    relabel = {old: new for new, old in enumerate(selected)}
    logger.info("Keeping the %d %s classes of %d", len(selected), subsample, len(labels))
    return tuple(
        [
            Datum(impath=item.impath, label=relabel[item.label], domain=item.domain, classname=item.classname)
            for item in split
            if item.label in relabel
        ]
        for split in splits
    )
