"""Readers without their split file: a CoOp-format split made from the raw annotations, or a clear error."""
import json
import logging
import os
import re
import sys
import types
from collections import Counter

import pytest

from fake_layouts import IMAGES_PER_CLASS, build_fake_dataset, build_reader, dataset_cfg
from fake_layouts import relative_records

# Images per class that a created split gives train / val / test, from the fake layouts' 12 per
# class: a class-folder split keeps round(12 * .5), round(12 * .2) and the rest; a trainval/test
# list (9 + 3) keeps round(9 * .2) of trainval for val.
FOLDER_SPLIT = (6, 2, 4)
TRAINVAL_SPLIT = (7, 2, 3)
CREATED = {
    "caltech101": FOLDER_SPLIT,
    "dtd": FOLDER_SPLIT,
    "eurosat": FOLDER_SPLIT,
    "food101": FOLDER_SPLIT,
    "oxford_flowers": FOLDER_SPLIT,
    "oxford_pets": TRAINVAL_SPLIT,
    "stanford_cars": TRAINVAL_SPLIT,
    "sun397": TRAINVAL_SPLIT,
    "ucf101": TRAINVAL_SPLIT,
}
NEEDS_SCIPY = {"oxford_flowers", "stanford_cars"}


def install_fake_scipy(monkeypatch, fake):
    """Make `from scipy.io import loadmat` serve the fake layout's .mat contents."""
    scipy_io = types.ModuleType("scipy.io")

    def loadmat(path):
        return fake.mat_contents[os.path.relpath(path, fake.folder).replace(os.sep, "/")]

    scipy_io.loadmat = loadmat
    scipy = types.ModuleType("scipy")
    scipy.io = scipy_io
    monkeypatch.setitem(sys.modules, "scipy", scipy)
    monkeypatch.setitem(sys.modules, "scipy.io", scipy_io)


def block_scipy(monkeypatch):
    """Make `import scipy` fail, as on a machine without it."""
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)


@pytest.mark.parametrize("config", sorted(CREATED))
def test_missing_split_file_is_created_in_coop_format_from_the_raw_annotations(
    config, tmp_path, monkeypatch, caplog
):
    fake = build_fake_dataset(config, tmp_path, with_split=False)
    if config in NEEDS_SCIPY:
        install_fake_scipy(monkeypatch, fake)
    with caplog.at_level(logging.WARNING, logger="mopd.data.layout"):
        dataset = build_reader(dataset_cfg(tmp_path, config))
    assert "not comparable with published numbers" in caplog.text

    assert dataset.classnames == fake.classnames
    splits = {"train": dataset.train_x, "val": dataset.val, "test": dataset.test}
    for name, count in zip(splits, CREATED[config]):
        labels = Counter(label for _, label, _ in relative_records(splits[name], fake.image_dir))
        assert labels == {label: count for label in range(len(fake.classnames))}, name
    every = [r for split in splits.values() for r in relative_records(split, fake.image_dir)]
    assert len(set(every)) == len(every) == len(fake.classnames) * IMAGES_PER_CLASS

    written = json.loads((fake.folder / fake.split_file).read_text())
    for name, items in splits.items():
        assert sorted(tuple(r) for r in written[name]) == relative_records(items, fake.image_dir)
        for path, label, _ in written[name]:
            assert isinstance(path, str) and not os.path.isabs(path) and isinstance(label, int)

    if config in NEEDS_SCIPY:
        block_scipy(monkeypatch)  # the second run reads the saved split and never the .mat files
    again = build_reader(dataset_cfg(tmp_path, config))
    assert relative_records(again.train_x, fake.image_dir) == relative_records(
        dataset.train_x, fake.image_dir
    )


def test_created_caltech101_split_leaves_out_the_background_and_easy_faces_folders(tmp_path):
    fake = build_fake_dataset("caltech101", tmp_path, with_split=False)
    dataset = build_reader(dataset_cfg(tmp_path, "caltech101"))
    every = relative_records(dataset.train_x + dataset.val + dataset.test, fake.image_dir)
    folders = {path.split("/")[0] for path, _, _ in every}
    assert folders == {"Faces", "Leopards", "Motorbikes", "accordion", "airplanes"}
    assert dataset.classnames == ["face", "leopard", "motorbike", "accordion", "airplane"]


def test_created_eurosat_split_uses_coop_readable_class_names(tmp_path):
    build_fake_dataset("eurosat", tmp_path, with_split=False)
    dataset = build_reader(dataset_cfg(tmp_path, "eurosat"))
    assert dataset.classnames == [
        "Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road", "Industrial Buildings"
    ]


