"""Tests for mopd.prompts.pools: the teacher pools, combined pools, pool files and their validation errors.

The authors' strings below are data copied from cheny02/MoPD-TMM, trainers/mopd_templates.py
(`CUSTOM_TEMPLATES`, `LASP_PROMPTS`, `NOISY_PROMPTS` group A), byte for byte: our pools must equal them.
"""
import re

import pytest

from mopd.data.catalog import get_entry
from mopd.prompts.pools import (
    POOL_NAMES,
    custom_pool,
    load_pool_file,
    load_teacher_pool,
    parse_pool,
    validate_pool,
)
from mopd.prompts.templates import IMAGENET_TEMPLATES
from mopd.results.names import BENCHMARK_DATASETS

ELEVEN_DATASETS = [get_entry(config).reader for config in BENCHMARK_DATASETS]  # DATASET.NAME of each
IMAGENET_VARIANTS = ["ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR"]

AUTHORS_CUSTOM_TEMPLATES: dict[str, list[str]] = {
    "OxfordPets": [
        "a photo of a {}, a type of pet.",
        "a picture of a {}, a type of pet.",
        "an image of a {}, a type of pet.",
        "a photo of a pet, classified as {}.",
        "a photo of a pet, categorized as {}.",
        "a photo of a pet, labeled as {}.",
        "a picture of a pet, classified as {}.",
        "a picture of a pet, categorized as {}.",
        "a picture of a pet, labeled as {}.",
        "an image of a pet, classified as {}.",
        "an image of a pet, categorized as {}.",
        "an image of a pet, labeled as {}.",
    ],
    "OxfordFlowers": [
        "a photo of a {}, a type of flower.",
        "a picture of a {}, a type of flower.",
        "an image of a {}, a type of flower.",
        "a photo of a flower, classified as {}.",
        "a photo of a flower, categorized as {}.",
        "a photo of a flower, labeled as {}.",
        "a picture of a flower, classified as {}.",
        "a picture of a flower, categorized as {}.",
        "a picture of a flower, labeled as {}.",
        "an image of a flower, classified as {}.",
        "an image of a flower, categorized as {}.",
        "an image of a flower, labeled as {}.",
    ],
    "FGVCAircraft": [
        "a photo of a {}, a type of aircraft.",
        "a picture of a {}, a type of aircraft.",
        "an image of a {}, a type of aircraft.",
        "a photo of a aircraft, classified as {}.",
        "a photo of a aircraft, categorized as {}.",
        "a photo of a aircraft, labeled as {}.",
        "a picture of a aircraft, classified as {}.",
        "a picture of a aircraft, categorized as {}.",
        "a picture of a aircraft, labeled as {}.",
        "an image of a aircraft, classified as {}.",
        "an image of a aircraft, categorized as {}.",
        "an image of a aircraft, labeled as {}.",
    ],
    "DescribableTextures": [
        "a photo of {}, a type of texture.",
        "a picture of {}, a type of texture.",
        "an image of {}, a type of texture.",
        "a photo of a texture, classified as {}.",
        "a photo of a texture, categorized as {}.",
        "a photo of a texture, labeled as {}.",
        "a picture of a texture, classified as {}.",
        "a picture of a texture, categorized as {}.",
        "a picture of a texture, labeled as {}.",
        "an image of a texture, classified as {}.",
        "an image of a texture, categorized as {}.",
        "an image of a texture, labeled as {}.",
    ],
    "EuroSAT": [
        "a centered satellite photo of {}.",
        "a centered satellite picture of {}.",
        "a centered satellite image of {}.",
        "a centered satellite photo, classified as {}.",
        "a centered satellite photo, categorized as {}.",
        "a centered satellite photo, labeled as {}.",
        "a centered satellite picture, classified as {}.",
        "a centered satellite picture, categorized as {}.",
        "a centered satellite picture, labeled as {}.",
        "a centered satellite image, classified as {}.",
        "a centered satellite image, categorized as {}.",
        "a centered satellite image, labeled as {}.",
    ],
    "StanfordCars": [
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
    ],
    "Food101": [
        "a photo of {}, a type of food.",
        "a picture of {}, a type of food.",
        "an image of {}, a type of food.",
        "a photo of food, classified as {}.",
        "a photo of food, categorized as {}.",
        "a photo of food, labeled as {}.",
        "a picture of food, classified as {}.",
        "a picture of food, categorized as {}.",
        "a picture of food, labeled as {}.",
        "an image of food, classified as {}.",
        "an image of food, categorized as {}.",
        "an image of food, labeled as {}.",
    ],
    "SUN397": [
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
    ],
    "Caltech101": [
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
    ],
    "UCF101": [
        "a photo of a person doing {}.",
        "a picture of a person doing {}.",
        "an image of a person doing {}.",
        "a photo of a person doing, classified as {}.",
        "a photo of a person doing, categorized as {}.",
        "a photo of a person doing, labeled as {}.",
        "a picture of a person doing, classified as {}.",
        "a picture of a person doing, categorized as {}.",
        "a picture of a person doing, labeled as {}.",
        "an image of a person doing, classified as {}.",
        "an image of a person doing, categorized as {}.",
        "an image of a person doing, labeled as {}.",
    ],
    "ImageNet": [
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
    ],
}
AUTHORS_LASP_PROMPTS = [
    "a photo of a {}, a type of flower.",
    "a photo of a person doing {}.",
    "a centered satellite photo of {}.",
    "a photo of a {}, a type of aircraft.",
    "{} texture.",
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
    "a photo of a {}.",
    "a photo of many {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a pixelated photo of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a close-up photo of the {}.",
    "a low resolution photo of a {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a blurry photo of a {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.",
]
AUTHORS_NOISY_PROMPTS = [
    "a collection of {} floating in the sky",
    "{} wrapped in a mysterious bubble",
    "an unexpected encounter with a {}",
    "a {} hidden among the stars",
    "a vibrant dance of the {}",
    "the laughter of a {} echoing through the forest",
    "a {} emerging from the depths of the ocean",
    "a journey through the pages of a {}",
    "the whispers of a {} in the wind",
    "a {} perched on the edge of a cliff",
    "a {} illuminated by the moonlight",
    "the song of a {} resonating in the mountains",
]


