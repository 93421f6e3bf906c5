"""Tests for mopd.prompts.pools: the teacher pools, pool files and their validation errors."""
import logging
import re

import pytest

from mopd.data.catalog import get_entry
from mopd.prompts.pools import (
    MIXED_TEMPLATES,
    POOL_NAMES,
    custom_pool,
    load_pool_file,
    load_teacher_pool,
    validate_pool,
)
from mopd.prompts.templates import IMAGENET_TEMPLATES
from mopd.results.names import BENCHMARK_DATASETS

ELEVEN_DATASETS = [get_entry(config).reader for config in BENCHMARK_DATASETS]  # DATASET.NAME of each
DOMAIN_WORDS = {
    "OxfordPets": "pet",
    "OxfordFlowers": "flower",
    "FGVCAircraft": "aircraft",
    "Food101": "food",
    "DescribableTextures": "texture",
}
GENERIC_POOL = [
    "a photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "a photo, classified as {}.",
    "a photo, categorized as {}.",
    "a photo, labeled as {}.",
    "a picture, classified as {}.",
    "a picture, categorized as {}.",
    "a picture, labeled as {}.",
    "an image, classified as {}.",
    "an image, categorized as {}.",
    "an image, labeled as {}.",
]


def _article_errors(template: str) -> list[str]:
    """Article slips: "a" before a vowel letter, "an" before a consonant."""
    return re.findall(r"\ba [aeiou]\w*", template) + re.findall(r"\ban [^aeiou\W]\w*", template)


@pytest.mark.parametrize("dataset", ELEVEN_DATASETS)
def test_custom_pool_has_twelve_distinct_templates_with_one_placeholder(dataset):
    pool = load_teacher_pool("custom", dataset)
    assert len(pool) == 12
    assert len(set(pool)) == 12
    assert all(t.count("{}") == 1 and t.count("{") == 1 and t.count("}") == 1 for t in pool)
    validate_pool(pool, top_k=3)


@pytest.mark.parametrize("dataset", ELEVEN_DATASETS)
def test_custom_pool_has_no_article_errors(dataset):
    pool = custom_pool(dataset)
    assert [t for t in pool if _article_errors(t)] == []
    assert [sum(noun in t for t in pool) for noun in ("photo", "picture", "image")] == [4, 4, 4]


@pytest.mark.parametrize("dataset, word", sorted(DOMAIN_WORDS.items()))
def test_custom_pool_names_the_domain_in_every_template(dataset, word):
    assert all(word in t for t in custom_pool(dataset))


def test_article_check_catches_the_reference_grammar_errors():
    assert _article_errors("a photo of a aircraft, classified as {}.") == ["a aircraft"]
    assert _article_errors("a image of a {}.") == ["a image"]
    assert _article_errors("an photo of a {}.") == ["an photo"]


def test_custom_pool_of_aircraft_uses_an_before_aircraft():
    assert custom_pool("FGVCAircraft") == [
        "a photo of a {}, a type of aircraft.",
        "a picture of a {}, a type of aircraft.",
        "an image of a {}, a type of aircraft.",
        "a photo of an aircraft, classified as {}.",
        "a photo of an aircraft, categorized as {}.",
        "a photo of an aircraft, labeled as {}.",
        "a picture of an aircraft, classified as {}.",
        "a picture of an aircraft, categorized as {}.",
        "a picture of an aircraft, labeled as {}.",
        "an image of an aircraft, classified as {}.",
        "an image of an aircraft, categorized as {}.",
        "an image of an aircraft, labeled as {}.",
    ]


def test_custom_pool_of_food_treats_food_as_uncountable():
    pool = custom_pool("Food101")
    assert pool[:4] == [
        "a photo of {}, a type of food.",
        "a picture of {}, a type of food.",
        "an image of {}, a type of food.",
        "a photo of food, classified as {}.",
    ]
    assert pool[-1] == "an image of food, labeled as {}."


def test_custom_pool_of_textures_has_no_article_before_the_class_name():
    pool = custom_pool("DescribableTextures")
    assert pool[:3] == [
        "a photo of {}, a type of texture.",
        "a picture of {}, a type of texture.",
        "an image of {}, a type of texture.",
    ]


def test_custom_pool_of_eurosat_and_ucf101_follow_method_phrasings():
    eurosat = custom_pool("EuroSAT")
    assert eurosat[0] == "a centered satellite photo of {}."
    assert eurosat[3] == "a centered satellite photo, classified as {}."
    assert eurosat[-1] == "a centered satellite image, labeled as {}."
    ucf = custom_pool("UCF101")
    assert ucf[0] == "a photo of a person doing {}."
    assert ucf[-1] == "an image of a person doing, labeled as {}."


@pytest.mark.parametrize("dataset", ["ImageNet", "Caltech101", "StanfordCars", "SUN397"])
def test_datasets_without_domain_word_get_the_generic_pool(dataset):
    assert custom_pool(dataset) == GENERIC_POOL


