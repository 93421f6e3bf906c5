"""Every benchmark reader against a fake copy of its dataset's real layout (tests/fake_layouts.py)."""
import json
import logging
import math
import os
import re
from collections import Counter

import pytest

from fake_layouts import FAKE_LAYOUTS, build_fake_dataset, build_reader, dataset_cfg, relative_records, rename_class

CONFIGS = list(FAKE_LAYOUTS)
# Each dataset's folder under $DATA, as CoOp's DATASETS.md names it.
COOP_FOLDERS = {
    "imagenet": "imagenet",
    "caltech101": "caltech-101",
    "oxford_pets": "oxford_pets",
    "stanford_cars": "stanford_cars",
    "oxford_flowers": "oxford_flowers",
    "food101": "food-101",
    "fgvc_aircraft": "fgvc_aircraft",
    "sun397": "sun397",
    "dtd": "dtd",
    "eurosat": "eurosat",
    "ucf101": "ucf101",
    "imagenetv2": "imagenetv2",
    "imagenet_sketch": "imagenet-sketch",
    "imagenet_a": "imagenet-adversarial",
    "imagenet_r": "imagenet-rendition",
}


def expected_splits(fake):
    """(train, val, test) records a reader returns: ImageNet's val is test, a test-only train is test."""
    rec = {name: sorted(items) for name, items in fake.records.items()}
    if "val" in rec:
        return rec["train"], rec["val"], rec["test"]
    if "train" in rec:
        return rec["train"], rec["test"], rec["test"]
    return rec["test"], None, rec["test"]


@pytest.mark.parametrize("config", CONFIGS)
def test_reader_returns_class_names_labels_and_splits_of_the_real_layout(config, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    dataset = build_reader(dataset_cfg(tmp_path, config))
    train, val, test = expected_splits(fake)

    assert fake.folder == tmp_path / COOP_FOLDERS[config]
    assert type(dataset).__name__ == fake.name  # configs/datasets/<config>.yaml names the reader
    assert dataset.classnames == fake.classnames
    assert dataset.num_classes == len(fake.classnames)
    assert relative_records(dataset.train_x, fake.image_dir) == train
    assert relative_records(dataset.test, fake.image_dir) == test
    if val is None:
        assert dataset.val is None
    else:
        assert relative_records(dataset.val, fake.image_dir) == val
    for item in dataset.train_x + dataset.test:
        assert os.path.isfile(item.impath) and os.path.isabs(item.impath)


@pytest.mark.parametrize("subsample", ["base", "new"])
@pytest.mark.parametrize("config", CONFIGS)
def test_base_and_new_halves_keep_their_labels_relabelled_from_zero(config, subsample, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    dataset = build_reader(dataset_cfg(tmp_path, config, subsample=subsample))
    n = len(fake.classnames)
    m = math.ceil(n / 2)  # 5 classes -> 3 base, 2 new; 200 -> 100 and 100
    keep = range(m) if subsample == "base" else range(m, n)
    offset = 0 if subsample == "base" else m

    def halve(split):
        return sorted((path, label - offset, name) for path, label, name in split if label in keep)

    train, val, test = expected_splits(fake)
    assert dataset.classnames == [fake.classnames[label] for label in keep]
    assert relative_records(dataset.train_x, fake.image_dir) == halve(train)
    assert relative_records(dataset.test, fake.image_dir) == halve(test)
    if val is not None:
        assert relative_records(dataset.val, fake.image_dir) == halve(val)


@pytest.mark.parametrize("config", CONFIGS)
def test_few_shot_split_is_sampled_per_class_deterministically_and_cached_as_json(config, tmp_path):
    shots = 1  # ImageNet-A/-R have 2 images per class; a shot of 1 still leaves a choice everywhere
    fake = build_fake_dataset(config, tmp_path / "a")
    first = build_reader(dataset_cfg(tmp_path / "a", config, shots=shots, seed=3))
    train, val, _ = expected_splits(fake)

    sampled = relative_records(first.train_x, fake.image_dir)
    assert set(sampled) <= set(train)
    every_class = range(len(fake.classnames))
    assert Counter(label for _, label, _ in sampled) == {label: shots for label in every_class}
    if "val" in fake.records:
        sampled_val = relative_records(first.val, fake.image_dir)
        assert set(sampled_val) <= set(val)
        val_shots = min(shots, 4)
        assert Counter(label for _, label, _ in sampled_val) == {label: val_shots for label in every_class}

    cache = fake.folder / "split_fewshot" / f"shot_{shots}-seed_3.json"
    cached = json.loads(cache.read_text())
    assert sorted(tuple(r) for r in cached["train"]) == sampled
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".pkl", ".pickle")]

    again = build_reader(dataset_cfg(tmp_path / "a", config, shots=shots, seed=3))
    assert relative_records(again.train_x, fake.image_dir) == sampled
    elsewhere = build_fake_dataset(config, tmp_path / "b")
    fresh = build_reader(dataset_cfg(tmp_path / "b", config, shots=shots, seed=3))
    assert relative_records(fresh.train_x, elsewhere.image_dir) == sampled
    other_seed = build_reader(dataset_cfg(tmp_path / "b", config, shots=shots, seed=4))
    assert relative_records(other_seed.train_x, elsewhere.image_dir) != sampled