def test_the_authors_data_covers_the_eleven_datasets():
    assert sorted(AUTHORS_CUSTOM_TEMPLATES) == sorted(ELEVEN_DATASETS)


@pytest.mark.parametrize("dataset", ELEVEN_DATASETS)
def test_custom_pool_is_the_authors_templates_byte_for_byte(dataset):
    assert load_teacher_pool("custom", dataset) == AUTHORS_CUSTOM_TEMPLATES[dataset]


def test_custom_pool_of_aircraft_keeps_the_authors_a_aircraft():
    pool = custom_pool("FGVCAircraft")
    assert sum("a aircraft" in t for t in pool) == 9
    assert not any("an aircraft" in t for t in pool)


@pytest.mark.parametrize("dataset", IMAGENET_VARIANTS)
def test_imagenet_variants_get_imagenets_twelve_templates(dataset, caplog):
    # The authors map each variant to one string, which their code iterates character by character;
    # ImageNet's pool keeps the gate of an ImageNet checkpoint the same width on its variants.
    with caplog.at_level("WARNING", logger="mopd.prompts.pools"):
        assert custom_pool(dataset) == AUTHORS_CUSTOM_TEMPLATES["ImageNet"]
    assert caplog.records == []


def test_custom_pool_of_an_unknown_dataset_warns_and_uses_imagenets(caplog):
    with caplog.at_level("WARNING", logger="mopd.prompts.pools"):
        pool = load_teacher_pool("custom", "MyOwnDataset")
    assert pool == AUTHORS_CUSTOM_TEMPLATES["ImageNet"]
    assert "MyOwnDataset" in caplog.text


@pytest.mark.parametrize("dataset", ELEVEN_DATASETS)
def test_custom_pool_is_valid_for_top_k_up_to_twelve(dataset):
    validate_pool(load_teacher_pool("custom", dataset), top_k=12)


def test_imagenet80_pool_is_clips_80_templates_for_any_dataset():
    assert load_teacher_pool("imagenet80", "EuroSAT") == list(IMAGENET_TEMPLATES)
    assert len(load_teacher_pool("imagenet80", "ImageNet")) == 80


def test_mixed_pool_is_the_authors_35_templates_with_their_duplicate():
    pool = load_teacher_pool("mixed", "OxfordPets")
    assert pool == AUTHORS_LASP_PROMPTS
    assert len(pool) == 35 and len(set(pool)) == 34
    assert pool.count("a bad photo of the {}.") == 2
    validate_pool(pool, top_k=35)


def test_noisy_pool_is_the_authors_12_task_unrelated_templates():
    pool = load_teacher_pool("noisy", "DescribableTextures")
    assert pool == AUTHORS_NOISY_PROMPTS
    validate_pool(pool, top_k=12)


def test_combined_pool_concatenates_its_pools_in_order():
    pool = load_teacher_pool("custom+noisy", "OxfordPets")
    assert pool == AUTHORS_CUSTOM_TEMPLATES["OxfordPets"] + AUTHORS_NOISY_PROMPTS
    assert load_teacher_pool("noisy + custom", "OxfordPets") == AUTHORS_NOISY_PROMPTS + AUTHORS_CUSTOM_TEMPLATES[
        "OxfordPets"
    ]
    validate_pool(pool, top_k=24)


def test_combined_pool_keeps_templates_two_pools_share():
    pool = load_teacher_pool("custom+mixed", "Caltech101")
    assert len(pool) == 12 + 35
    assert pool.count("a photo of a {}.") == 2  # the first custom template and one of the mixed ones


def test_combined_pool_reads_the_pool_file_for_its_file_part(tmp_path):
    path = tmp_path / "pool.txt"
    path.write_text("a sketch of a {}.\n")
    pool = load_teacher_pool("noisy+file", "ImageNet", str(path))
    assert pool == AUTHORS_NOISY_PROMPTS + ["a sketch of a {}."]


def test_parse_pool_splits_and_strips_names():
    assert parse_pool("custom") == ["custom"]
    assert parse_pool(" custom + noisy ") == ["custom", "noisy"]


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


@pytest.mark.parametrize("pool", ["imagenet", "custom+imagenet"])
def test_unknown_pool_name_lists_valid_names_and_nearest(pool):
    with pytest.raises(ValueError) as info:
        load_teacher_pool(pool, "ImageNet")
    message = str(info.value)
    assert "'imagenet'" in message
    assert all(name in message for name in POOL_NAMES)
    assert "did you mean 'imagenet80'" in message


@pytest.mark.parametrize("pool", ["custom+", "+noisy", "custom++noisy"])
def test_an_empty_part_of_a_combined_pool_is_rejected(pool):
    with pytest.raises(ValueError, match=f"Unknown teacher pool '' in '{re.escape(pool)}'"):
        load_teacher_pool(pool, "ImageNet")


def test_a_pool_named_twice_is_rejected():
    with pytest.raises(ValueError, match="names custom more than once"):
        load_teacher_pool("custom+noisy+custom", "ImageNet")


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
