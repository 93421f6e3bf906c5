import json
import logging
import os
import random
from collections import Counter

import pytest

from fake_layouts import fake_items
from mopd.data import fewshot
from mopd.data.fewshot import generate_fewshot, load_fewshot_cache, sample_fewshot_splits


def _paths(items):
    return [item.impath for item in items]


def test_generate_fewshot_takes_exactly_num_shots_distinct_items_per_class(tmp_path):
    data = fake_items(tmp_path, [(0, 10), (1, 7), (2, 5)])
    sampled = generate_fewshot(data, 5, random.Random(0))
    assert Counter(item.label for item in sampled) == {0: 5, 1: 5, 2: 5}
    assert len(set(_paths(sampled))) == 15
    assert set(_paths(sampled)) <= set(_paths(data))


def test_generate_fewshot_equals_random_sample_per_label_in_first_appearance_order(tmp_path):
    data = fake_items(tmp_path, [(2, 6), (0, 6), (1, 6)])
    groups = {label: [d for d in data if d.label == label] for label in (2, 0, 1)}
    rng = random.Random(7)
    expected = [item for label in (2, 0, 1) for item in rng.sample(groups[label], 3)]
    assert _paths(generate_fewshot(data, 3, random.Random(7))) == _paths(expected)


def test_generate_fewshot_is_deterministic_for_a_seed_and_differs_for_another(tmp_path):
    data = fake_items(tmp_path, [(0, 30), (1, 30)])
    first = generate_fewshot(data, 4, random.Random(1))
    assert _paths(first) == _paths(generate_fewshot(data, 4, random.Random(1)))
    assert _paths(first) != _paths(generate_fewshot(data, 4, random.Random(2)))


def test_generate_fewshot_keeps_every_item_of_a_small_class(tmp_path):
    data = fake_items(tmp_path, [(0, 8), (1, 2)])
    sampled = generate_fewshot(data, 4, random.Random(0))
    assert Counter(item.label for item in sampled) == {0: 4, 1: 2}
    assert set(_paths(d for d in data if d.label == 1)) <= set(_paths(sampled))


@pytest.mark.parametrize("num_shots", [-1, 0])
def test_generate_fewshot_with_non_positive_shots_returns_all_items(tmp_path, num_shots):
    data = fake_items(tmp_path, [(0, 3), (1, 2)])
    assert _paths(generate_fewshot(data, num_shots, random.Random(0))) == _paths(data)


def _split(tmp_path):
    image_dir = tmp_path / "images"
    train = fake_items(image_dir, [(0, 20), (1, 20), (2, 8)], file="train_{i}.png")
    val = fake_items(image_dir, [(0, 6), (1, 6), (2, 6)], file="val_{i}.png")
    return train, val, image_dir


def test_sample_fewshot_splits_samples_shots_and_min_shots_4_for_val_into_a_json_cache(tmp_path):
    train, val, image_dir = _split(tmp_path)
    fewshot_dir = tmp_path / "split_fewshot"
    ft, fv = sample_fewshot_splits(
        train, val, num_shots=8, seed=1, fewshot_dir=str(fewshot_dir), image_dir=str(image_dir)
    )
    assert Counter(i.label for i in ft) == {0: 8, 1: 8, 2: 8}
    assert Counter(i.label for i in fv) == {0: 4, 1: 4, 2: 4}
    cache = json.loads((fewshot_dir / "shot_8-seed_1.json").read_text())
    assert cache["train"] == [[os.path.relpath(i.impath, image_dir), i.label, i.classname] for i in ft]
    assert cache["val"] == [[os.path.relpath(i.impath, image_dir), i.label, i.classname] for i in fv]
    assert all(not record[0].startswith("/") for record in cache["train"])


def test_sample_fewshot_splits_reuses_the_cache_instead_of_sampling(tmp_path, monkeypatch):
    train, val, image_dir = _split(tmp_path)
    kwargs = dict(num_shots=2, seed=5, fewshot_dir=str(tmp_path / "fs"), image_dir=str(image_dir))
    ft, fv = sample_fewshot_splits(train, val, **kwargs)

    def no_sampling(*args, **kw):
        raise AssertionError("sampled again although a cache exists")

    monkeypatch.setattr(fewshot, "generate_fewshot", no_sampling)
    ct, cv = sample_fewshot_splits(train, val, **kwargs)
    assert _paths(ct) == _paths(ft) and _paths(cv) == _paths(fv)
    assert [i.label for i in ct] == [i.label for i in ft]


def test_sample_fewshot_splits_caches_each_seed_separately(tmp_path):
    train, val, image_dir = _split(tmp_path)
    fewshot_dir = tmp_path / "fs"
    common = dict(num_shots=2, fewshot_dir=str(fewshot_dir), image_dir=str(image_dir))
    a, _ = sample_fewshot_splits(train, val, seed=1, **common)
    b, _ = sample_fewshot_splits(train, val, seed=2, **common)
    caches = sorted(name for name in os.listdir(fewshot_dir) if not name.startswith("."))  # not the lock files
    assert caches == ["shot_2-seed_1.json", "shot_2-seed_2.json"]
    assert _paths(a) != _paths(b)


def test_loading_a_cache_whose_image_was_deleted_names_the_image(tmp_path):
    train, val, image_dir = _split(tmp_path)
    fewshot_dir = tmp_path / "fs"
    ft, _ = sample_fewshot_splits(
        train, val, num_shots=2, seed=1, fewshot_dir=str(fewshot_dir), image_dir=str(image_dir)
    )
    os.remove(ft[0].impath)
    expected = f"shot_2-seed_1.json lists .*{os.path.basename(ft[0].impath)}"
    with pytest.raises(FileNotFoundError, match=expected):
        load_fewshot_cache(str(fewshot_dir / "shot_2-seed_1.json"), str(image_dir))


