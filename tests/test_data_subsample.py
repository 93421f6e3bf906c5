import pytest

from mopd.backend import Datum
from mopd.data.subsample import subsample_classes


def _items(tmp_path, labels, tag):
    out = []
    for i, label in enumerate(labels):
        path = tmp_path / f"{tag}_{i}_{label}.png"
        path.touch()
        out.append(Datum(impath=str(path), label=label, classname=f"name {label}"))
    return out


def _view(items):
    return [(item.impath.rsplit("/", 1)[1], item.label, item.classname) for item in items]


def test_base_keeps_first_ceil_half_of_five_classes_and_new_relabels_the_rest(tmp_path):
    train = _items(tmp_path, [4, 0, 3, 1, 2, 0], "train")
    test = _items(tmp_path, [3, 4, 0], "test")
    base_train, base_test = subsample_classes(train, test, subsample="base")
    assert _view(base_train) == [
        ("train_1_0.png", 0, "name 0"), ("train_3_1.png", 1, "name 1"),
        ("train_4_2.png", 2, "name 2"), ("train_5_0.png", 0, "name 0"),
    ]
    assert _view(base_test) == [("test_2_0.png", 0, "name 0")]
    new_train, new_test = subsample_classes(train, test, subsample="new")
    assert _view(new_train) == [("train_0_4.png", 1, "name 4"), ("train_2_3.png", 0, "name 3")]
    assert _view(new_test) == [("test_0_3.png", 0, "name 3"), ("test_1_4.png", 1, "name 4")]


def test_classes_are_cut_by_the_sorted_labels_of_the_first_split(tmp_path):
    train = _items(tmp_path, [9, 2, 7, 4], "train")
    val = _items(tmp_path, [2, 5, 9], "val")  # label 5 is not in train: dropped from both halves
    (base_val,) = subsample_classes(val, subsample="base")
    assert [i.label for i in base_val] == [0, 1]  # val alone: labels 2, 5, 9 -> base 2, 5
    base_train, base_val = subsample_classes(train, val, subsample="base")
    assert [(i.label, i.classname) for i in base_train] == [(0, "name 2"), (1, "name 4")]
    assert [(i.label, i.classname) for i in base_val] == [(0, "name 2")]
    new_train, new_val = subsample_classes(train, val, subsample="new")
    assert [(i.label, i.classname) for i in new_train] == [(1, "name 9"), (0, "name 7")]
    assert [(i.label, i.classname) for i in new_val] == [(1, "name 9")]


def test_subsample_all_returns_new_lists_with_the_same_items(tmp_path):
    train = _items(tmp_path, [1, 0], "train")
    test = _items(tmp_path, [0], "test")
    out_train, out_test = subsample_classes(train, test, subsample="all")
    assert out_train == train and out_train is not train
    assert out_test == test


def test_subsample_returns_new_items_and_leaves_the_inputs_unchanged(tmp_path):
    train = _items(tmp_path, [0, 1, 2, 3], "train")
    (new_train,) = subsample_classes(train, subsample="new")
    assert [i.label for i in train] == [0, 1, 2, 3]
    assert all(isinstance(i, Datum) for i in new_train)
    assert [i.label for i in new_train] == [0, 1]


def test_an_invalid_subsample_value_lists_the_valid_ones(tmp_path):
    train = _items(tmp_path, [0, 1], "train")
    with pytest.raises(ValueError, match=r"'half' is not one of \['all', 'base', 'new'\]"):
        subsample_classes(train, subsample="half")
