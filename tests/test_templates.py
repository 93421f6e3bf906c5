"""Tests for mopd.prompts.templates: CoOp's per-dataset templates and CLIP's 80 ImageNet templates."""
import logging

import pytest

from mopd.data.catalog import get_entry
from mopd.prompts.templates import (
    DEFAULT_TEMPLATE,
    HAND_CRAFTED_TEMPLATES,
    IMAGENET_TEMPLATES,
    hand_crafted_template,
    prograd_template,
    words_before_class,
)
from mopd.results.names import BENCHMARK_DATASETS, DG_VARIANTS

# DATASET.NAME of every dataset: the 11 benchmarks, the 4 ImageNet variants and the synthetic one.
DATASETS = [get_entry(config).reader for config in BENCHMARK_DATASETS + DG_VARIANTS] + ["Synthetic"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_dataset_has_one_string_template_with_one_placeholder(dataset, caplog):
    with caplog.at_level(logging.WARNING):
        template = hand_crafted_template(dataset)
    assert isinstance(template, str)
    assert template.count("{}") == 1
    assert "{}" not in template.format("dog")
    assert not caplog.records


@pytest.mark.parametrize("dataset", ["ImageNetV2", "ImageNetSketch", "ImageNetA", "ImageNetR", "Synthetic"])
def test_imagenet_variants_and_synthetic_use_the_plain_photo_template(dataset):
    assert hand_crafted_template(dataset) == "a photo of a {}."


def test_templates_are_coops_zero_shot_templates():
    assert HAND_CRAFTED_TEMPLATES["OxfordPets"] == "a photo of a {}, a type of pet."
    assert HAND_CRAFTED_TEMPLATES["OxfordFlowers"] == "a photo of a {}, a type of flower."
    assert HAND_CRAFTED_TEMPLATES["FGVCAircraft"] == "a photo of a {}, a type of aircraft."
    assert HAND_CRAFTED_TEMPLATES["DescribableTextures"] == "{} texture."
    assert HAND_CRAFTED_TEMPLATES["EuroSAT"] == "a centered satellite photo of {}."
    assert HAND_CRAFTED_TEMPLATES["Food101"] == "a photo of {}, a type of food."
    assert HAND_CRAFTED_TEMPLATES["UCF101"] == "a photo of a person doing {}."
    assert HAND_CRAFTED_TEMPLATES["ImageNet"] == "a photo of a {}."


@pytest.mark.parametrize("dataset", DATASETS)
def test_prograd_templates_end_with_the_class_name_so_their_words_can_start_the_context(dataset):
    template = prograd_template(dataset)
    words = words_before_class(template)
    assert template == f"{words} {{}}."
    if HAND_CRAFTED_TEMPLATES.get(dataset, "").startswith(words):
        assert template == hand_crafted_template(dataset)  # only CoOp's "<name>, a type of ..." ones change


def test_prograd_rewrites_coops_templates_that_describe_after_the_class_name():
    assert prograd_template("OxfordPets") == "a type of pet, a photo of a {}."
    assert prograd_template("DescribableTextures") == "a texture of {}."
    assert prograd_template("Food101") == "a type of food, a photo of {}."
    assert prograd_template("EuroSAT") == hand_crafted_template("EuroSAT")


@pytest.mark.parametrize("template", ["{} texture.", "a photo of a {}, a type of pet.", "{}."])
def test_words_before_class_rejects_templates_not_ending_with_the_class_name(template):
    with pytest.raises(ValueError, match="does not end with its class name"):
        words_before_class(template)


def test_unknown_dataset_gets_the_default_template_and_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="mopd.prompts.templates"):
        template = hand_crafted_template("MyOwnDataset")
    assert template == DEFAULT_TEMPLATE == "a photo of a {}."
    assert "MyOwnDataset" in caplog.text
    assert "OxfordPets" in caplog.text


def test_imagenet_templates_are_clips_80_distinct_templates():
    assert len(IMAGENET_TEMPLATES) == 80
    assert len(set(IMAGENET_TEMPLATES)) == 80
    assert all(t.count("{}") == 1 for t in IMAGENET_TEMPLATES)
    assert IMAGENET_TEMPLATES[0] == "a bad photo of a {}."
    assert IMAGENET_TEMPLATES[-1] == "a tattoo of the {}."
    assert {"itap of a {}.", "a {} in a video game.", "a photo of a {}.", "art of the {}."} <= set(
        IMAGENET_TEMPLATES
    )