@pytest.mark.parametrize("dataset", ["ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR", "Synthetic"])
def test_imagenet_variants_and_synthetic_get_a_list_of_twelve_generic_templates(dataset, caplog):
    with caplog.at_level(logging.WARNING):
        pool = load_teacher_pool("custom", dataset)
    assert pool == GENERIC_POOL
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_unknown_dataset_gets_the_generic_pool_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="mopd.prompts.pools"):
        pool = load_teacher_pool("custom", "MyOwnDataset")
    assert pool == GENERIC_POOL
    assert "MyOwnDataset" in caplog.text


def test_imagenet80_pool_is_clips_80_templates_for_any_dataset():
    assert load_teacher_pool("imagenet80", "EuroSAT") == list(IMAGENET_TEMPLATES)
    assert len(load_teacher_pool("imagenet80", "ImageNet")) == 80


def test_mixed_pool_holds_task_related_and_unrelated_templates():
    pool = load_teacher_pool("mixed", "OxfordPets")
    assert pool == list(MIXED_TEMPLATES)
    assert 30 <= len(pool) <= 40
    assert len(set(pool)) == len(pool)
    validate_pool(pool, top_k=len(pool))
    assert "a photo of a {}, a type of pet." in pool
    assert "a centered satellite photo of {}." in pool
    assert [t for t in pool if _article_errors(t)] == []


def test_pool_file_skips_blank_and_comment_lines(tmp_path):
    path = tmp_path / "pool.txt"
    path.write_text("# my pool\n\na photo of a {}.\n   a sketch of a {}.  \n  # indented comment\n{} texture.\n")
    assert load_pool_file(path) == ["a photo of a {}.", "a sketch of a {}.", "{} texture."]
    assert load_teacher_pool("file", "ImageNet", str(path)) == ["a photo of a {}.", "a sketch of a {}.", "{} texture."]


def test_missing_pool_file_raises_file_not_found_naming_it(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_teacher_pool("file", "ImageNet", str(missing))


def test_pool_file_that_is_a_folder_is_named_as_a_folder_not_as_missing(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        load_teacher_pool("file", "ImageNet", str(tmp_path))
    assert f"Teacher pool file {str(tmp_path)!r} is a folder" in str(info.value) and "not found" not in str(info.value)


def test_binary_pool_file_is_named_as_not_text(tmp_path):
    path = tmp_path / "pool.bin"
    path.write_bytes(b"a photo of a {}.\n\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match=rf"Teacher pool file {path} is not UTF-8 text \(undecodable byte at offset 17\)"):
        load_teacher_pool("file", "ImageNet", str(path))


def test_pool_file_template_without_placeholder_names_its_line(tmp_path):
    path = tmp_path / "pool.txt"
    path.write_text("a photo of a {}.\n# comment\na photo of a thing.\n")
    with pytest.raises(ValueError, match=r"pool.txt:3: template 'a photo of a thing\.' has 0"):
        load_pool_file(path)


def test_pool_file_template_with_two_placeholders_names_its_line(tmp_path):
    path = tmp_path / "pool.txt"
    path.write_text("a {} of a {}.\n")
    with pytest.raises(ValueError, match=r"pool.txt:1: .* has 2 '\{\}' placeholders"):
        load_pool_file(path)


def test_pool_file_with_only_comments_is_rejected(tmp_path):
    path = tmp_path / "pool.txt"
    path.write_text("# nothing here\n\n")
    with pytest.raises(ValueError, match="has no templates"):
        load_pool_file(path)


def test_file_pool_without_a_path_is_rejected():
    with pytest.raises(ValueError, match="needs a pool file"):
        load_teacher_pool("file", "ImageNet")


def test_pool_file_with_another_pool_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="only read with pool 'file'.*'custom'"):
        load_teacher_pool("custom", "ImageNet", str(tmp_path / "pool.txt"))


def test_unknown_pool_name_lists_valid_names_and_nearest():
    with pytest.raises(ValueError) as info:
        load_teacher_pool("imagenet", "ImageNet")
    message = str(info.value)
    assert "'imagenet'" in message
    assert all(name in message for name in POOL_NAMES)
    assert "did you mean 'imagenet80'" in message


def test_validate_pool_rejects_an_empty_pool():
    with pytest.raises(ValueError, match="empty"):
        validate_pool([], top_k=1)


@pytest.mark.parametrize(
    "bad, reason",
    [("a photo.", "has 0"), ("{} and {}", "has 2"), ("a {} of {name}", "braces other than"), ("{0}", "has 0")],
)
def test_validate_pool_names_the_index_and_text_of_a_bad_template(bad, reason):
    with pytest.raises(ValueError) as info:
        validate_pool(["a photo of a {}.", bad], top_k=1)
    assert f"Teacher template 1 ({bad!r})" in str(info.value)
    assert reason in str(info.value)


@pytest.mark.parametrize("top_k", [0, -1, 4])
def test_validate_pool_rejects_top_k_outside_one_to_pool_size(top_k):
    pool = ["a photo of a {}.", "a sketch of a {}.", "{} texture."]
    with pytest.raises(ValueError) as info:
        validate_pool(pool, top_k)
    assert f"top_k={top_k}" in str(info.value)
    assert "pool size 3" in str(info.value)


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_validate_pool_accepts_top_k_from_one_to_pool_size(top_k):
    assert validate_pool(["a photo of a {}.", "a sketch of a {}.", "{} texture."], top_k) is None