@pytest.mark.parametrize("config", CONFIGS)
def test_missing_dataset_folder_names_it_and_the_check_command(config, tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        build_reader(dataset_cfg(tmp_path / "data", config))
    message = str(err.value)
    assert f"dataset folder {tmp_path / 'data' / COOP_FOLDERS[config]} does not exist" in message
    assert f"python -m mopd.data check --root {tmp_path / 'data'} {config}" in message
    assert "DATASETS.md" in message


def test_empty_data_root_says_to_pass_root(tmp_path):
    cfg = dataset_cfg(tmp_path, "dtd")
    cfg.DATASET.ROOT = ""
    with pytest.raises(FileNotFoundError, match="DATASET.ROOT is empty"):
        build_reader(cfg)


@pytest.mark.parametrize("subsample", ["all", "base"])
@pytest.mark.parametrize("config", CONFIGS)
def test_two_classes_named_alike_but_for_case_are_refused_naming_both_before_any_few_shot_file(
    config, subsample, tmp_path
):
    fake = build_fake_dataset(config, tmp_path)
    shouted = fake.classnames[0].upper()
    rename_class(fake, 1, shouted)
    with pytest.raises(ValueError) as err:
        build_reader(dataset_cfg(tmp_path, config, shots=1, subsample=subsample))
    message = str(err.value)
    assert f"classes 0 ({fake.classnames[0]!r}) and 1 ({shouted!r}) give CLIP the same text" in message
    assert str(fake.image_dir) in message
    assert not (fake.folder / "split_fewshot").exists()


@pytest.mark.parametrize("config", ["dtd", "ucf101", "imagenet", "fgvc_aircraft"])
@pytest.mark.parametrize(
    "first, second", [("{} x", "{}_x"), ("{}  x", "{} x"), ("{}-x", "{} - x")],
    ids=["underscore", "double space", "spaced hyphen"],
)
def test_names_that_differ_only_in_underscores_or_spacing_are_refused(config, first, second, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    first, second = first.format(fake.classnames[0]), second.format(fake.classnames[0])
    rename_class(fake, 0, first)
    rename_class(fake, 1, second)
    with pytest.raises(ValueError, match=re.escape(f"classes 0 ({first!r}) and 1 ({second!r}) give CLIP the same")):
        build_reader(dataset_cfg(tmp_path, config))


IMAGENET_FAMILY = ["imagenet", "imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r"]


@pytest.mark.parametrize("config", IMAGENET_FAMILY + ["dtd", "ucf101"])
def test_only_the_imagenet_family_accepts_clips_two_shared_names_with_a_warning(config, tmp_path, caplog):
    fake = build_fake_dataset(config, tmp_path)
    rename_class(fake, 0, "missile")
    rename_class(fake, 1, "missile")
    if config not in IMAGENET_FAMILY:
        with pytest.raises(ValueError, match=re.escape("classes 0 ('missile') and 1 ('missile') give CLIP the same")):
            build_reader(dataset_cfg(tmp_path, config))
        return
    with caplog.at_level(logging.WARNING):
        dataset = build_reader(dataset_cfg(tmp_path, config))
    assert dataset.classnames[:2] == ["missile", "missile"]
    warnings = [r.getMessage() for r in caplog.records if "share a name" in r.getMessage()]
    assert len(warnings) == 1 and "classes 0 ('missile') and 1 ('missile')" in warnings[0]


@pytest.mark.parametrize("config", ["imagenet", "imagenetv2"])
def test_a_shared_imagenet_name_in_another_case_is_refused(config, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    rename_class(fake, 0, "missile")
    rename_class(fake, 1, "Missile")
    with pytest.raises(ValueError, match=re.escape("classes 0 ('missile') and 1 ('Missile') give CLIP the same")):
        build_reader(dataset_cfg(tmp_path, config))


SPLIT_FILE_CONFIGS = [config for config in CONFIGS if config not in IMAGENET_FAMILY + ["fgvc_aircraft"]]


@pytest.mark.parametrize("config", SPLIT_FILE_CONFIGS)
@pytest.mark.parametrize("relabel", [False, True], ids=["twice", "under two labels"])
def test_a_split_file_listing_an_image_twice_or_under_two_labels_is_refused_naming_it(config, relabel, tmp_path):
    fake = build_fake_dataset(config, tmp_path)
    path = fake.folder / fake.split_file
    split = json.loads(path.read_text())
    image, label, name = split["test"][0]
    other = split["test"][-1]
    split["test"].append([image, other[1], other[2]] if relabel else [image, label, name])
    path.write_text(json.dumps(split))
    with pytest.raises(ValueError) as err:
        build_reader(dataset_cfg(tmp_path, config, shots=1))
    expected = (
        f"{image!r} under two labels: {label} ({name!r}) in test and {other[1]} ({other[2]!r}) in test" if relabel
        else f"{image!r} twice in test (label {label}, {name!r})"
    )
    assert f"split file {path} lists 1 image(s)" in str(err.value) and expected in str(err.value)
    assert not (fake.folder / "split_fewshot").exists()


def test_an_image_in_train_and_test_under_the_same_label_is_accepted(tmp_path):
    fake = build_fake_dataset("dtd", tmp_path)
    path = fake.folder / fake.split_file
    split = json.loads(path.read_text())
    split["test"].append(split["train"][0])
    path.write_text(json.dumps(split))
    dataset = build_reader(dataset_cfg(tmp_path, "dtd"))
    assert len(dataset.test) == len(fake.records["test"]) + 1


def test_fgvc_aircraft_variant_listed_twice_is_refused_naming_it(tmp_path):
    fake = build_fake_dataset("fgvc_aircraft", tmp_path)
    rename_class(fake, 1, fake.classnames[0])
    expected = f"{fake.folder / 'variants.txt'} lists {[fake.classnames[0]]} more than once"
    with pytest.raises(ValueError, match=re.escape(expected)):
        build_reader(dataset_cfg(tmp_path, "fgvc_aircraft"))


@pytest.mark.parametrize("relabel", [False, True], ids=["twice", "under two variants"])
def test_fgvc_aircraft_lists_naming_an_image_twice_or_under_two_variants_are_refused(relabel, tmp_path):
    fake = build_fake_dataset("fgvc_aircraft", tmp_path)
    image, label, variant = fake.records["train"][0]
    listed_in, other_label, other = ("test", 1, fake.classnames[1]) if relabel else ("train", label, variant)
    with open(fake.folder / f"images_variant_{listed_in}.txt", "a", encoding="utf-8") as f:
        f.write(f"{image.removesuffix('.jpg')} {other}\n")
    with pytest.raises(ValueError) as err:
        build_reader(dataset_cfg(tmp_path, "fgvc_aircraft"))
    expected = (
        f"{image!r} under two labels: {label} ({variant!r}) in train and {other_label} ({other!r}) in test"
        if relabel else f"{image!r} twice in train (label {label}, {variant!r})"
    )
    assert f"the lists images_variant_{{train,val,test}}.txt in {fake.folder} lists 1 image(s)" in str(err.value)
    assert expected in str(err.value)
