"""Finding a dataset's files under DATASET.ROOT, with one message format for whatever is missing.

The readers in `datasets/` (through their base classes in `mopd.data.readers`) locate their
folder with `locate_dataset`, require the files they read (`DatasetLocation.require_dir` /
`require_file`) and read CoOp's split file with `read_or_create_split`. Every missing-data error
names the missing path, the data root, the section of CoOp's DATASETS.md to follow and the
`python -m mopd.data check` command.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Callable, Sequence

from mopd.backend import Datum
from mopd.data.splits import SplitTriple, load_or_create_split, read_split

logger = logging.getLogger(__name__)

FEWSHOT_FOLDER = "split_fewshot"  # CoOp's folder of cached few-shot splits, inside the dataset folder


def split_cache_folder(dataset_folder: str, cache_root: str) -> str:
    """Where the split files derived from a dataset are written (DATASET.SPLIT_CACHE_DIR is `cache_root`).

    The dataset folder itself, as in CoOp, when `cache_root` is ""; else `cache_root/<name of the
    dataset folder>`, for a data root that is read-only.
    """
    if not cache_root:
        return dataset_folder
    return os.path.join(os.path.abspath(os.path.expanduser(cache_root)), os.path.basename(dataset_folder))


def fewshot_folder(dataset_folder: str, cache_root: str) -> str:
    """Folder of the cached few-shot splits of a dataset (`split_fewshot/` of its split cache folder)."""
    return os.path.join(split_cache_folder(dataset_folder, cache_root), FEWSHOT_FOLDER)


@dataclass(frozen=True)
class DatasetLocation:
    """A dataset's folder under DATASET.ROOT, and the names that messages about it use."""

    name: str  # registered class name (DATASET.NAME), e.g. "DescribableTextures"
    config: str  # configs/datasets/<config>.yaml; also the name `python -m mopd.data check` takes
    section: str  # heading of the dataset's section in CoOp's DATASETS.md, e.g. "DTD"
    root: str  # absolute DATASET.ROOT
    folder: str  # absolute path of the dataset's folder
    cache_root: str = ""  # DATASET.SPLIT_CACHE_DIR: where derived split files go ("" = the dataset folder)

    def path(self, *parts: str) -> str:
        """Path of `parts` inside the dataset folder."""
        return os.path.join(self.folder, *parts)

    @property
    def fewshot_dir(self) -> str:
        """Folder of the cached few-shot splits (`split_fewshot/`, as in CoOp, or under SPLIT_CACHE_DIR)."""
        return fewshot_folder(self.folder, self.cache_root)

    def cache_path(self, *parts: str) -> str:
        """Path of `parts` in the folder that receives this dataset's derived split files."""
        return os.path.join(split_cache_folder(self.folder, self.cache_root), *parts)

    def missing(self, problem: str) -> FileNotFoundError:
        """The error a reader raises when `problem` (what is missing, and where) stops it."""
        return FileNotFoundError(
            f"{self.name}: {problem}. DATASET.ROOT is {self.root}; prepare the dataset there as the "
            f"{self.section} section of CoOp's DATASETS.md describes, then run "
            f"`python -m mopd.data check --root {self.root} {self.config}` to check its layout"
        )

    def require_dir(self, *parts: str, what: str) -> str:
        """Path of folder `parts` in the dataset folder; FileNotFoundError naming `what` if absent."""
        path = self.path(*parts)
        if not os.path.isdir(path):
            raise self.missing(f"the {what} {path} does not exist")
        return path

    def require_file(self, *parts: str, what: str) -> str:
        """Path of file `parts` in the dataset folder; FileNotFoundError naming `what` if absent."""
        path = self.path(*parts)
        if not os.path.isfile(path):
            raise self.missing(f"the {what} {path} does not exist")
        return path


