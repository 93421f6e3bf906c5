import json
import os

import pytest

from fake_layouts import fake_items
from mopd.backend import Datum
from mopd.data.splits import load_or_create_split, read_split, save_split


def _make_images(image_dir, per_class):
    """Empty image files image_dir/class_<y>/img_<i>.png and their Datum items, `per_class[y]` of class y."""
    return fake_items(image_dir, enumerate(per_class), folder="class_{label}", classname="name {label}")


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


def _write_split(path, **splits):
    path.write_text(json.dumps({name: splits.get(name, []) for name in ("train", "val", "test")}))


def test_read_split_refuses_an_image_listed_twice_naming_the_file_the_image_and_its_label(tmp_path):
    image_dir = tmp_path / "images"
    _make_images(image_dir, [2])
    path = tmp_path / "split.json"
    record = ["class_0/img_0.png", 0, "name 0"]
    _write_split(path, train=[["class_0/img_1.png", 0, "name 0"]], test=[record, record])
    with pytest.raises(ValueError) as err:
        read_split(str(path), str(image_dir))
    assert f"split file {path} lists 1 image(s) more than once or under two labels" in str(err.value)
    assert "'class_0/img_0.png' twice in test (label 0, 'name 0')" in str(err.value)


def test_read_split_refuses_an_image_under_two_labels_in_two_splits_or_one(tmp_path):
    image_dir = tmp_path / "images"
    _make_images(image_dir, [1, 1])
    path = tmp_path / "split.json"
    _write_split(
        path, train=[["class_0/img_0.png", 0, "name 0"]],
        test=[["./class_0/img_0.png", 1, "name 1"], ["class_1/img_0.png", 1, "name 1"], ["class_1/img_0.png", 0, "n"]],
    )
    with pytest.raises(ValueError) as err:
        read_split(str(path), str(image_dir))
    assert "lists 2 image(s)" in str(err.value)
    assert "'./class_0/img_0.png' under two labels: 0 ('name 0') in train and 1 ('name 1') in test" in str(err.value)
    assert "'class_1/img_0.png' under two labels: 1 ('name 1') in test and 0 ('n') in test" in str(err.value)


def test_read_split_accepts_an_image_in_two_splits_under_one_label(tmp_path):
    image_dir = tmp_path / "images"
    _make_images(image_dir, [1])
    path = tmp_path / "split.json"
    record = ["class_0/img_0.png", 0, "name 0"]
    _write_split(path, train=[record], val=[record], test=[record])
    assert [len(split) for split in read_split(str(path), str(image_dir))] == [1, 1, 1]


def test_save_split_refuses_an_image_listed_twice_and_writes_nothing(tmp_path):
    image_dir = tmp_path / "images"
    items = _make_images(image_dir, [2])
    path = tmp_path / "split.json"
    with pytest.raises(ValueError, match=r"the split made for .*split\.json lists 1 image\(s\).*nothing was written"):
        save_split(items, [], [items[1], items[1]], str(path), str(image_dir))
    assert not path.exists() and os.listdir(tmp_path) == ["images"]


def test_read_split_refuses_a_label_that_is_not_an_integer(tmp_path):
    path = tmp_path / "split.json"
    _write_split(path, train=[["a.png", "first", "name"]])
    with pytest.raises(ValueError, match=f"{path} holds a label that is not an integer"):
        read_split(str(path), str(tmp_path))
