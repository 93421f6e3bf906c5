"""Whether a dataset under the data root is ready, and a report of what is missing and how to get it.

Readers in datasets/ call `ensure_ready(root, name)` (or `check_dataset` + `format_report`) so a
missing dataset stops with the same message that `python -m mopd.data check` prints. A dataset is
ready when its required files are there and, in those that list images or classes (split files,
few-shot caches, class-name lists), nothing that training refuses (`content_problems`).
"""
from __future__ import annotations

import glob
import os
import shlex
from typing import Callable, Sequence

from mopd.data.annotations import read_text_lines
from mopd.data.catalog import DatasetEntry, get_entry
from mopd.data.distinct import clashing_classes, repeated_images
from mopd.data.fewshot import load_fewshot_records
from mopd.data.imagenet_classes import CLASSNAMES_FILE, CLIP_SHARED_NAMES, read_imagenet_classnames
from mopd.data.layout import FEWSHOT_FOLDER
from mopd.data.splits import load_split_records

# Files whose lines name a dataset's classes in label order: how to read the names, and the names
# that several classes may share there (see `mopd.data.imagenet_classes`).
_CLASS_LISTS: dict[str, tuple[Callable[[str], list[str]], frozenset[str]]] = {
    CLASSNAMES_FILE: (lambda path: list(read_imagenet_classnames(path).values()), CLIP_SHARED_NAMES),
    "variants.txt": (read_text_lines, frozenset()),  # FGVCAircraft
}


def dataset_dir(root: str, name: str) -> str:
    """The folder of dataset `name` under the data root."""
    return os.path.join(os.path.abspath(os.path.expanduser(root)), get_entry(name).folder)


def item_present(folder: str, item: str) -> bool:
    """Whether a required item exists in `folder`: a non-empty folder for "x/", a file otherwise."""
    path = os.path.join(folder, item.rstrip("/"))
    if item.endswith("/"):
        return os.path.isdir(path) and any(True for _ in os.scandir(path))
    return os.path.isfile(path)


def missing_items(folder: str, entry: DatasetEntry) -> list[str]:
    """The entry's required items (relative, "x/" for folders) that `folder` lacks."""
    return [item for item in entry.required if not item_present(folder, item)]


def _full_path(folder: str, item: str) -> str:
    """A required item as a full path; folders keep a trailing separator."""
    path = os.path.join(folder, item.rstrip("/"))
    return path + os.sep if item.endswith("/") else path


def _require_root(root: str) -> str:
    """The absolute data root; a missing one raises FileNotFoundError saying how to set it."""
    absolute = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(absolute):
        raise FileNotFoundError(
            f"data root {absolute} does not exist; point --root (or $DATA) at the folder "
            f"that holds the datasets, or create it and run `python -m mopd.data prepare DATASET --root {root}`"
        )
    return absolute


def check_dataset(root: str, name: str) -> list[str]:
    """Full paths of the required files and folders (trailing separator) of `name` missing under `root`."""
    absolute = _require_root(root)
    folder = os.path.join(absolute, get_entry(name).folder)
    return [_full_path(folder, item) for item in missing_items(folder, get_entry(name))]


def _is_split_file(item: str) -> bool:
    """Whether a required item is a CoOp split file (`split_zhou_<Dataset>.json`, `split_synthetic.json`)."""
    return item.startswith("split_") and item.endswith(".json")


def _split_file_problems(path: str) -> list[str]:
    """Repeated images and classes CLIP cannot tell apart in the split file at `path`."""
    try:
        records = load_split_records(path)
    except ValueError as err:
        return [str(err)]
    pairs = ((label, classname) for split in records.values() for _, label, classname in split)
    return [f"split file {path} lists {problem}" for problem in repeated_images(records)] + [
        f"split file {path}: {problem}" for problem in clashing_classes(pairs, where=path)
    ]


def _class_list_problems(path: str, read: Callable[[str], list[str]], shared_names: frozenset[str]) -> list[str]:
    """Classes CLIP cannot tell apart in a file that names one class per line, in label order."""
    try:
        names = read(path)
    except ValueError as err:
        return [str(err)]
    problems = clashing_classes(enumerate(names), shared_names=shared_names, where=path)
    return [f"{path}: {problem}" for problem in problems]


def _fewshot_problems(folder: str) -> list[str]:
    """Repeated images in the few-shot caches of the dataset folder (`split_fewshot/`)."""
    problems = []
    for path in sorted(glob.glob(os.path.join(folder, FEWSHOT_FOLDER, "shot_*-seed_*.json"))):
        try:
            records = load_fewshot_records(path)
        except ValueError as err:
            problems.append(str(err))
            continue
        problems += [f"few-shot cache {path} lists {problem}" for problem in repeated_images(records)]
    return problems


def content_problems(root: str, name: str) -> list[str]:
    """What training would refuse in the files of `name` that are present, one line each.

    Split files and few-shot caches that list an image twice or under two labels, a malformed
    such file, and classes (in a split file or a class-name list) that CLIP cannot tell apart.
    """
    entry = get_entry(name)
    folder = os.path.join(_require_root(root), entry.folder)
    problems = []
    for item in entry.required:
        path = os.path.join(folder, item)
        if not os.path.isfile(path):
            continue
        if _is_split_file(item):
            problems += _split_file_problems(path)
        elif item in _CLASS_LISTS:
            problems += _class_list_problems(path, *_CLASS_LISTS[item])
    return problems + _fewshot_problems(folder)


def _relative_item(folder: str, path: str) -> str:
    """Inverse of `_full_path`: the catalog item for a full path inside `folder`."""
    relative = os.path.relpath(path, folder).replace(os.sep, "/")
    return relative + "/" if path.endswith(os.sep) else relative


def format_report(root: str, name: str, missing: list[str], problems: Sequence[str] = ()) -> str:
    """A few lines saying that `name` is ready, or which paths are missing and how to get them, and what is wrong.

    `problems` are lines of `content_problems`.
    """
    entry = get_entry(name)
    folder = os.path.join(os.path.abspath(os.path.expanduser(root)), entry.folder)
    if not missing and not problems:
        return f"{entry.name}: ready ({folder})"
    counts = [f"{len(missing)} missing"] if missing else []
    if problems:
        counts.append(f"{len(problems)} problem(s)")
    lines = [f"{entry.name}: NOT READY, {' and '.join(counts)} in {folder}:"]
    lines += [f"  missing: {path}" for path in missing]
    lines += [f"  problem: {problem}" for problem in problems]
    if missing:
        lines += _how_to_get(root, entry, folder, missing)
    return "\n".join(lines)


def _how_to_get(root: str, entry: DatasetEntry, folder: str, missing: list[str]) -> list[str]:
    """The lines saying how to get the `missing` paths: the prepare command, the manual step, or both."""
    items = [_relative_item(folder, path) for path in missing]
    by_download = [item for item in items if any(item in s.provides for s in entry.sources if s.public)]
    command = f"python -m mopd.data prepare {entry.name} --root {shlex.quote(root)}"
    if len(by_download) == len(items):
        return [f"  to get them: {command}"]
    lines = [f"  to get {', '.join(by_download)}: {command}"] if by_download else []
    return lines + [f"  manual step: {entry.manual}"]


def ensure_ready(root: str, name: str) -> None:
    """Raise FileNotFoundError with the `format_report` message unless dataset `name` is ready."""
    missing = check_dataset(root, name)
    if missing:
        raise FileNotFoundError(format_report(root, name, missing))
