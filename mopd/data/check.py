"""Whether a dataset under the data root is ready, and a report of what is missing and how to get it.

Readers in datasets/ call `ensure_ready(root, name)` (or `check_dataset` + `format_report`) so a
missing dataset stops with the same message that `python -m mopd.data check` prints.
"""
from __future__ import annotations

import os
import shlex

from mopd.data.catalog import DatasetEntry, get_entry


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


def _relative_item(folder: str, path: str) -> str:
    """Inverse of `_full_path`: the catalog item for a full path inside `folder`."""
    relative = os.path.relpath(path, folder).replace(os.sep, "/")
    return relative + "/" if path.endswith(os.sep) else relative


def format_report(root: str, name: str, missing: list[str]) -> str:
    """A few lines saying that `name` is ready, or which paths are missing and how to get them."""
    entry = get_entry(name)
    folder = os.path.join(os.path.abspath(os.path.expanduser(root)), entry.folder)
    if not missing:
        return f"{entry.name}: ready ({folder})"
    lines = [f"{entry.name}: NOT READY, {len(missing)} missing in {folder}:"]
    lines += [f"  missing: {path}" for path in missing]
    items = [_relative_item(folder, path) for path in missing]
    by_download = [item for item in items if any(item in s.provides for s in entry.sources if s.public)]
    command = f"python -m mopd.data prepare {entry.name} --root {shlex.quote(root)}"
    if len(by_download) == len(items):
        lines.append(f"  to get them: {command}")
        return "\n".join(lines)
    if by_download:
        lines.append(f"  to get {', '.join(by_download)}: {command}")
    lines.append(f"  manual step: {entry.manual}")
    return "\n".join(lines)


def ensure_ready(root: str, name: str) -> None:
    """Raise FileNotFoundError with the `format_report` message unless dataset `name` is ready."""
    missing = check_dataset(root, name)
    if missing:
        raise FileNotFoundError(format_report(root, name, missing))
