"""The helpers the readers share: mopd.data.layout, mopd.data.annotations and mopd.data.class_splits."""
import sys
from collections import Counter

import pytest

from mopd.backend import Datum
from mopd.data.annotations import load_mat, read_text_lines
from mopd.data.class_splits import split_per_class
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
