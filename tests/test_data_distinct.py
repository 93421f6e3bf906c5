"""Refusing data that cannot be told apart (mopd/data/distinct.py), against checks written out here."""
import itertools
import logging
import random

import pytest

from mopd.data.distinct import (
    MAX_LISTED,
    clashing_classes,
    repeated_images,
    require_distinct_classes,
    require_distinct_images,
)


def _naive_repeated(splits):
    """The images listed twice in one split, or under two labels, by comparing every pair of listings."""
    listings = [(split, path.removeprefix("./"), label) for split, records in splits.items()
                for path, label, _ in records]
    return {
        p2 for (s1, p1, l1), (s2, p2, l2) in itertools.combinations(listings, 2) if p1 == p2 and (s1 == s2 or l1 != l2)
    }


def test_repeated_images_names_the_images_that_comparing_every_pair_finds():
    rng = random.Random(0)
    paths = ["a.png", "./a.png", "b.png", "c/d.png", "e.png"]
    for _ in range(200):
        splits = {
            split: [(rng.choice(paths), rng.randrange(3), "n") for _ in range(4)] for split in ("train", "val", "test")
        }
        named = {problem.split("'")[1].removeprefix("./") for problem in repeated_images(splits)}
        assert named == _naive_repeated(splits), splits


def test_an_image_in_two_splits_under_one_label_is_not_a_repeat():
    record = ("a.png", 1, "cat")
    assert repeated_images({"train": [record], "val": [record], "test": [record]}) == []


def test_the_error_names_the_source_the_first_problems_counts_the_rest_and_gives_the_fix():
    records = [(f"{i}.png", 0, "cat") for i in range(MAX_LISTED + 2)] * 2
    with pytest.raises(ValueError) as err:
        require_distinct_images({"test": records}, source="split file s.json", fix="correct it")
    message = str(err.value)
    assert message.startswith(f"split file s.json lists {MAX_LISTED + 2} image(s) more than once or under two labels")
    assert "'0.png' twice in test (label 0, 'cat')" in message and f"'{MAX_LISTED}.png'" not in message
    assert message.endswith("; and 2 more; correct it")


@pytest.mark.parametrize(
    "first, second",
    [("cat", "Cat"), ("golden retriever", "golden_retriever"), ("golden retriever", "golden  retriever"),
     ("t-shirt", "T - Shirt"), ("cat", " cat ")],
)
def test_names_clip_reads_alike_clash(first, second):
    assert clashing_classes([(0, first), (1, second), (2, "dog")]) == [
        f"classes 0 ({first!r}) and 1 ({second!r}) give CLIP the same text"
    ]


@pytest.mark.parametrize("first, second", [("cat", "cats"), ("t-shirt", "tshirt"), ("red fox", "redfox")])
def test_names_clip_reads_differently_do_not_clash(first, second):
    assert clashing_classes([(0, first), (1, second)]) == []


def test_a_label_with_two_names_and_a_group_of_three_are_each_one_line():
    pairs = [(0, "cat"), (0, "Cat"), (1, "CAT"), (2, "dog"), (3, "Dog"), (4, "DOG"), (2, "dog")] * 1000
    assert clashing_classes(pairs) == [
        "label 0 is named both 'Cat' and 'cat'",
        "classes 0 ('Cat') and 1 ('CAT') give CLIP the same text",
        "classes 2 ('dog'), 3 ('Dog') and 4 ('DOG') give CLIP the same text",
    ]


def test_shared_names_are_accepted_only_when_identical_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="mopd.data.distinct"):
        assert clashing_classes([(0, "missile"), (1, "missile")], shared_names={"missile"}, where="ImageNet") == []
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith("ImageNet: classes 0 ('missile') and 1 ('missile') share a name")
    assert clashing_classes([(0, "missile"), (1, "Missile")], shared_names={"missile"}) == [
        "classes 0 ('missile') and 1 ('Missile') give CLIP the same text"
    ]


def test_the_class_error_names_where_and_how_to_fix_it():
    with pytest.raises(ValueError) as err:
        require_distinct_classes([(0, "Cat"), (1, "cat")], where="the dataset in /data/x")
    message = str(err.value)
    assert message.startswith("the classes of the dataset in /data/x cannot be told apart: classes 0 ('Cat') and 1")
    assert "ignores case and spacing" in message and "'_' as a space" in message
