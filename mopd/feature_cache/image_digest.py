"""The digest of an evaluation split's image files: their bytes, hashed again only after a file's status changed.

The cache key holds a sha256 over every image's path and the sha256 of its bytes, so a hit needs the
very bytes the features were computed from, whatever a copy tool keeps: `cp -p`, `rsync -a` and
`tar` restore modification times, and a same-size replacement then passes a size-and-time check.
Hashing ImageNet's 50,000 test images reads about 6 GB, too much before every evaluation, so the digest
is recorded in the cache folder under the split's *stat signature*: every image's path, size, inode
number, modification time and inode change time. No tool can set the change time (`st_ctime_ns`):
any write, replacement, chmod or copy moves it on. An evaluation stats the images and takes the
recorded digest when the signature has one; otherwise it hashes the bytes. A changed status thus
costs a re-hash (after a chmod, or on a copy of the data on another disk), never a stale digest.
File systems without a change time of their own (squashfs, some FUSE mounts) report the
modification time in its place: there `check="content"` hashes at every evaluation.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from mopd.files.atomic import atomic_path

logger = logging.getLogger(__name__)

ImageCheck = Literal["stat", "content"]
IMAGE_CHECKS: tuple[ImageCheck, ...] = ("stat", "content")
RECORD_SUFFIX = ".json"
_THREADS = 8  # stat and read from a few threads: on a network file system each call waits for the server
_CHUNK_BYTES = 1 << 20
# A file changed this recently may change again within the same timestamp tick (1-2 s on some file
# systems, and the server's clock on NFS), leaving its signature as it was: such digests are not recorded.
SETTLED_NS = 10 * 10**9


@dataclass(frozen=True)
class SplitImages:
    """The digest of a split's images, the signature it was found under and whether it may be recorded."""

    images_digest: str  # sha256 over (path, sha256 of the bytes) of every image, in split order
    stat_digest: str  # sha256 over (path, size, inode, mtime, ctime) of every image, in split order
    recordable: bool  # hashed now, from files that had not changed for SETTLED_NS


def stat_images(paths: Sequence[str]) -> list[os.stat_result | None]:
    """`os.stat` of every path (None where a file does not exist), from a few threads; no file is opened."""
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        return list(pool.map(_stat_or_none, paths, chunksize=256))


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def stat_digest(paths: Sequence[str], stats: Sequence[os.stat_result]) -> str:
    """sha256 over each image's path, size, inode number, modification and inode change time (ns), in order."""
    digest = hashlib.sha256()
    for path, info in zip(paths, stats, strict=True):
        digest.update(f"{path}\t{info.st_size}\t{info.st_ino}\t{info.st_mtime_ns}\t{info.st_ctime_ns}\n".encode())
    return digest.hexdigest()


def content_digest(paths: Sequence[str]) -> str:
    """sha256 over each image's path and the sha256 of its bytes, in order; the files are read from a few threads."""
    digest = hashlib.sha256()
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        for path, file_digest in zip(paths, pool.map(file_sha256, paths, chunksize=64)):
            digest.update(f"{path}\t{file_digest}\n".encode())
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def missing_image_error(path: str) -> FileNotFoundError:
    """The error of an evaluation whose image file is gone."""
    return FileNotFoundError(f'Image file not found: "{path}" (was it moved or deleted?)')


class ImageDigests:
    """Split digests recorded under their stat signatures: one small JSON file per signature in `folder`.

    A record is written once, atomically, and never changed (its signature decides its digest), so
    concurrent jobs need no lock: they write the same bytes.
    """

    def __init__(self, folder: str) -> None:
        self.folder = os.path.abspath(folder)

    def digest(self, paths: Sequence[str], check: ImageCheck = "stat") -> SplitImages:
        """The digest of the images at `paths`; FileNotFoundError naming the first one that is missing.

        `check` "stat" takes a recorded digest when the signature has one; "content" always hashes.
        """
        stats = stat_images(paths)
        for path, info in zip(paths, stats):
            if info is None:
                raise missing_image_error(path)
        return self.digest_of_stats(paths, stats, check)

    def digest_of_stats(self, paths: Sequence[str], stats: Sequence[os.stat_result], check: ImageCheck) -> SplitImages:
        """`digest` from the images' `stats`, taken before."""
        signature = stat_digest(paths, stats)
        if check == "stat":
            recorded = self.recorded(signature)
            if recorded:
                return SplitImages(recorded, signature, recordable=False)
        newest_change = max((info.st_ctime_ns for info in stats), default=0)
        settled = newest_change < time.time_ns() - SETTLED_NS
        return SplitImages(content_digest(paths), signature, recordable=settled)

    def path_of(self, signature: str) -> str:
        """The record of a stat signature."""
        return os.path.join(self.folder, signature + RECORD_SUFFIX)

    def recorded(self, signature: str) -> str:
        """The digest recorded for `signature`; "" when there is none (or it cannot be read)."""
        record = self.read(self.path_of(signature))
        return record["images_digest"] if record and record["stat_digest"] == signature else ""

    def record(self, images: SplitImages) -> None:
        """Record a digest hashed now, unless its files changed too recently; a write error is only reported."""
        if not images.recordable:
            return
        record = {"stat_digest": images.stat_digest, "images_digest": images.images_digest}
        try:
            with atomic_path(self.path_of(images.stat_digest)) as tmp:
                with open(tmp, "w") as handle:
                    json.dump(record, handle)
        except OSError as err:
            logger.warning("Could not record the digest of the images in %s (%s); the next evaluation hashes "
                           "them again", self.folder, err)

    def records(self) -> list[str]:
        """Every record file in the folder, sorted."""
        if not os.path.isdir(self.folder):
            return []
        return sorted(os.path.join(self.folder, name) for name in os.listdir(self.folder)
                      if name.endswith(RECORD_SUFFIX))

    @staticmethod
    def read(path: str) -> dict[str, str] | None:
        """A record's fields; None when it is absent or not a record."""
        try:
            with open(path) as handle:
                record = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):  # absent, unreadable or damaged: hashed again
            return None
        fields = ("stat_digest", "images_digest")
        if not isinstance(record, dict) or not all(isinstance(record.get(name), str) for name in fields):
            return None
        return record