def test_a_cache_sampled_from_another_split_is_rejected_with_the_fix(tmp_path):
    train, val, image_dir = _split(tmp_path)
    kwargs = dict(num_shots=2, seed=1, fewshot_dir=str(tmp_path / "fs"), image_dir=str(image_dir))
    ft, _ = sample_fewshot_splits(train, val, **kwargs)
    smaller_train = [item for item in train if item.impath != ft[0].impath]
    with pytest.raises(ValueError, match="not in the current train split.*delete .*shot_2-seed_1.json"):
        sample_fewshot_splits(smaller_train, val, **kwargs)


def test_sample_fewshot_splits_without_val_samples_and_caches_train_only(tmp_path):
    train, _, image_dir = _split(tmp_path)
    kwargs = dict(num_shots=2, seed=1, fewshot_dir=str(tmp_path / "fs"), image_dir=str(image_dir))
    ft, fv = sample_fewshot_splits(train, None, **kwargs)
    assert fv is None and Counter(i.label for i in ft) == {0: 2, 1: 2, 2: 2}
    assert json.loads((tmp_path / "fs" / "shot_2-seed_1.json").read_text())["val"] is None
    ct, cv = sample_fewshot_splits(train, None, **kwargs)
    assert cv is None and _paths(ct) == _paths(ft)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mopd.data.fewshot" and r.levelno == logging.WARNING]


def test_classes_with_fewer_images_than_num_shots_keep_them_all_with_one_warning_naming_them(tmp_path, caplog):
    items = fake_items(tmp_path, [(0, 5), (1, 3), (2, 2)])
    kwargs = dict(num_shots=4, seed=1, fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="mopd.data.fewshot"):
        sampled, _ = sample_fewshot_splits(items, None, **kwargs)
    assert Counter(item.label for item in sampled) == {0: 4, 1: 3, 2: 2}
    assert set(_paths(d for d in items if d.label > 0)) <= set(_paths(sampled))  # Dassl keeps every image
    (warning,) = _warnings(caplog)
    assert "fewer images than DATASET.NUM_SHOTS" in warning and "train (asked 4): 'class 1' (3), 'class 2' (2)" in warning
    assert "'class 0'" not in warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mopd.data.fewshot"):
        cached, _ = sample_fewshot_splits(items, None, **kwargs)  # from the cache: same split, same warning
    assert _paths(cached) == _paths(sampled) and len(_warnings(caplog)) == 1


def test_a_short_val_class_is_named_in_the_same_warning_line(tmp_path, caplog):
    train = fake_items(tmp_path, [(0, 3), (1, 6)], file="train_{i}.png")
    val = fake_items(tmp_path, [(0, 4), (1, 1)], file="val_{i}.png")
    with caplog.at_level(logging.WARNING, logger="mopd.data.fewshot"):
        sample_fewshot_splits(train, val, num_shots=4, seed=1, fewshot_dir=str(tmp_path / "fs"), image_dir=str(tmp_path))
    (warning,) = _warnings(caplog)
    assert "train (asked 4): 'class 0' (3); val (asked 4): 'class 1' (1)" in warning


@pytest.mark.parametrize(
    "content, message",
    [
        ("", r"is not valid JSON .*delete it"),
        ('{"train": [], "val": []}', r"holds an empty train split; the file is damaged: delete .*shot_2-seed_1.json"),
        ('{"train": [["c0/train_0.png", 0, "class 0"]], "val": null}',
         r"holds 1 train images of class 0 \('class 0'\) instead of 2; the file is damaged: delete"),
    ],
    ids=["zero bytes", "empty lists", "a class short"],
)
def test_a_damaged_cache_file_is_named_with_the_fix_and_left_as_it_is(tmp_path, content, message):
    train = fake_items(tmp_path, [(0, 4), (1, 4)], file="train_{i}.png")
    cache = tmp_path / "fs" / "shot_2-seed_1.json"
    cache.parent.mkdir()
    cache.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        sample_fewshot_splits(train, None, num_shots=2, seed=1, fewshot_dir=str(cache.parent), image_dir=str(tmp_path))
    assert str(cache) in str(info.value)
    assert cache.read_text() == content


@pytest.mark.parametrize("split", ["train", "val"])
def test_a_cache_listing_an_image_twice_is_refused_with_the_fix_and_left_as_it_is(tmp_path, split):
    train, val, image_dir = _split(tmp_path)
    kwargs = dict(num_shots=2, seed=1, fewshot_dir=str(tmp_path / "fs"), image_dir=str(image_dir))
    sample_fewshot_splits(train, val, **kwargs)
    cache = tmp_path / "fs" / "shot_2-seed_1.json"
    content = json.loads(cache.read_text())
    content[split][1] = content[split][0]  # class 0 still has 2 images listed, one of them twice
    cache.write_text(json.dumps(content))
    before = cache.read_text()
    with pytest.raises(ValueError) as err:
        sample_fewshot_splits(train, val, **kwargs)
    image, label, name = content[split][0]
    assert f"few-shot cache {cache} lists 1 image(s)" in str(err.value)
    assert f"{image!r} twice in {split} (label {label}, {name!r})" in str(err.value)
    assert f"delete {cache} so that it is resampled" in str(err.value)
    assert cache.read_text() == before
