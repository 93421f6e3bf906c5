"""`cache-features --status` and `--prune`: what the evaluation feature cache holds, and removing what no run can read.

Both look at the files only (no model, no dataset config); which files are obsolete is decided in
`mopd.feature_cache.obsolete`.
"""
from __future__ import annotations

import logging
import os

from mopd.feature_cache.obsolete import EntryState, check_store, obsolete_records, prune
from mopd.feature_cache.store import FeatureStore

logger = logging.getLogger(__name__)


def show_status(directory: str) -> int:
    """Log one line per feature file under `directory` (what it holds, its size, whether it is obsolete) and totals; 0."""
    store = FeatureStore(directory)
    states = check_store(store)
    for state in states:
        logger.info("%s", _describe(state, directory))
    if states:
        total = sum(state.entry.size_bytes for state in states)
        logger.info("%d file(s), %s in all, in %s", len(states), _size(total), directory)
    else:
        logger.info("The feature cache %s is empty", directory)
    obsolete = [state for state in states if state.obsolete]
    records = obsolete_records(store, states)
    if obsolete or records:
        freed = sum(state.entry.size_bytes for state in obsolete) + sum(os.path.getsize(path) for path in records)
        logger.info("%d obsolete file(s) and %d image digest record(s), %s: `python -m mopd.data cache-features "
                    "--prune --dir %s` removes them", len(obsolete), len(records), _size(freed), directory)
    return 0


def prune_cache(directory: str) -> int:
    """Remove the obsolete files under `directory`, logging each and the space freed; 0."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no feature cache folder {directory!r}: give the cache's folder with --dir")
    pruned = prune(FeatureStore(directory))
    for state in pruned.entries:
        logger.info("removed %s  (%s), %s", os.path.relpath(state.entry.path, directory), state.obsolete,
                    _size(state.entry.size_bytes))
    if pruned.records:
        logger.info("removed %d image digest record(s) that no file kept uses", len(pruned.records))
    if not pruned.entries and not pruned.records:
        logger.info("Nothing obsolete in the feature cache %s", directory)
        return 0
    logger.info("%d file(s) removed, %s freed, in %s", len(pruned.entries), _size(pruned.bytes_freed), directory)
    return 0


def _describe(state: EntryState, directory: str) -> str:
    entry = state.entry
    path = os.path.relpath(entry.path, directory)
    text = path
    if entry.header is not None:
        key, (rows, dim) = entry.header["key"], entry.header["shape"]
        key = key if isinstance(key, dict) else {}
        text = (f"{key.get('dataset')} {key.get('split')} ({key.get('subsample')})  {key.get('backbone')} "
                f"{key.get('precision')}  {rows} x {dim} {entry.header['dtype']}  {_size(entry.size_bytes)}  "
                f"{entry.header.get('created', '')}  {path}")
    if state.obsolete:
        return f"{text}  OBSOLETE: {state.obsolete}"
    return f"{text}  (kept: {state.note})" if state.note else text


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.1f} MB" if size_bytes >= 100_000 else f"{size_bytes / 1e3:.1f} kB"
