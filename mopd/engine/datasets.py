"""`Datum`, `DatasetBase` and `DATASET_REGISTRY` with Dassl's constructor arguments and helpers."""
from __future__ import annotations

import logging
import os
import os.path as osp
import random
from collections import defaultdict
from collections.abc import Sequence

from mopd.engine.registry import Registry

logger = logging.getLogger(__name__)

DATASET_REGISTRY = Registry("DATASET")


class Datum:
    """One labelled image: path, class label, domain label and class name."""

    def __init__(
        self, impath: str | os.PathLike = "", label: int = 0, domain: int = 0, classname: str = ""
    ) -> None:
        if not isinstance(impath, (str, os.PathLike)):
            raise TypeError(f"Datum impath must be a path string, got {type(impath).__name__}: {impath!r}")
        impath = os.fspath(impath)
        if not osp.isfile(impath):
            raise FileNotFoundError(
                f'Image file not found: "{impath}"; check DATASET.ROOT and that the dataset '
                "is fully extracted"
            )
        self._impath = impath
        self._label = label
        self._domain = domain
        self._classname = classname

    @property
    def impath(self) -> str:
        """Image path."""
        return self._impath

    @property
    def label(self) -> int:
        """Class label."""
        return self._label

    @property
    def domain(self) -> int:
        """Domain label."""
        return self._domain

    @property
    def classname(self) -> str:
        """Class name."""
        return self._classname


class DatasetBase:
    """Holds the train_x / train_u / val / test lists of `Datum` of one dataset."""

    dataset_dir = ""  # directory of the dataset under DATASET.ROOT
    domains: list[str] = []  # names of all domains (domain adaptation/generalisation datasets)

    def __init__(
        self,
        train_x: list[Datum] | None = None,
        train_u: list[Datum] | None = None,
        val: list[Datum] | None = None,
        test: list[Datum] | None = None,
    ) -> None:
        if not train_x:
            raise ValueError(
                f"{type(self).__name__} has no labelled training data (train_x is {train_x!r}); "
                "check DATASET.ROOT and the split files"
            )
        self._train_x = train_x
        self._train_u = train_u
        self._val = val
        self._test = test
        self._num_classes = self.get_num_classes(train_x)
        self._lab2cname, self._classnames = self.get_lab2cname(train_x)

    @property
    def train_x(self) -> list[Datum]:
        """Labelled training data."""
        return self._train_x

    @property
    def train_u(self) -> list[Datum] | None:
        """Unlabelled training data (optional)."""
        return self._train_u

    @property
    def val(self) -> list[Datum] | None:
        """Validation data (optional)."""
        return self._val

    @property
    def test(self) -> list[Datum] | None:
        """Test data."""
        return self._test

    @property
    def lab2cname(self) -> dict[int, str]:
        """Mapping label -> class name (from train_x)."""
        return self._lab2cname

    @property
    def classnames(self) -> list[str]:
        """Class names ordered by label."""
        return self._classnames

    @property
    def num_classes(self) -> int:
        """Largest train_x label + 1."""
        return self._num_classes

    @staticmethod
    def get_num_classes(data_source: Sequence[Datum]) -> int:
        """Return the largest label in `data_source` plus one."""
        return max(item.label for item in data_source) + 1

    @staticmethod
    def get_lab2cname(data_source: Sequence[Datum]) -> tuple[dict[int, str], list[str]]:
        """Return ({label: classname}, classnames sorted by label) for `data_source`."""
        mapping = {item.label: item.classname for item in data_source}
        labels = sorted(mapping)
        return {label: mapping[label] for label in labels}, [mapping[label] for label in labels]

    def check_input_domains(self, source_domains: Sequence[str], target_domains: Sequence[str]) -> None:
        """Raise ValueError unless both domain lists are non-empty and known."""
        if not source_domains or not target_domains:
            raise ValueError(
                f"DATASET.SOURCE_DOMAINS ({list(source_domains)}) and DATASET.TARGET_DOMAINS "
                f"({list(target_domains)}) must both be set; choose from {self.domains}"
            )
        self.is_input_domain_valid(source_domains)
        self.is_input_domain_valid(target_domains)

    def is_input_domain_valid(self, input_domains: Sequence[str]) -> None:
        """Raise ValueError for a domain name not in `self.domains`."""
        for domain in input_domains:
            if domain not in self.domains:
                raise ValueError(f"Input domain must belong to {self.domains}, but got [{domain}]")

    def generate_fewshot_dataset(
        self, *data_sources: list[Datum], num_shots: int = -1, repeat: bool = False
    ) -> list[Datum] | list[list[Datum]] | tuple[list[Datum], ...]:
        """Sample `num_shots` items per class from each data source (Dassl's semantics and RNG use).

        Classes with fewer items keep them all, or are sampled with replacement when `repeat`.
        `num_shots < 1` returns the inputs unchanged. One source in gives one list out.
        """
        if num_shots < 1:
            return data_sources[0] if len(data_sources) == 1 else data_sources
        logger.info("Creating a %d-shot dataset", num_shots)
        output = []
        for data_source in data_sources:
            sampled: list[Datum] = []
            for items in self.split_dataset_by_label(data_source).values():
                if len(items) >= num_shots:
                    sampled.extend(random.sample(items, num_shots))
                elif repeat:
                    sampled.extend(random.choices(items, k=num_shots))
                else:
                    sampled.extend(items)
            output.append(sampled)
        return output[0] if len(output) == 1 else output

    def split_dataset_by_label(self, data_source: Sequence[Datum]) -> defaultdict[int, list[Datum]]:
        """Group items by label, in order of first appearance."""
        output: defaultdict[int, list[Datum]] = defaultdict(list)
        for item in data_source:
            output[item.label].append(item)
        return output

    def split_dataset_by_domain(self, data_source: Sequence[Datum]) -> defaultdict[int, list[Datum]]:
        """Group items by domain, in order of first appearance."""
        output: defaultdict[int, list[Datum]] = defaultdict(list)
        for item in data_source:
            output[item.domain].append(item)
        return output
