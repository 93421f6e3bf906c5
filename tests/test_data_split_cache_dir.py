"""DATASET.SPLIT_CACHE_DIR: the split files this repository writes go elsewhere than a read-only data root."""
from __future__ import annotations

import json
import os

from e2e import snapshot
from fake_layouts import build_fake_dataset, build_reader, dataset_cfg, relative_records
from mopd.data.layout import fewshot_folder, split_cache_folder
from mopd.data.synthetic import generate_synthetic_dataset


def test_without_a_cache_dir_split_files_go_into_the_dataset_folder_as_in_coop(tmp_path):
    assert split_cache_folder("/data/dtd", "") == "/data/dtd"
    assert fewshot_folder("/data/dtd", "") == "/data/dtd/split_fewshot"


def test_with_a_cache_dir_each_dataset_gets_its_own_folder_there(tmp_path):
    assert split_cache_folder("/data/dtd", str(tmp_path)) == str(tmp_path / "dtd")
    assert fewshot_folder("/data/caltech-101", str(tmp_path)) == str(tmp_path / "caltech-101" / "split_fewshot")


def test_fewshot_split_is_cached_in_the_cache_dir_and_the_data_root_is_not_touched(tmp_path):
    data_root, cache = tmp_path / "data", tmp_path / "cache"
    generate_synthetic_dataset(str(data_root), num_classes=3, train_per_class=4, val_per_class=2, test_per_class=1)
    before = snapshot(data_root)
    cfg = dataset_cfg(data_root, "synthetic", shots=2)
    cfg.DATASET.SPLIT_CACHE_DIR = str(cache)
    first = build_reader(cfg)
    assert snapshot(data_root) == before
    written = json.loads((cache / "synthetic" / "split_fewshot" / "shot_2-seed_1.json").read_text())
    assert len(written["train"]) == 3 * 2
    assert [item.impath for item in build_reader(cfg).train_x] == [item.impath for item in first.train_x]


def test_a_split_created_from_raw_annotations_goes_to_the_cache_dir_and_is_read_back_from_there(tmp_path):
    fake = build_fake_dataset("dtd", tmp_path / "data", with_split=False)
    before = snapshot(fake.folder)
    cfg = dataset_cfg(tmp_path / "data", "dtd")
    cfg.DATASET.SPLIT_CACHE_DIR = str(tmp_path / "cache")
    dataset = build_reader(cfg)
    assert snapshot(fake.folder) == before
    created = tmp_path / "cache" / os.path.basename(fake.folder) / fake.split_file
    split = json.loads(created.read_text())
    assert sorted(map(tuple, split["train"])) == relative_records(dataset.train_x, fake.image_dir)
    created.write_text(json.dumps({name: records[:1] for name, records in split.items()}))
    assert len(build_reader(cfg).train_x) == 1  # the next run reads that file


def test_the_dataset_folders_own_split_file_wins_over_one_in_the_cache_dir(tmp_path):
    fake = build_fake_dataset("dtd", tmp_path / "data")
    stale = tmp_path / "cache" / os.path.basename(fake.folder) / fake.split_file
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"train": [], "val": [], "test": []}))
    cfg = dataset_cfg(tmp_path / "data", "dtd")
    cfg.DATASET.SPLIT_CACHE_DIR = str(tmp_path / "cache")
    assert len(build_reader(cfg).train_x) > 0
