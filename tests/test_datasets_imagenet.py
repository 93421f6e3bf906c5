"""The ImageNet family's readers: label order, classnames.txt lookup and the 200-class subsets."""
import re
import shutil

import pytest

from fake_layouts import (
    IMAGENET_CLASSES,
    build_fake_dataset,
    build_reader,
    dataset_cfg,
    relative_records,
    write_classnames,
)
from mopd.data.imagenet_classes import IMAGENET_A_WNIDS, IMAGENET_R_WNIDS, read_imagenet_classnames

VARIANTS = ["imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r"]


@pytest.mark.parametrize("wnids", [IMAGENET_A_WNIDS, IMAGENET_R_WNIDS], ids=["A", "R"])
def test_subset_wnids_are_200_distinct_sorted_wordnet_ids(wnids):
    assert len(wnids) == len(set(wnids)) == 200
    assert list(wnids) == sorted(wnids)
    assert all(re.fullmatch(r"n\d{8}", wnid) for wnid in wnids)


def test_imagenet_validates_on_the_test_set(tmp_path):
    build_fake_dataset("imagenet", tmp_path)
    dataset = build_reader(dataset_cfg(tmp_path, "imagenet", shots=2, subsample="base"))
    assert dataset.val is dataset.test
    assert len(dataset.test) == 3 * 2


def test_imagenet_labels_follow_sorted_train_folders_not_classnames_file_order(tmp_path):
    fake = build_fake_dataset("imagenet", tmp_path)
    lines = (fake.folder / "classnames.txt").read_text().splitlines()
    (fake.folder / "classnames.txt").write_text("\n".join(reversed(lines)) + "\n")
    dataset = build_reader(dataset_cfg(tmp_path, "imagenet"))
    assert dataset.classnames == [name for _, name in IMAGENET_CLASSES]
    assert relative_records(dataset.train_x, fake.image_dir) == sorted(fake.records["train"])


def test_imagenet_val_with_different_class_folders_is_refused(tmp_path):
    fake = build_fake_dataset("imagenet", tmp_path)
    shutil.rmtree(fake.image_dir / "val" / "n01484850")
    with pytest.raises(ValueError, match=r"only in train: \['n01484850'\]"):
        build_reader(dataset_cfg(tmp_path, "imagenet"))


def test_imagenet_val_not_sorted_into_class_folders_says_so(tmp_path):
    fake = build_fake_dataset("imagenet", tmp_path)
    val_dir = fake.image_dir / "val"
    for image in list(val_dir.rglob("*.JPEG")):
        image.rename(val_dir / image.name)
    for folder in [p for p in val_dir.iterdir() if p.is_dir()]:
        folder.rmdir()
    with pytest.raises(ValueError, match="has no class folders; sort the validation images"):
        build_reader(dataset_cfg(tmp_path, "imagenet"))


def test_imagenet_class_folder_missing_from_classnames_file_is_named(tmp_path):
    fake = build_fake_dataset("imagenet", tmp_path)
    write_classnames(fake.folder / "classnames.txt", [wnid for wnid, _ in IMAGENET_CLASSES[1:]])
    with pytest.raises(ValueError, match=r"not listed in .*classnames.txt, e.g. \['n01440764'\]"):
        build_reader(dataset_cfg(tmp_path, "imagenet"))


@pytest.mark.parametrize("config", VARIANTS)
def test_variant_without_its_own_classnames_file_reads_the_imagenet_one(config, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    shutil.move(fake.folder / "classnames.txt", tmp_path / "classnames.txt")
    (tmp_path / "imagenet").mkdir()
    shutil.move(tmp_path / "classnames.txt", tmp_path / "imagenet" / "classnames.txt")
    dataset = build_reader(dataset_cfg(tmp_path, config))
    assert dataset.classnames == fake.classnames


@pytest.mark.parametrize("config", VARIANTS)
def test_variant_without_any_classnames_file_names_both_places(config, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    (fake.folder / "classnames.txt").unlink()
    with pytest.raises(FileNotFoundError) as err:
        build_reader(dataset_cfg(tmp_path, config))
    own, fallback = fake.folder / "classnames.txt", tmp_path / "imagenet" / "classnames.txt"
    assert f"neither {own} nor {fallback}" in str(err.value)


def test_imagenetv2_label_is_the_folder_number_and_the_line_of_classnames_file(tmp_path):
    fake = build_fake_dataset("imagenetv2", tmp_path)
    reordered = [wnid for wnid, _ in reversed(IMAGENET_CLASSES)]
    write_classnames(fake.folder / "classnames.txt", reordered)
    dataset = build_reader(dataset_cfg(tmp_path, "imagenetv2"))
    assert dataset.classnames == [name for _, name in reversed(IMAGENET_CLASSES)]
    assert {(r[0].split("/")[0], r[1]) for r in relative_records(dataset.test, fake.image_dir)} == {
        (str(label), label) for label in range(5)
    }


def test_imagenetv2_missing_class_folder_is_named(tmp_path):
    fake = build_fake_dataset("imagenetv2", tmp_path)
    shutil.rmtree(fake.image_dir / "3")
    with pytest.raises(FileNotFoundError, match=r"1 of the 5 class folders are missing .* \['3'\]"):
        build_reader(dataset_cfg(tmp_path, "imagenetv2"))


@pytest.mark.parametrize("config", ["imagenet_a", "imagenet_r"])
def test_subset_missing_class_folder_is_named(config, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    wnid = fake.records["test"][150][0].split("/")[0]
    shutil.rmtree(fake.image_dir / wnid)
    with pytest.raises(FileNotFoundError, match=rf"1 of the 200 class folders are missing .*\['{wnid}'\]"):
        build_reader(dataset_cfg(tmp_path, config))


@pytest.mark.parametrize("config", ["imagenet_a", "imagenet_r"])
def test_subset_with_a_stray_class_folder_is_refused(config, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    (fake.image_dir / "n01440764").mkdir()
    with pytest.raises(ValueError, match=r"not among its 200 classes, e\.g\. \['n01440764'\]"):
        build_reader(dataset_cfg(tmp_path, config))


def test_classnames_file_keeps_multi_word_names_and_file_order(tmp_path):
    path = tmp_path / "classnames.txt"
    path.write_text("n01494475 hammerhead shark\nn01440764 tench\n\nn04254680 soccer ball\n")
    assert read_imagenet_classnames(str(path)) == {
        "n01494475": "hammerhead shark", "n01440764": "tench", "n04254680": "soccer ball"
    }
    assert list(read_imagenet_classnames(str(path))) == ["n01494475", "n01440764", "n04254680"]


def test_classnames_file_line_without_a_name_is_refused(tmp_path):
    path = tmp_path / "classnames.txt"
    path.write_text("n01440764 tench\nn01443537\n")
    with pytest.raises(ValueError, match="line 2 is 'n01443537'"):
        read_imagenet_classnames(str(path))
