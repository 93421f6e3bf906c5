"""The evaluation feature cache: its file format, its key, its store (one writer, damage detected) and a trainer's use of it."""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler

from mopd.config.defaults import get_cfg
from mopd.feature_cache import image_digest
from mopd.engine.data_manager import build_data_loader
from mopd.engine.datasets import Datum
from mopd.engine.transforms import build_transform
from mopd.feature_cache.file_format import DamagedFeatureFile, read_feature_file, write_feature_file
from mopd.feature_cache.key import FeatureKey
from mopd.feature_cache.split_features import (
    build_eval_feature_cache,
    check_feature_cache_dir,
    encode_split,
    split_order_problem,
)
from mopd.files.atomic import lock_path
from mopd.feature_cache.store import FeatureStore
from mopd.clip.precision import PrecisionPolicy

CPU = torch.device("cpu")


def _key(**changes) -> FeatureKey:
    fields = dict(
        dataset="Synthetic", split="test", subsample="all", num_images=3, images_digest="i" * 64, backbone="tiny",
        weights_digest="w" * 64, precision="fp32", input_size=(32, 32), interpolation="bicubic",
        transform="Compose(...)", batch_size=2, device="cpu (1 threads)", torch_version=torch.__version__,
    )
    return FeatureKey(**{**fields, **changes})


def _paths(count: int) -> list[str]:
    return [f"/data/images/{index}.png" for index in range(count)]


# --- file format ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_feature_file_round_trips_bit_for_bit_with_its_key(dtype, tmp_path):
    features = torch.randn(5, 7).to(dtype)
    path = str(tmp_path / "f.feat")
    write_feature_file(path, _key().as_dict(), features, _paths(5))
    header, read = read_feature_file(path)
    assert read.dtype == dtype and torch.equal(read, features)
    assert FeatureKey.from_dict(header["key"]) == _key() and header["images"] == _paths(5)
    assert open(path, "rb").read(8) == b"MOPDFEAT"  # raw bytes behind a JSON header: nothing is unpickled


