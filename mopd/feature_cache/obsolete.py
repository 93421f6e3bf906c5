"""Feature files that no evaluation can read any more (`cache-features --status`), and removing them (`--prune`).

The store cannot know the settings of future runs, but it can tell when a file's key can no longer
be produced by this version on this data. A file is *obsolete* when:

- it is damaged (truncated, overwritten, not a feature file), or in an older file format;
- its key is of an older key scheme (`KEY_SCHEME`: an older way of computing a field);
- its images, which the file records, no longer digest to its key's: an image was replaced or
  rewritten, or some of them are gone (any other image list digests to another key anyway).

It is kept, whatever its age, when a newer version of the repository wrote it, when none of its
images exists on this machine (the data may live elsewhere: a node's local disk, an unmounted
share), or when they cannot be read. An image digest record is obsolete when no file kept holds
its digest.
"""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

from mopd.feature_cache.key import KEY_SCHEME, FeatureKey
from mopd.feature_cache.image_digest import ImageDigests, stat_images
from mopd.feature_cache.store import FeatureStore, StoredEntry
from mopd.files.atomic import file_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntryState:
    """A feature file and whether an evaluation can still read it."""

    entry: StoredEntry
    obsolete: str  # why no evaluation can read it any more; "" when it is kept
    note: str = ""  # why a file that may be unusable here is kept

    @property
    def images_digest(self) -> str:
        """The images digest of its key ("" when the header cannot be read)."""
        key = self.entry.header["key"] if self.entry.header else None
        return key.get("images_digest", "") if isinstance(key, dict) else ""


@dataclass(frozen=True)
class Pruned:
    """What `prune` removed."""

    entries: list[EntryState]
    records: list[str]  # image digest record files
    bytes_freed: int


def check_entry(entry: StoredEntry, digests: ImageDigests) -> EntryState:
    """Whether an evaluation can still read `entry` (see the module docstring); its images are hashed when their status changed."""
    if entry.header is None:
        if entry.newer_format:
            return EntryState(entry, "", "written by a newer version of the repository")
        return EntryState(entry, f"unreadable by this version: {entry.problem}")
    key = entry.header["key"]
    scheme = key.get("key_scheme", 1) if isinstance(key, dict) else 1
    if isinstance(scheme, int) and scheme > KEY_SCHEME:
        return EntryState(entry, "", f"key scheme {scheme}, of a newer version of the repository")
    if scheme != KEY_SCHEME:
        return EntryState(entry, f"key scheme {scheme}: this version computes keys of scheme {KEY_SCHEME}")
    try:
        images_digest = FeatureKey.from_dict(key).images_digest
    except (KeyError, TypeError) as err:
        return EntryState(entry, f"damaged key ({err})")
    return EntryState(entry, *_check_images(entry.header["images"], images_digest, digests))


def _check_images(paths: list[str], images_digest: str, digests: ImageDigests) -> tuple[str, str]:
    """(obsolete, note) of the images an entry records."""
    try:
        stats = stat_images(paths)
    except OSError as err:
        return "", f"its images cannot be checked here ({err})"
    missing = [path for path, info in zip(paths, stats) if info is None]
    if paths and len(missing) == len(paths):
        return "", f"none of its {len(paths)} images is on this machine (e.g. {paths[0]}): check it where they are"
    if missing:
        return f"{len(missing)} of its {len(paths)} images are gone (e.g. {missing[0]})", ""
    try:
        found = digests.digest_of_stats(paths, stats, "stat").images_digest
    except OSError as err:
        return "", f"its images cannot be read here ({err})"
    if found != images_digest:
        return "its images changed after it was written (same paths, other bytes)", ""
    return "", ""


def check_store(store: FeatureStore) -> list[EntryState]:
    """The state of every feature file in `store`, sorted by path."""
    return [check_entry(entry, store.image_digests) for entry in store.entries()]


def obsolete_records(store: FeatureStore, states: list[EntryState]) -> list[str]:
    """The image digest records whose digest no kept feature file (of `states`) holds."""
    digests = {state.images_digest for state in states if not state.obsolete}
    records = []
    for path in store.image_digests.records():
        record = ImageDigests.read(path)
        if record is None or record["images_digest"] not in digests:
            records.append(path)
    return records


def prune(store: FeatureStore) -> Pruned:
    """Remove the obsolete feature files of `store`, each under its lock and checked again there, then the obsolete records.

    A job that holds a file's lock (writing it) is waited for. Lock files stay, as after every use.
    """
    removed, kept = [], []
    for state in check_store(store):
        if state.obsolete:
            state = _remove_if_obsolete(store, state.entry.path)
            if state is None:  # removed meanwhile (another prune)
                continue
        (removed if state.obsolete else kept).append(state)
    records, freed = [], sum(state.entry.size_bytes for state in removed)
    for path in obsolete_records(store, kept):
        with contextlib.suppress(FileNotFoundError):
            size = os.path.getsize(path)
            os.remove(path)
            records.append(path)
            freed += size
    return Pruned(removed, records, freed)


def _remove_if_obsolete(store: FeatureStore, path: str) -> EntryState | None:
    """Check the file again under its lock and remove it when it is still obsolete; its state (None: it is gone)."""
    with file_lock(path, on_wait=lambda: logger.info("Waiting for the job that holds %s", path)):
        try:
            state = check_entry(store.entry(path), store.image_digests)
        except FileNotFoundError:
            return None
        if state.obsolete:
            os.remove(path)
    return state
