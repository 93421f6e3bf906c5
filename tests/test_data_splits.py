import json
import os
import random

import pytest

from mopd.backend import Datum
from mopd.data.splits import (
    load_or_create_split,
    read_split,
    save_split,
    split_class_folders,
    split_trainval,
)


def _make_images(image_dir, per_class):
    """Create empty image files image_dir/class_<y>/img_<i>.png and return Datum items for them."""
    items = []
    for label, count in enumerate(per_class):
        folder = image_dir / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            path = folder / f"img_{i}.png"
            path.touch()
            items.append(Datum(impath=str(path), label=label, classname=f"name {label}"))
    return items


def _triples(items):
    return [(item.impath, item.label, item.classname) for item in items]


def test_save_split_writes_coop_json_with_paths_relative_to_image_dir(tmp_path):
    image_dir = tmp_path / "images"
    items = _make_images(image_dir, [2, 1])
    path = tmp_path / "split.json"
    save_split(items[:1], items[1:2], items[2:], str(path), str(image_dir))
    assert json.loads(path.read_text()) == {
        "train": [["class_0/img_0.png", 0, "name 0"]],
        "val": [["class_0/img_1.png", 0, "name 0"]],
        "test": [["class_1/img_0.png", 1, "name 1"]],
    }


def test_save_then_read_split_round_trips_every_item(tmp_path):
    image_dir = tmp_path / "images"
    items = _make_images(image_dir, [3, 4, 2])
    path = str(tmp_path / "split.json")
    save_split(items[:4], items[4:6], items[6:], path, str(image_dir))
    train, val, test = read_split(path, str(image_dir))
    assert all(isinstance(item, Datum) for item in train + val + test)
    assert (_triples(train), _triples(val), _triples(test)) == (
        _triples(items[:4]), _triples(items[4:6]), _triples(items[6:])
    )


def test_read_split_of_a_hand_written_file_joins_image_dir(tmp_path):
    image_dir = tmp_path / "images"
    _make_images(image_dir, [1, 1])
    path = tmp_path / "split.json"
    path.write_text(json.dumps({
        "train": [["class_1/img_0.png", "1", "name 1"]],
        "val": [],
        "test": [["class_0/img_0.png", 0, "name 0"]],
    }))
    train, val, test = read_split(str(path), str(image_dir))
    assert _triples(train) == [(os.path.join(str(image_dir), "class_1/img_0.png"), 1, "name 1")]
    assert val == []
    assert _triples(test) == [(os.path.join(str(image_dir), "class_0/img_0.png"), 0, "name 0")]


def test_read_split_of_a_missing_file_raises_file_not_found_naming_it(tmp_path):
    missing = tmp_path / "split_zhou_Caltech101.json"
    with pytest.raises(FileNotFoundError, match="split_zhou_Caltech101.json"):
        read_split(str(missing), str(tmp_path))


def test_read_split_names_the_first_image_missing_on_disk(tmp_path):
    image_dir = tmp_path / "images"
    items = _make_images(image_dir, [3])
    path = str(tmp_path / "split.json")
    save_split(items, [], [], path, str(image_dir))
    os.remove(items[1].impath)
    os.remove(items[2].impath)
    with pytest.raises(FileNotFoundError, match=r"2 image\(s\) missing .* the first is .*class_0/img_1\.png"):
        read_split(path, str(image_dir))


def test_split_trainval_puts_round_n_times_p_val_of_each_class_in_val(tmp_path):
    trainval = _make_images(tmp_path, [10, 7, 5])
    train, val = split_trainval(trainval, p_val=0.2, seed=3)
    val_counts = [sum(item.label == y for item in val) for y in range(3)]
    assert val_counts == [2, 1, 1]  # round(2.0), round(1.4), round(1.0)
    assert sorted(_triples(train + val)) == sorted(_triples(trainval))
    assert not set(_triples(train)) & set(_triples(val))


def test_split_trainval_is_deterministic_for_a_seed_and_leaves_global_random_alone(tmp_path):
    trainval = _make_images(tmp_path, [20, 20])
    random.seed(0)
    before = random.getstate()
    first = split_trainval(trainval, seed=1)
    assert random.getstate() == before
    again = split_trainval(trainval, seed=1)
    other = split_trainval(trainval, seed=2)
    assert _triples(first[1]) == _triples(again[1])
    assert _triples(first[1]) != _triples(other[1])


def test_split_trainval_rejects_a_class_too_small_for_a_val_image(tmp_path):
    trainval = _make_images(tmp_path, [10, 2])
    with pytest.raises(ValueError, match="class 1 .* has 2 image"):
        split_trainval(trainval, p_val=0.2)


def test_split_class_folders_labels_sorted_folders_and_splits_each_class(tmp_path):
    image_dir = tmp_path / "images"
    for folder, count in (("zebra", 10), ("Faces", 10), ("ant", 4), ("BACKGROUND", 10)):
        (image_dir / folder).mkdir(parents=True)
        for i in range(count):
            (image_dir / folder / f"{i}.jpg").touch()
    (image_dir / "ant" / ".hidden").touch()
    train, val, test = split_class_folders(
        str(image_dir), ignored=["BACKGROUND"], new_cnames={"Faces": "face"}, seed=0
    )
    # sorted folders: Faces, ant, zebra; 10 images -> 5/2/3, 4 images -> 2/1/1
    assert [sum(i.label == y for i in train) for y in range(3)] == [5, 2, 5]
    assert [sum(i.label == y for i in val) for y in range(3)] == [2, 1, 2]
    assert [sum(i.label == y for i in test) for y in range(3)] == [3, 1, 3]
    assert {(i.label, i.classname) for i in train} == {(0, "face"), (1, "ant"), (2, "zebra")}
    every = train + val + test
    assert len({i.impath for i in every}) == 24
    assert all(".hidden" not in i.impath and "BACKGROUND" not in i.impath for i in every)


def test_load_or_create_split_creates_and_saves_once_then_reads_the_file(tmp_path):
    image_dir = tmp_path / "images"
    items = _make_images(image_dir, [2, 2])
    path = str(tmp_path / "split.json")
    calls = []

    def create():
        calls.append(1)
        return items[:2], items[2:3], items[3:]

    first = load_or_create_split(path, str(image_dir), create)
    second = load_or_create_split(path, str(image_dir), create)
    assert calls == [1]
    assert os.path.isfile(path)
    assert [_triples(s) for s in first] == [_triples(s) for s in second]
