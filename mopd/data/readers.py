"""Base classes of the readers in `datasets/`: the reading plumbing once, each reader a few attributes.

A reader declares where its data lives (`dataset_dir`, `image_folder`) and the names its messages
use (`config`, `section`). `DatasetReader.__init__` locates the folder, requires the image folder,
reads the full splits with the reader's one hook, checks that the classes can be told apart, applies
few-shot sampling and base/new subsampling (`build_dataset_splits`) and hands the result to Dassl's
`DatasetBase`:

- `SplitFileReader`: CoOp's split file, made from the raw annotations (hook `create_split`) when
  it is missing; by default from the class folders of the image folder (DTD, Food101, ...).
- `ImageNetVariantReader`: a test-only ImageNet variant, whose one test set is also the train set,
  as in CoOp (hook `read_test`).
- `ImageNetSubsetReader`: a test-only set of fixed WordNet-id class folders (ImageNet-A/-R).
- any other layout subclasses `DatasetReader` and defines `read_splits` (FGVCAircraft, ImageNet).

None of these is registered: each concrete reader registers itself under its class name.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

from mopd.backend import DatasetBase, Datum
from mopd.data.class_splits import split_class_folders
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.imagenet_classes import CLIP_SHARED_NAMES, classnames_of, find_classnames_file
from mopd.data.layout import (
    DatasetLocation,
    check_class_folders,
    locate_dataset,
    read_class_folders,
    read_or_create_split,
)
from mopd.data.splits import SplitTriple

# (train, val, test) items; val is None for a dataset without a val split of its own.
Splits = tuple[list[Datum], list[Datum] | None, list[Datum]]


def _parts(rel_path: str) -> list[str]:
    """The components of a "/"-separated path relative to the dataset folder."""
    return rel_path.split("/")


class DatasetReader(DatasetBase):
    """A dataset in DATASET.ROOT/`dataset_dir`, read by `read_splits`, then sampled as `cfg` says.

    After construction `dataset_dir` and `image_dir` are absolute paths.
    """

    dataset_dir = ""  # the dataset's folder under DATASET.ROOT, as CoOp's DATASETS.md names it
    config: ClassVar[str] = ""  # configs/datasets/<config>.yaml; also what `python -m mopd.data check` takes
    section: ClassVar[str] = ""  # heading of the dataset's section in CoOp's DATASETS.md
    image_folder: ClassVar[str] = ""  # "/"-separated folder of the images; "" is the dataset folder itself
    # Other folders a complete copy holds: "/"-separated path -> what error messages call it.
    required_folders: ClassVar[Mapping[str, str]] = {}
    val_is_test: ClassVar[bool] = False  # no val split of its own: validate on the test split (ImageNet)
    # Names that several classes may share (CLIP's ImageNet names); other classes CLIP reads alike are refused.
    shared_names: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, cfg: Any) -> None:
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name=type(self).__name__, config=self.config,
            section=self.section, cache_root=cfg.DATASET.SPLIT_CACHE_DIR,
        )
        self.dataset_dir = location.folder
        self.image_dir = location.folder
        if self.image_folder:
            self.image_dir = location.require_dir(*_parts(self.image_folder), what="image folder")
        for folder, what in self.required_folders.items():
            location.require_dir(*_parts(folder), what=what)
        train, val, test = self.read_splits(location)
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir,
            shared_names=self.shared_names,
        )
        super().__init__(train_x=train, val=test if self.val_is_test else val, test=test)

    def read_splits(self, location: DatasetLocation) -> Splits:
        """The dataset's full train, val (None if it has none) and test items, before any sampling."""
        raise NotImplementedError(f"{type(self).__name__} must define read_splits")


class SplitFileReader(DatasetReader):
    """A dataset whose split is CoOp's split file `split_file`, created by `create_split` when missing."""

    split_file: ClassVar[str] = ""  # CoOp's split file in the dataset folder, e.g. "split_zhou_Food101.json"
    split_sources: ClassVar[tuple[str, ...]] = ()  # raw files `create_split` reads ("/"-separated, relative)
    ignored_folders: ClassVar[tuple[str, ...]] = ()  # class folders the default `create_split` leaves out
    new_cnames: ClassVar[Mapping[str, str]] = {}  # class folder -> class name, for the default `create_split`

    def read_splits(self, location: DatasetLocation) -> Splits:
        """Read the split file; without it, create one from `split_sources` and save it beside the data."""
        sources = [location.path(*_parts(source)) for source in self.split_sources]
        split_path = location.path(self.split_file)
        return read_or_create_split(
            location, self.split_file, self.image_dir, lambda: self.create_split(sources, split_path),
            sources=sources,
        )

    def create_split(self, sources: list[str], split_path: str) -> SplitTriple:
        """A new split from the raw data: by default, each class folder of the image folder cut 50/20/30.

        `sources` are the absolute paths of `split_sources`; `split_path` is the split file's path.
        """
        return split_class_folders(self.image_dir, ignored=self.ignored_folders, new_cnames=self.new_cnames)


class ImageNetVariantReader(DatasetReader):
    """A test-only ImageNet variant (a domain-generalisation target): train is the test set, as in CoOp."""

    shared_names = CLIP_SHARED_NAMES

    def read_splits(self, location: DatasetLocation) -> Splits:
        """The test set as train and test, with no val split."""
        data = self.read_test(location)
        return data, None, data

    def read_test(self, location: DatasetLocation) -> list[Datum]:
        """Every item of the test set."""
        raise NotImplementedError(f"{type(self).__name__} must define read_test")


class ImageNetSubsetReader(ImageNetVariantReader):
    """A test-only ImageNet subset: image folder `<wnid>/*` for exactly the WordNet ids `wnids`.

    Label i is the i-th of the sorted `wnids`; class names come from `classnames.txt`.
    """

    wnids: ClassVar[tuple[str, ...]] = ()  # the subset's WordNet ids, sorted

    def read_test(self, location: DatasetLocation) -> list[Datum]:
        """The images of every class folder, after checking that the folders are exactly `wnids`."""
        check_class_folders(location, self.image_dir, self.wnids)
        classnames = classnames_of(self.wnids, find_classnames_file(location), image_dir=self.image_dir)
        return read_class_folders(self.image_dir, self.wnids, classnames)