def locate_dataset(
    root: str, folder: str, *, name: str, config: str, section: str, cache_root: str = ""
) -> DatasetLocation:
    """Resolve `root/folder` (user and relative paths expanded); FileNotFoundError if it is absent.

    `cache_root` is DATASET.SPLIT_CACHE_DIR (see `split_cache_folder`).
    """
    if not root:
        raise FileNotFoundError(
            f"{name}: DATASET.ROOT is empty; pass --root (or set $DATA for the scripts) to the folder "
            f"that holds `{folder}/`"
        )
    abs_root = os.path.abspath(os.path.expanduser(root))
    location = DatasetLocation(
        name=name, config=config, section=section, root=abs_root, folder=os.path.join(abs_root, folder),
        cache_root=cache_root,
    )
    location.require_dir(what="dataset folder")
    return location


def list_subfolders(folder: str) -> list[str]:
    """Sorted names of the visible sub-folders of `folder` (files and dot-entries skipped)."""
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def list_files(folder: str) -> list[str]:
    """Sorted names of the visible files in `folder` (sub-folders and dot-entries skipped)."""
    return sorted(e.name for e in os.scandir(folder) if e.is_file() and not e.name.startswith("."))


def require_class_folders(location: DatasetLocation, image_dir: str) -> list[str]:
    """Sorted class folders of `image_dir`; FileNotFoundError if it has none."""
    folders = list_subfolders(image_dir)
    if not folders:
        raise location.missing(f"the image folder {image_dir} has no class folders")
    return folders


def check_class_folders(location: DatasetLocation, image_dir: str, expected: Sequence[str]) -> None:
    """Require `image_dir` to hold exactly the class folders `expected` (label order depends on it).

    A missing folder raises FileNotFoundError, a folder beyond `expected` ValueError.
    """
    found = set(list_subfolders(image_dir))
    missing = [folder for folder in expected if folder not in found]
    if missing:
        raise location.missing(
            f"{len(missing)} of the {len(expected)} class folders are missing from {image_dir}, e.g. "
            f"{missing[:5]}; extract the dataset completely"
        )
    extra = sorted(found - set(expected))
    if extra:
        raise ValueError(
            f"{location.name}: {image_dir} holds {len(extra)} folder(s) that are not among its "
            f"{len(expected)} classes, e.g. {extra[:5]}; remove them"
        )


def read_class_folders(image_dir: str, folders: Sequence[str], classnames: Sequence[str]) -> list[Datum]:
    """Items of an `image_dir/<folder>/<image>` tree: `folders[i]` holds class i, named `classnames[i]`.

    Images are listed in sorted order, so the result (and few-shot sampling from it) does not
    depend on the file system's listing order.
    """
    assert len(folders) == len(classnames), "one class name per folder"
    items = []
    for label, (folder, classname) in enumerate(zip(folders, classnames)):
        class_dir = os.path.join(image_dir, folder)
        items.extend(
            Datum(impath=os.path.join(class_dir, name), label=label, classname=classname)
            for name in list_files(class_dir)
        )
    return items


def read_or_create_split(
    location: DatasetLocation,
    split_file: str,
    image_dir: str,
    create: Callable[[], SplitTriple],
    *,
    sources: Sequence[str] = (),
) -> SplitTriple:
    """Read CoOp's split file `split_file`, or create it with `create()` from the raw annotations.

    The split file is looked for in the dataset folder, then in its split cache folder
    (DATASET.SPLIT_CACHE_DIR). `sources` are the raw files `create` reads; when the split file and
    any of them are missing, FileNotFoundError names both. A created split is saved in CoOp's
    format in the split cache folder; it is a new random split, so a warning says that results
    will not match published numbers.
    """
    split_path = location.path(split_file)
    created_path = location.cache_path(split_file)
    for path in dict.fromkeys((split_path, created_path)):
        if os.path.isfile(path):
            return read_split(path, image_dir)
    missing_sources = [path for path in sources if not os.path.exists(path)]
    if missing_sources:
        raise location.missing(
            f"the split file {split_path} does not exist, nor does {', '.join(missing_sources)}, "
            f"from which it could be created; download {split_file} (link in DATASETS.md) into "
            f"{location.folder}"
        )
    logger.warning(
        "%s: %s not found; creating a new random split from the raw annotations. Results on it are "
        "not comparable with published numbers; download %s (link in CoOp's DATASETS.md) for those",
        location.name, split_path, split_file,
    )
    return load_or_create_split(created_path, image_dir, create)