@pytest.mark.parametrize("config", sorted(NEEDS_SCIPY))
def test_without_scipy_a_missing_split_file_says_to_download_it_or_install_scipy(
    config, tmp_path, monkeypatch
):
    fake = build_fake_dataset(config, tmp_path, with_split=False)
    block_scipy(monkeypatch)
    with pytest.raises(FileNotFoundError) as err:
        build_reader(dataset_cfg(tmp_path, config))
    message = str(err.value)
    assert f"{fake.folder / fake.split_file} does not exist" in message
    assert "pip install scipy" in message and "download" in message
    assert not (fake.folder / fake.split_file).exists()


def test_flowers_split_file_is_read_without_scipy_or_the_mat_file(tmp_path, monkeypatch):
    fake = build_fake_dataset("oxford_flowers", tmp_path)
    (fake.folder / "imagelabels.mat").unlink()
    block_scipy(monkeypatch)
    dataset = build_reader(dataset_cfg(tmp_path, "oxford_flowers"))
    assert relative_records(dataset.train_x, fake.image_dir) == sorted(fake.records["train"])


def test_missing_split_and_annotation_file_names_both(tmp_path):
    fake = build_fake_dataset("oxford_pets", tmp_path, with_split=False)
    (fake.folder / "annotations" / "test.txt").unlink()
    with pytest.raises(FileNotFoundError) as err:
        build_reader(dataset_cfg(tmp_path, "oxford_pets"))
    message = str(err.value)
    assert f"split file {fake.folder / 'split_zhou_OxfordPets.json'} does not exist" in message
    assert str(fake.folder / "annotations" / "test.txt") in message
    assert f"python -m mopd.data check --root {tmp_path} oxford_pets" in message


def test_missing_image_folder_is_named(tmp_path):
    fake = build_fake_dataset("caltech101", tmp_path)
    os.rename(fake.image_dir, fake.folder / "images")
    with pytest.raises(FileNotFoundError, match=re.escape(f"image folder {fake.image_dir} does not exist")):
        build_reader(dataset_cfg(tmp_path, "caltech101"))


def test_split_file_listing_a_missing_image_names_it(tmp_path):
    fake = build_fake_dataset("dtd", tmp_path)
    missing = fake.image_dir / fake.records["test"][0][0]
    missing.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        build_reader(dataset_cfg(tmp_path, "dtd"))


@pytest.mark.parametrize(
    "config, file, what",
    [("imagenet", "classnames.txt", "class-name file"), ("fgvc_aircraft", "images_variant_val.txt", "val list")],
)
def test_missing_class_list_or_split_list_is_named(config, file, what, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    (fake.folder / file).unlink()
    expected = f"{what} {fake.folder / file} does not exist"
    with pytest.raises(FileNotFoundError, match=re.escape(expected)):
        build_reader(dataset_cfg(tmp_path, config))


def test_fgvc_aircraft_labels_follow_variants_txt_not_sorted_order(tmp_path):
    fake = build_fake_dataset("fgvc_aircraft", tmp_path)
    assert fake.classnames != sorted(fake.classnames)
    dataset = build_reader(dataset_cfg(tmp_path, "fgvc_aircraft"))
    assert dataset.classnames == (fake.folder / "variants.txt").read_text().splitlines()


@pytest.mark.parametrize("relabel", [False, True], ids=["twice", "under two labels"])
def test_annotations_listing_an_image_twice_or_under_two_labels_are_refused_before_a_split_file_is_written(
    relabel, tmp_path
):
    fake = build_fake_dataset("oxford_pets", tmp_path, with_split=False)
    test_list = fake.folder / "annotations" / "test.txt"
    first = test_list.read_text().splitlines()[0]  # "<image> <class id> <species> <breed id>"
    image, class_id, species, breed = first.split()
    repeated = f"{image} {int(class_id) + 1} {species} {breed}" if relabel else first
    test_list.write_text(test_list.read_text() + repeated + "\n")
    with pytest.raises(ValueError) as err:
        build_reader(dataset_cfg(tmp_path, "oxford_pets"))
    label, name = int(class_id) - 1, image.rsplit("_", 1)[0].lower()
    expected = (
        f"'{image}.jpg' under two labels: {label} ({name!r}) in test and {label + 1} ({name!r}) in test" if relabel
        else f"'{image}.jpg' twice in test (label {label}, {name!r})"
    )
    assert f"the split made for {fake.folder / 'split_zhou_OxfordPets.json'} lists 1 image(s)" in str(err.value)
    assert expected in str(err.value) and "nothing was written" in str(err.value)
    assert not (fake.folder / "split_zhou_OxfordPets.json").exists()
