import logging
import os
from collections import Counter

import pytest
from yacs.config import CfgNode as CN

from fake_layouts import fake_items
from mopd.backend import Datum
from mopd.data.dataset_splits import build_dataset_splits, prepare_dataset_splits


def _make_split(image_dir, num_classes, counts):
    """Empty image files, `counts` = images per class for train, val, test."""
    return [
        fake_items(image_dir, [(label, count) for label in range(num_classes)], file=f"{name}_{{i}}.png")
        for name, count in zip(("train", "val", "test"), counts)
    ]


def _counts(items):
    return Counter((item.label, item.classname) for item in items)


def test_prepare_samples_few_shots_then_keeps_the_base_classes(tmp_path):
    train, val, test = _make_split(tmp_path / "images", 5, (10, 6, 3))
    out_train, out_val, out_test = prepare_dataset_splits(
        train, val, test, num_shots=2, seed=1, subsample="base",
        fewshot_dir=str(tmp_path / "split_fewshot"), image_dir=str(tmp_path / "images"),
    )
    base = {(y, f"class {y}"): None for y in range(3)}
    assert _counts(out_train) == {key: 2 for key in base}
    assert _counts(out_val) == {key: 2 for key in base}
    assert _counts(out_test) == {key: 3 for key in base}
    assert [name for name in os.listdir(tmp_path / "split_fewshot") if not name.startswith(".")] == [
        "shot_2-seed_1.json"
    ]


def test_prepare_new_classes_are_relabelled_from_zero_and_keep_their_names(tmp_path):
    train, val, test = _make_split(tmp_path / "images", 5, (4, 2, 2))
    out_train, _, out_test = prepare_dataset_splits(
        train, val, test, num_shots=-1, seed=1, subsample="new",
        fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path / "images"),
    )
    assert _counts(out_train) == {(0, "class 3"): 4, (1, "class 4"): 4}
    assert _counts(out_test) == {(0, "class 3"): 2, (1, "class 4"): 2}


def test_prepare_without_shots_keeps_every_image_and_writes_no_cache(tmp_path):
    train, val, test = _make_split(tmp_path / "images", 3, (5, 2, 2))
    out = prepare_dataset_splits(
        train, val, test, num_shots=0, seed=1, subsample="all",
        fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path / "images"),
    )
    assert [len(split) for split in out] == [15, 6, 6]
    assert not (tmp_path / "fs").exists()


def test_prepare_with_val_none_samples_train_and_returns_none_for_val(tmp_path):
    train, _, test = _make_split(tmp_path / "images", 4, (5, 0, 3))
    out_train, out_val, out_test = prepare_dataset_splits(
        train, None, test, num_shots=1, seed=1, subsample="base",
        fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path / "images"),
    )
    assert out_val is None
    assert _counts(out_train) == {(0, "class 0"): 1, (1, "class 1"): 1}
    assert len(out_test) == 6


def test_prepare_rejects_an_invalid_subsample_before_writing_a_cache(tmp_path):
    train, val, test = _make_split(tmp_path / "images", 2, (3, 1, 1))
    with pytest.raises(ValueError, match="'Base' is not one of"):
        prepare_dataset_splits(
            train, val, test, num_shots=1, seed=1, subsample="Base",
            fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path / "images"),
        )
    assert not (tmp_path / "fs").exists()


def test_build_dataset_splits_reads_shots_seed_and_subsample_from_the_config(tmp_path):
    train, val, test = _make_split(tmp_path / "images", 4, (6, 6, 1))
    cfg = CN({"SEED": 3, "DATASET": CN({"NUM_SHOTS": 4, "SUBSAMPLE_CLASSES": "new"})})
    out_train, out_val, out_test = build_dataset_splits(
        cfg, train, val, test, fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path / "images")
    )
    assert _counts(out_train) == {(0, "class 2"): 4, (1, "class 3"): 4}
    assert _counts(out_val) == {(0, "class 2"): 4, (1, "class 3"): 4}
    assert (tmp_path / "fs" / "shot_4-seed_3.json").is_file()


def _renamed(items, names):
    """Copies of `items` with the class names `names` gives some labels."""
    return [Datum(impath=d.impath, label=d.label, classname=names.get(d.label, d.classname)) for d in items]


def test_prepare_refuses_classes_named_alike_but_for_case_before_writing_a_cache(tmp_path):
    train, val, test = _make_split(tmp_path / "images", 4, (3, 1, 1))
    test = _renamed(test, {3: "Class 0"})  # only the test split names class 3 so: every split counts
    with pytest.raises(ValueError) as err:
        prepare_dataset_splits(
            train, val, test, num_shots=1, seed=1, subsample="base",
            fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path / "images"),
        )
    message = str(err.value)
    assert f"the classes of the dataset in {tmp_path / 'images'} cannot be told apart" in message
    assert "label 3 is named both 'Class 0' and 'class 3'" in message
    assert "classes 0 ('class 0') and 3 ('Class 0') give CLIP the same text" in message
    assert not (tmp_path / "fs").exists()


def test_prepare_accepts_the_shared_names_it_is_given_with_one_warning(tmp_path, caplog):
    train, val, test = _make_split(tmp_path / "images", 3, (3, 1, 1))
    train, val, test = (_renamed(split, {0: "missile", 2: "missile"}) for split in (train, val, test))
    kwargs = dict(num_shots=-1, seed=1, subsample="all", fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"classes 0 \('missile'\) and 2 \('missile'\) give CLIP the same text"):
        prepare_dataset_splits(train, val, test, **kwargs)
    with caplog.at_level(logging.WARNING, logger="mopd.data.distinct"):
        out = prepare_dataset_splits(train, val, test, shared_names={"missile"}, **kwargs)
    assert [len(split) for split in out] == [9, 3, 3]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "classes 0 ('missile') and 2 ('missile') share a name" in warning