def test_truncated_overwritten_or_foreign_feature_files_are_detected(tmp_path):
    path = str(tmp_path / "f.feat")
    write_feature_file(path, _key().as_dict(), torch.randn(4, 3), _paths(4))
    whole = open(path, "rb").read()
    damaged = {
        f"cut at {n}": whole[:n] for n in (0, 5, 12, len(whole) // 2, len(whole) - 1)
    }
    flipped = bytearray(whole)
    flipped[-3] ^= 0xFF
    damaged["a feature byte flipped"] = bytes(flipped)
    damaged["a byte appended"] = whole + b"\0"
    damaged["a pickle"] = b"\x80\x04\x95" + whole[3:]
    for what, data in damaged.items():
        open(path, "wb").write(data)
        try:
            read_feature_file(path)
        except DamagedFeatureFile:
            continue
        pytest.fail(f"{what}: not detected")


# --- store ---------------------------------------------------------------------------------------------------


def test_store_computes_a_key_once_then_reads_it(tmp_path):
    store, calls = FeatureStore(str(tmp_path)), []

    def compute():
        calls.append(1)
        return torch.randn(3, 4)

    first, hit_first = store.load_or_compute(_key(), compute, _paths(3))
    second, hit_second = store.load_or_compute(_key(), compute, _paths(3))
    assert (hit_first, hit_second, len(calls)) == (False, True, 1)
    assert torch.equal(first, second)
    assert store.load(_key(precision="fp16")) is None  # another key is another file


def test_store_recomputes_a_truncated_file_with_a_warning(tmp_path, caplog):
    store = FeatureStore(str(tmp_path))
    store.load_or_compute(_key(), lambda: torch.randn(3, 4), _paths(3))
    path = store.path_of(_key())
    os.truncate(path, os.path.getsize(path) - 10)
    fresh = torch.randn(3, 4)
    with caplog.at_level(logging.WARNING, logger="mopd.feature_cache"):
        features, hit = store.load_or_compute(_key(), lambda: fresh, _paths(3))
    assert not hit and torch.equal(features, fresh)
    assert "Damaged feature cache file, recomputing it" in caplog.text and "truncated" in caplog.text
    assert torch.equal(read_feature_file(path)[1], fresh)  # replaced by a whole file


def test_status_lists_whole_and_damaged_files(tmp_path):
    store = FeatureStore(str(tmp_path))
    store.load_or_compute(_key(), lambda: torch.randn(3, 4), _paths(3))
    store.load_or_compute(_key(split="val"), lambda: torch.randn(3, 4), _paths(3))
    os.truncate(store.path_of(_key(split="val")), 20)
    entries = {entry.header["key"]["split"] if entry.header else "damaged": entry for entry in store.entries()}
    assert set(entries) == {"test", "damaged"}
    assert entries["test"].header["shape"] == [3, 4] and entries["test"].size_bytes == os.path.getsize(store.path_of(_key()))
    assert "truncated" in entries["damaged"].problem


def _fill_in_child(root: str, key: dict, gate: str, name: str) -> None:
    """One job of a study: fill the key, its computation held until the test creates `gate`/release."""

    def compute():
        open(os.path.join(gate, f"computing-{name}"), "w").close()
        while not os.path.exists(os.path.join(gate, "release")):
            time.sleep(0.01)
        return torch.arange(12.0).reshape(3, 4)

    features, hit = FeatureStore(root).load_or_compute(FeatureKey.from_dict(key), compute, _paths(3))
    with open(os.path.join(gate, f"result-{name}"), "w") as handle:
        json.dump({"hit": hit, "features": features.tolist()}, handle)


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux /proc/locks to see a blocked flock")
def test_concurrent_jobs_compute_a_key_once_and_the_second_reads_the_first_ones_file(tmp_path):
    root, gate = str(tmp_path / "cache"), str(tmp_path)
    key = _key()
    lock = lock_path(FeatureStore(root).path_of(key))
    context = multiprocessing.get_context("fork")
    first = context.Process(target=_fill_in_child, args=(root, key.as_dict(), gate, "first"))
    first.start()
    _wait_for(lambda: os.path.exists(os.path.join(gate, "computing-first")), "the first job to compute")
    second = context.Process(target=_fill_in_child, args=(root, key.as_dict(), gate, "second"))
    second.start()
    inode = f":{os.stat(lock).st_ino} "
    _wait_for(lambda: any("->" in line and inode in line for line in open("/proc/locks")), "the second job to wait")
    open(os.path.join(gate, "release"), "w").close()
    first.join(120)
    second.join(120)
    results = {name: json.load(open(os.path.join(gate, f"result-{name}"))) for name in ("first", "second")}
    assert not os.path.exists(os.path.join(gate, "computing-second"))
    assert (results["first"]["hit"], results["second"]["hit"]) == (False, True)
    assert results["second"]["features"] == results["first"]["features"]


# --- key of a split: any change is a miss ----------------------------------------------------------------------


def _write_images(folder, count: int = 5, size: int = 40) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    paths = []
    for index in range(count):
        pixels = torch.randint(0, 256, (size, size, 3), generator=generator, dtype=torch.uint8).numpy()
        path = os.path.join(folder, f"{index}.png")
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


class _Split:
    """An evaluation split of real image files read through the runtime's test loader, with a toy encoder."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.paths = _write_images(str(tmp_path / "images"))
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 8))

    def features(self, prec: str = "fp32", size: tuple[int, int] = (32, 32), interpolation: str = "bicubic",
                 image_check: str = "stat"):
        """(features, images encoded) of one evaluation with a fresh cache object, as a new run makes."""
        cfg = get_cfg()
        cfg.merge_from_list(["DATASET.NAME", "Synthetic", "INPUT.SIZE", size, "INPUT.INTERPOLATION", interpolation,
                             "DATALOADER.NUM_WORKERS", 0, "TEST.FEATURE_CACHE.DIR", str(self.tmp_path / "cache"),
                             "TEST.FEATURE_CACHE.IMAGE_CHECK", image_check])
        data_source = [Datum(path, label=i % 2) for i, path in enumerate(self.paths)]
        loader = build_data_loader(cfg, "SequentialSampler", data_source, batch_size=2,
                                   tfm=build_transform(cfg, is_train=False), is_train=False)
        cache = build_eval_feature_cache(cfg, self.encoder, PrecisionPolicy(prec, CPU), CPU)
        encoded = []

        def encode(images):
            encoded.append(images.shape[0])
            with torch.no_grad():
                return F.normalize(self.encoder(images), dim=-1)

        features, labels = cache.split_features("test", loader, encode)
        assert labels.tolist() == [i % 2 for i in range(len(self.paths))]
        return features, sum(encoded)


def test_changing_weights_precision_input_size_interpolation_or_an_image_misses_the_cache(tmp_path):
    split = _Split(tmp_path)
    first, encoded = split.features()
    assert encoded == 5
    again, encoded = split.features()
    assert encoded == 0 and torch.equal(again, first)
    for change in ({"prec": "fp16"}, {"size": (24, 24)}, {"interpolation": "bilinear"}):
        assert split.features(**change)[1] == 5, change

    with torch.no_grad():
        split.encoder[-1].weight[0, 0] += 1.0
    changed_weights, encoded = split.features()
    assert encoded == 5 and not torch.equal(changed_weights, first)

    Image.new("RGB", (48, 48), (200, 10, 10)).save(split.paths[2])  # one test image replaced
    changed_image, encoded = split.features()
    assert encoded == 5
    assert not torch.equal(changed_image[2], changed_weights[2]) and torch.equal(changed_image[0], changed_weights[0])


def test_a_hit_opens_no_image_once_their_digest_is_recorded_unless_the_check_is_content(tmp_path, monkeypatch):
    monkeypatch.setattr(image_digest, "SETTLED_NS", 0)  # the images were written a moment ago
    opened: list[str] = []
    file_sha256 = image_digest.file_sha256
    monkeypatch.setattr(image_digest, "file_sha256", lambda path: opened.append(path) or file_sha256(path))
    split = _Split(tmp_path)
    assert split.features()[1] == 5 and len(opened) == 5  # hashed once, then recorded with the features
    assert split.features()[1] == 0 and len(opened) == 5
    assert split.features(image_check="content")[1] == 0 and len(opened) == 10  # the same key: a hit


def test_an_unknown_image_check_is_refused_with_the_choices(tmp_path):
    cfg = get_cfg()
    cfg.merge_from_list(["TEST.FEATURE_CACHE.DIR", str(tmp_path), "TEST.FEATURE_CACHE.IMAGE_CHECK", "mtime"])
    with pytest.raises(ValueError, match="'mtime'; choose one of stat, content"):
        check_feature_cache_dir(cfg)


def test_the_cache_folder_must_be_a_folder_when_the_cache_is_on(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    cfg = get_cfg()
    cfg.merge_from_list(["TEST.FEATURE_CACHE.DIR", str(blocker)])
    with pytest.raises(NotADirectoryError, match="TEST.FEATURE_CACHE.DIR"):
        check_feature_cache_dir(cfg)
    cfg.merge_from_list(["TEST.FEATURE_CACHE.ENABLED", False])
    check_feature_cache_dir(cfg)  # off: never used, never checked


class _IndexFreeSplit(Dataset):
    """Samples as Dassl before 0.6.3 (the KgCoOp/ProGrad fork) yields them: an image and a label, no "index"."""

    def __init__(self, size: int) -> None:
        self.images = torch.arange(size * 3, dtype=torch.float32).reshape(size, 3)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, position: int) -> dict:
        return {"img": self.images[position], "label": position % 2}


def test_a_sequential_loader_fills_the_split_in_order_without_a_per_sample_index():
    split = _IndexFreeSplit(7)
    loader = DataLoader(split, batch_size=3, sampler=SequentialSampler(split))  # batches of 3, 3 and 1
    assert split_order_problem(loader) == ""
    assert torch.equal(encode_split(loader, lambda images: images * 2, CPU), split.images * 2)


@pytest.mark.parametrize(
    "build, problem",
    [
        (lambda split: DataLoader(split, batch_size=3, sampler=RandomSampler(split)),
         "its sampler is RandomSampler, not SequentialSampler (DATALOADER.TEST.SAMPLER)"),
        (lambda split: DataLoader(split, batch_size=3, sampler=SequentialSampler(split), drop_last=True),
         "its batches come from BatchSampler, not a BatchSampler keeping every sample in order"),
        (lambda split: DataLoader(split, batch_size=3, sampler=SequentialSampler(range(4))),
         "its sampler covers 4 of the split's 7 samples"),
    ],
    ids=["random", "drop-last", "part"],
)
def test_a_loader_that_does_not_yield_its_split_in_order_is_named_as_such(build, problem):
    assert split_order_problem(build(_IndexFreeSplit(7))) == problem
