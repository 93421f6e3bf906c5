"""The on-disk store of evaluation features: one `.feat` file per key, shared safely by concurrent jobs."""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from mopd.files.atomic import file_lock, lock_path
from mopd.feature_cache.file_format import (
    FORMAT_VERSION,
    DamagedFeatureFile,
    OtherFormatVersion,
    read_feature_file,
    read_feature_header,
    write_feature_file,
)
from mopd.feature_cache.image_digest import ImageDigests
from mopd.feature_cache.key import FeatureKey

logger = logging.getLogger(__name__)

FEATURE_SUFFIX = ".feat"
IMAGE_DIGEST_FOLDER = "image_digests"


@dataclass(frozen=True)
class StoredEntry:
    """One feature file as `--status` reports it."""

    path: str
    size_bytes: int
    header: dict[str, Any] | None  # None when the file is damaged
    problem: str  # why the file is unusable; "" when its header checks out
    newer_format: bool = False  # unusable because a newer version of the repository wrote it


@contextlib.contextmanager
def _removed_on_error(paths: list[str]) -> Iterator[None]:
    """Remove those of `paths` (files, then folders left empty) that the block created, when it raises."""
    new = [path for path in paths if not os.path.exists(path)]
    try:
        yield
    except BaseException:
        for path in new:
            with contextlib.suppress(OSError):  # another job's file in the folder: it stays
                os.rmdir(path) if os.path.isdir(path) else os.remove(path)
        raise


class FeatureStore:
    """Feature files under `root`, written once and read by every job that needs the same features.

    A file appears whole (written under a temporary name, then renamed), so readers take no lock. A
    job that misses takes the file's lock (`mopd.files.atomic.file_lock`: an exclusive `flock` on the
    sidecar `.<file>.lock`), looks again and only then computes and writes: concurrent jobs of a
    study encode a split once, the others wait and read. The kernel releases the lock when its
    holder ends, a crash included. The digests of the splits' images are recorded beside the
    features, in `image_digests/` (`ImageDigests`).
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.image_digests = ImageDigests(os.path.join(self.root, IMAGE_DIGEST_FOLDER))

    def path_of(self, key: FeatureKey) -> str:
        """The file that holds (or will hold) the features of `key`."""
        return os.path.join(self.root, key.relative_path())

    def load(self, key: FeatureKey, report_damage: bool = True) -> torch.Tensor | None:
        """The stored (N, D) features of `key`; None when absent, or damaged (reported with a warning)."""
        path = self.path_of(key)
        try:
            header, features = read_feature_file(path)
            if header["key"] != key.as_dict():
                raise DamagedFeatureFile(f"{path} holds the features of another key")
        except FileNotFoundError:
            return None
        except DamagedFeatureFile as err:
            if report_damage:
                logger.warning("Damaged feature cache file, recomputing it: %s", err)
            return None
        return features

    def load_or_compute(self, key: FeatureKey, compute: Callable[[], torch.Tensor],
                        images: list[str]) -> tuple[torch.Tensor, bool]:
        """The features of `key` and whether they came from the store; on a miss `compute()` fills it.

        `images` are the paths of the N images, in row order: the file records them (`--status`
        checks them against the files on disk).

        A file that cannot be written (disk full, say) is reported and the computed features are
        returned all the same: the evaluation does not depend on the cache. When `compute` raises (an
        image that cannot be decoded), the lock file and folders made for it are removed again.
        """
        features = self.load(key, report_damage=False)
        if features is not None:
            return features, True
        path = self.path_of(key)
        with _removed_on_error([lock_path(path), os.path.dirname(path), self.root]), \
                file_lock(path, on_wait=lambda: logger.info("Another job is computing %s; waiting for it", path)):
            features = self.load(key)
            if features is not None:
                return features, True
            features = compute()
            try:
                write_feature_file(path, key.as_dict(), features, images)
            except OSError as err:
                logger.warning("Could not write the feature cache file %s (%s); evaluating without it", path, err)
        return features, False

    def entries(self) -> list[StoredEntry]:
        """Every feature file under the root, with its header or what is wrong with it, sorted by path."""
        found = []
        for folder, _, names in os.walk(self.root):
            for name in sorted(names):
                if not name.endswith(FEATURE_SUFFIX):
                    continue
                found.append(self.entry(os.path.join(folder, name)))
        return sorted(found, key=lambda entry: entry.path)

    @staticmethod
    def entry(path: str) -> StoredEntry:
        """The feature file at `path`, with its header or what is wrong with it; FileNotFoundError when it is gone."""
        try:
            header, problem, newer = read_feature_header(path), "", False
        except OtherFormatVersion as err:
            header, problem = None, str(err)
            newer = isinstance(err.version, int) and err.version > FORMAT_VERSION
        except DamagedFeatureFile as err:
            header, problem, newer = None, str(err), False
        return StoredEntry(path, os.path.getsize(path), header, problem, newer)
