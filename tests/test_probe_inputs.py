"""Which images a linear probe fits, validates and tests on, and the whole splits they are rows of
(`mopd.training.probe_inputs`, `mopd.feature_cache.split_rows`)."""
from __future__ import annotations

import pytest

from fake_layouts import build_fake_dataset, build_reader, dataset_cfg, fake_items
from mopd.feature_cache.split_rows import subset_rows
from mopd.training.probe_inputs import probe_splits


def _paths(items) -> list[str]:
    return [item.impath for item in items]


def test_probe_images_are_the_split_files_few_shot_ones_class_by_class_rows_of_the_whole_splits(tmp_path):
    build_fake_dataset("oxford_pets", tmp_path)  # 5 classes of 6 train, 3 val, 3 test images
    cfg = dataset_cfg(tmp_path, "oxford_pets", shots=4, seed=2)
    dataset = build_reader(cfg)
    splits = probe_splits(cfg, dataset)
    whole = build_reader(dataset_cfg(tmp_path, "oxford_pets"))
    assert {name: split.cached for name, split in splits.items()} == {"train": "train", "val": "val", "test": "test"}
    assert _paths(splits["train"].whole) == _paths(whole.train_x) and _paths(splits["val"].whole) == _paths(whole.val)
    for name, sampled in (("train", dataset.train_x), ("val", dataset.val)):
        images = splits[name].images
        assert sorted(_paths(images)) == sorted(_paths(sampled))  # the split file's few-shot images, 4 and 3 a class
        assert [item.label for item in images] == sorted(item.label for item in sampled)
        rows = subset_rows(splits[name].whole, images)
        assert [splits[name].whole[row].impath for row in rows] == _paths(images)
    assert _paths(splits["test"].images) == _paths(splits["test"].whole) == _paths(whole.test)


def test_a_dataset_validating_on_its_test_split_draws_min_shots_4_test_images_per_class_from_the_seed(tmp_path):
    build_fake_dataset("imagenet", tmp_path)  # 5 classes of 4 train and 2 test images; val is test
    draws = [probe_splits(cfg, build_reader(cfg))["val"]
             for cfg in (dataset_cfg(tmp_path, "imagenet", shots=1, seed=seed) for seed in (1, 1, 2))]
    test_split = build_reader(dataset_cfg(tmp_path, "imagenet")).test
    assert draws[0].cached == "test" and _paths(draws[0].whole) == _paths(test_split)
    assert [item.label for item in draws[0].images] == [0, 1, 2, 3, 4]
    assert set(_paths(draws[0].images)) <= set(_paths(draws[0].whole))
    assert _paths(draws[0].images) == _paths(draws[1].images)  # the same seed draws the same images
    assert _paths(draws[0].images) != _paths(draws[2].images)


def test_a_subset_image_missing_from_the_split_or_relabelled_is_named(tmp_path):
    split = fake_items(tmp_path, [(0, 2), (1, 2)])
    assert subset_rows(split, [split[3], split[0]]) == [3, 0]
    stranger = fake_items(tmp_path / "other", [(0, 1)])[0]
    with pytest.raises(ValueError, match=r"img_0.png \(label 0\) is not in the whole split"):
        subset_rows(split, [stranger])
    relabelled = type(split[0])(impath=split[0].impath, label=1, classname="class 1")
    with pytest.raises(ValueError, match=r"has label 0 in the whole split"):
        subset_rows(split, [relabelled])
