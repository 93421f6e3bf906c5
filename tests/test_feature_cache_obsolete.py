"""Which feature files no evaluation can read any more (`--status`), and `--prune` removing exactly those."""
from __future__ import annotations

import json
import os
import struct

import pytest
import torch

from mopd.feature_cache import image_digest
from mopd.feature_cache.file_format import MAGIC, write_feature_file
from mopd.feature_cache.key import FeatureKey
from mopd.feature_cache.obsolete import check_store, prune
from mopd.feature_cache.store import FeatureStore


def _images(folder, name: str, count: int = 3) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index in range(count):
        path = os.path.join(folder, f"{name}-{index}.jpg")
        with open(path, "wb") as handle:
            handle.write(f"{name} {index}".encode() * 100)
        paths.append(path)
    return paths


def _key(paths: list[str], store: FeatureStore, **changes) -> dict:
    fields = dict(
        dataset="Synthetic", split="test", subsample="all", num_images=len(paths),
        images_digest=store.image_digests.digest(paths).images_digest, backbone="tiny", weights_digest="w" * 64,
        precision="fp32", input_size=(32, 32), interpolation="bicubic", transform="Compose(...)", batch_size=2,
        device="cpu (1 threads)", torch_version=torch.__version__,
    )
    return FeatureKey(**{**fields, **changes}).as_dict()


def _write(store: FeatureStore, name: str, key: dict, paths: list[str]) -> str:
    path = os.path.join(store.root, "Synthetic", f"{name}.feat")
    write_feature_file(path, key, torch.randn(len(paths), 4), paths)
    return path


def _write_header(store: FeatureStore, name: str, header: dict) -> str:
    """A file of another version: only its header is read."""
    path = os.path.join(store.root, "Synthetic", f"{name}.feat")
    raw = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(MAGIC + struct.pack("<Q", len(raw)) + raw)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> tuple[FeatureStore, dict[str, str]]:
    """A store holding one file of each kind, by name; their images under tmp_path/images."""
    monkeypatch.setattr(image_digest, "SETTLED_NS", 0)
    store, images = FeatureStore(str(tmp_path / "cache")), str(tmp_path / "images")
    paths = {name: _images(images, name) for name in ("current", "changed", "gone", "elsewhere", "schemes")}
    files = {name: _write(store, name, _key(paths[name], store), paths[name])
             for name in ("current", "changed", "gone", "elsewhere")}
    old_scheme = _key(paths["schemes"], store)
    del old_scheme["key_scheme"]
    files["old scheme"] = _write(store, "old-scheme", old_scheme, paths["schemes"])
    files["newer scheme"] = _write(store, "newer-scheme", {**old_scheme, "key_scheme": 3, "more": 1}, paths["schemes"])
    files["old format"] = _write_header(store, "old-format", {"format": 1, "key": old_scheme})
    files["newer format"] = _write_header(store, "newer-format", {"format": 3})
    files["truncated"] = _write(store, "truncated", _key(paths["current"], store, precision="fp16"), paths["current"])
    os.truncate(files["truncated"], os.path.getsize(files["truncated"]) - 10)

    with open(paths["changed"][1], "wb") as handle:
        handle.write(b"x" * os.path.getsize(paths["current"][1]))
    os.remove(paths["gone"][0])
    for path in paths["elsewhere"]:
        os.remove(path)
    current = store.image_digests.digest(paths["current"])
    store.image_digests.record(current)  # used by a kept file
    store.image_digests.record(store.image_digests.digest(paths["changed"]))  # used by none
    return store, files


OBSOLETE = {"changed": "its images changed after it was written", "gone": "1 of its 3 images are gone",
            "old scheme": "key scheme 1", "old format": "is in format 1, this version reads 2", "truncated": "(truncated?)"}
KEPT = {"current": "", "elsewhere": "none of its 3 images is on this machine",
        "newer scheme": "key scheme 3, of a newer version", "newer format": "written by a newer version"}


def test_status_tells_obsolete_files_from_those_kept(cache):
    store, files = cache
    states = {state.entry.path: state for state in check_store(store)}
    assert set(states) == set(files.values())
    for name, reason in OBSOLETE.items():
        assert reason in states[files[name]].obsolete, (name, states[files[name]])
    for name, note in KEPT.items():
        state = states[files[name]]
        assert not state.obsolete and note in state.note and (note or not state.note), (name, state)


def test_prune_removes_the_obsolete_files_and_unused_records_and_nothing_else(cache):
    store, files = cache
    records_before = {path: os.path.getsize(path) for path in store.image_digests.records()}
    sizes = {name: os.path.getsize(path) for name, path in files.items()}
    pruned = prune(store)
    assert {state.entry.path for state in pruned.entries} == {files[name] for name in OBSOLETE}
    for name, path in files.items():
        assert os.path.exists(path) == (name in KEPT), name
    (unused,) = pruned.records
    assert len(records_before) == 2 and store.image_digests.records() == sorted(set(records_before) - {unused})
    assert pruned.bytes_freed == sum(sizes[name] for name in OBSOLETE) + records_before[unused]
    assert prune(store).entries == [] and all(not state.obsolete for state in check_store(store))
