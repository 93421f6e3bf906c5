"""Any split read as the test split is (the probes' train and val images), and the rows of a subset of it.

A linear probe is fitted on the features of the few-shot train and val images encoded with the test
transform, as CoOp's `lpclip/` extracts them. The cache stores whole splits: the train and val
splits are read through a loader built like the test loader (`loader_like`), so their keys are
those any evaluation of them would have, and every probe of a study, whatever its shot count and
seed, takes its images' rows (`subset_rows`) from the same two files.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from torch.utils.data import DataLoader


def loader_like(loader: Any, items: Sequence[Any]) -> DataLoader:
    """A sequential loader of `items` built as `loader` is: its dataset wrapper, transform, batch size and workers."""
    wrapper = loader.dataset
    dataset = type(wrapper)(wrapper.cfg, list(items), transform=wrapper.transform, is_train=False)
    return DataLoader(dataset, batch_size=loader.batch_size, shuffle=False, num_workers=loader.num_workers,
                      drop_last=False, pin_memory=loader.pin_memory)


def subset_rows(split: Sequence[Any], subset: Sequence[Any]) -> list[int]:
    """The row of each `subset` item (a Datum) in `split`, found by image path, in subset order.

    ValueError when an image of the subset is not in the split, or is there under another label.
    """
    rows = {os.path.normpath(item.impath): row for row, item in enumerate(split)}
    found = []
    for item in subset:
        row = rows.get(os.path.normpath(item.impath))
        if row is None or split[row].label != item.label:
            where = "is not in" if row is None else f"has label {split[row].label} in"
            raise ValueError(f"{item.impath} (label {item.label}) {where} the whole split; the few-shot split "
                             "file was sampled from another version of the split: delete it so that it is resampled")
        found.append(row)
    return found
