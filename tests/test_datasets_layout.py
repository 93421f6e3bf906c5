"""The helpers the readers share: mopd.data.layout, mopd.data.annotations and mopd.data.class_splits."""
import random
import sys
from collections import Counter

import pytest

from fake_layouts import fake_items
from mopd.backend import Datum
from mopd.data.annotations import load_mat, read_text_lines
from mopd.data.class_splits import split_class_folders, split_per_class, split_trainval
from mopd.data.layout import list_files, list_subfolders, locate_dataset, read_class_folders


def _items(tmp_path, counts):
    """Empty image files and Datum items, `counts[label]` per class, classes interleaved."""
    items = []
    for index in range(max(counts)):
        for label, count in enumerate(counts):
            if index < count:
                path = tmp_path / f"c{label}_{index}.jpg"
                path.touch()
                items.append(Datum(impath=str(path), label=label, classname=f"class {label}"))
    return items


def _triples(items):
    return [(item.impath, item.label, item.classname) for item in items]


def test_split_per_class_cuts_each_class_into_rounded_fractions(tmp_path):
    items = _items(tmp_path, [10, 12, 7])
    train, val, test = split_per_class(items, 0.5, 0.2, seed=0)
    # n = 10: 5/2/3; n = 12: 6/2/4; n = 7: round(3.5) = 4 (half to even), round(1.4) = 1, 2 left.
    assert Counter(d.label for d in train) == {0: 5, 1: 6, 2: 4}
    assert Counter(d.label for d in val) == {0: 2, 1: 2, 2: 1}
    assert Counter(d.label for d in test) == {0: 3, 1: 4, 2: 2}
    paths = [d.impath for d in train + val + test]
    assert sorted(paths) == sorted(d.impath for d in items)


def test_split_per_class_is_a_function_of_the_seed(tmp_path):
    items = _items(tmp_path, [10, 10])
    first = [[d.impath for d in split] for split in split_per_class(items, seed=4)]
    again = [[d.impath for d in split] for split in split_per_class(items, seed=4)]
    other = [[d.impath for d in split] for split in split_per_class(items, seed=5)]
    assert first == again
    assert first != other


def test_split_per_class_refuses_a_class_too_small_to_split(tmp_path):
    items = _items(tmp_path, [10, 2])
    with pytest.raises(ValueError, match="class 1 \\('class 1'\\) has 2 item\\(s\\)"):
        split_per_class(items)


def test_split_trainval_puts_round_n_times_p_val_of_each_class_in_val(tmp_path):
    trainval = fake_items(tmp_path, enumerate([10, 7, 5]))
    train, val = split_trainval(trainval, p_val=0.2, seed=3)
    val_counts = [sum(item.label == y for item in val) for y in range(3)]
    assert val_counts == [2, 1, 1]  # round(2.0), round(1.4), round(1.0)
    assert sorted(_triples(train + val)) == sorted(_triples(trainval))
    assert not set(_triples(train)) & set(_triples(val))


def test_split_trainval_is_deterministic_for_a_seed_and_leaves_global_random_alone(tmp_path):
    trainval = fake_items(tmp_path, enumerate([20, 20]))
    random.seed(0)
    before = random.getstate()
    first = split_trainval(trainval, seed=1)
    assert random.getstate() == before
    again = split_trainval(trainval, seed=1)
    other = split_trainval(trainval, seed=2)
    assert _triples(first[1]) == _triples(again[1])
    assert _triples(first[1]) != _triples(other[1])


def test_split_trainval_rejects_a_class_too_small_for_a_val_image(tmp_path):
    trainval = fake_items(tmp_path, enumerate([10, 2]))
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


def test_class_folder_listing_is_sorted_and_skips_hidden_entries(tmp_path):
    for name in ("b", "a", ".git"):
        (tmp_path / name).mkdir()
    for name in ("z.jpg", "y.jpg", ".DS_Store", "README.txt"):
        (tmp_path / "a" / name).touch()
    (tmp_path / "notes.txt").touch()
    assert list_subfolders(str(tmp_path)) == ["a", "b"]
    assert list_files(str(tmp_path / "a")) == ["README.txt", "y.jpg", "z.jpg"]
    items = read_class_folders(str(tmp_path), ["b", "a"], ["bee", "ant"])
    assert [(d.impath.rsplit("/", 1)[1], d.label, d.classname) for d in items] == [
        ("README.txt", 1, "ant"), ("y.jpg", 1, "ant"), ("z.jpg", 1, "ant")
    ]


def test_locate_dataset_expands_the_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "data" / "dtd").mkdir(parents=True)
    location = locate_dataset("~/data", "dtd", name="DescribableTextures", config="dtd", section="DTD")
    assert location.folder == str(tmp_path / "data" / "dtd")
    assert location.fewshot_dir == str(tmp_path / "data" / "dtd" / "split_fewshot")


def test_required_file_message_names_path_root_section_and_check_command(tmp_path):
    (tmp_path / "dtd").mkdir()
    location = locate_dataset(str(tmp_path), "dtd", name="DescribableTextures", config="dtd", section="DTD")
    with pytest.raises(FileNotFoundError) as err:
        location.require_file("labels", "train1.txt", what="label list")
    assert str(err.value) == (
        f"DescribableTextures: the label list {tmp_path}/dtd/labels/train1.txt does not exist. "
        f"DATASET.ROOT is {tmp_path}; prepare the dataset there as the DTD section of CoOp's DATASETS.md "
        f"describes, then run `python -m mopd.data check --root {tmp_path} dtd` to check its layout"
    )


def test_text_annotations_are_stripped_of_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "classInd.txt"
    path.write_bytes(b"1 ApplyEyeMakeup\r\n\r\n2 ApplyLipstick\r\n")
    assert read_text_lines(str(path)) == ["1 ApplyEyeMakeup", "2 ApplyLipstick"]


def test_load_mat_without_scipy_names_the_split_file_and_both_fixes(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(FileNotFoundError) as err:
        load_mat(str(tmp_path / "imagelabels.mat"), split_path=str(tmp_path / "split.json"))
    message = str(err.value)
    assert f"{tmp_path / 'split.json'} does not exist" in message
    assert f"from {tmp_path / 'imagelabels.mat'} needs scipy" in message
    assert "pip install scipy" in message
