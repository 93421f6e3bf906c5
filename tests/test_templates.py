"""Tests for mopd.prompts.templates: each method's per-dataset template and CLIP's 80 ImageNet templates.

The authors' tables below are data copied byte for byte from the repositories named above each.
"""
import logging

import pytest

from mopd.data.catalog import get_entry
from mopd.prompts.templates import (
    DEFAULT_TEMPLATE,
    HAND_CRAFTED_TEMPLATES,
    IMAGENET_TEMPLATES,
    hand_crafted_template,
    kgcoop_template,
    prograd_template,
    words_before_class,
)
from mopd.results.names import BENCHMARK_DATASETS, DG_VARIANTS

# DATASET.NAME of every dataset: the 11 benchmarks, the 4 ImageNet variants and the synthetic one.
DATASETS = [get_entry(config).reader for config in BENCHMARK_DATASETS + DG_VARIANTS] + ["Synthetic"]
AUTHORS_DATASETS = DATASETS[:-1]  # the synthetic dataset is ours

# KaiyangZhou/CoOp, trainers/zsclip.py, CUSTOM_TEMPLATES (zero-shot CLIP, CoOp).
COOP_ZSCLIP_TEMPLATES: dict[str, str] = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a photo of {}, a type of food.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
}
# htyao89/KgCoOp, KgCoOp/trainers/kgcoop.py, CUSTOM_TEMPLATES.
KGCOOP_TEMPLATES: dict[str, str] = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "a photo of a {}, a type of texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a photo of {}, a type of food.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
}
# BeierZhu/Prompt-align, ProGrad.public/trainers/prograd.py, CUSTOM_TEMPLATES.
PROGRAD_TEMPLATES: dict[str, str] = {
    "OxfordPets": "a type of pet, a photo of a {}.",
    "OxfordFlowers": "a type of flower, a photo of a {}.",
    "FGVCAircraft": "a type of aircraft, a photo of a {}.",
    "DescribableTextures": "a texture of {}.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a type of food, a photo of {}.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
}
# KaiyangZhou/CoOp, trainers/imagenet_templates.py, IMAGENET_TEMPLATES (CLIP's 80).
COOP_IMAGENET_TEMPLATES = [
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a sculpture of a {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "graffiti of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a tattoo of a {}.",
    "the embroidered {}.",
    "a photo of a hard to see {}.",
    "a bright photo of a {}.",
    "a photo of a clean {}.",
    "a photo of a dirty {}.",
    "a dark photo of the {}.",
    "a drawing of a {}.",
    "a photo of my {}.",
    "the plastic {}.",
    "a photo of the cool {}.",
    "a close-up photo of a {}.",
    "a black and white photo of the {}.",
    "a painting of the {}.",
    "a painting of a {}.",
    "a pixelated photo of the {}.",
    "a sculpture of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a plastic {}.",
    "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a {} in a video game.",
    "a photo of one {}.",
    "a doodle of a {}.",
    "a close-up photo of the {}.",
    "a photo of a {}.",
    "the origami {}.",
    "the {} in a video game.",
    "a sketch of a {}.",
    "a doodle of the {}.",
    "a origami {}.",
    "a low resolution photo of a {}.",
    "the toy {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a rendition of a {}.",
    "a photo of a nice {}.",
    "a photo of a weird {}.",
    "a blurry photo of a {}.",
    "a cartoon {}.",
    "art of a {}.",
    "a sketch of the {}.",
    "a embroidered {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.",
    "a plushie {}.",
    "a photo of the nice {}.",
    "a photo of the small {}.",
    "a photo of the weird {}.",
    "the cartoon {}.",
    "art of the {}.",
    "a drawing of the {}.",
    "a photo of the large {}.",
    "a black and white photo of a {}.",
    "the plushie {}.",
    "a dark photo of a {}.",
    "itap of a {}.",
    "graffiti of the {}.",
    "a toy {}.",
    "itap of my {}.",
    "a photo of a cool {}.",
    "a photo of a small {}.",
    "a tattoo of the {}.",
]


def test_the_authors_tables_cover_the_eleven_datasets_and_the_imagenet_variants():
    for table in (COOP_ZSCLIP_TEMPLATES, KGCOOP_TEMPLATES, PROGRAD_TEMPLATES):
        assert sorted(table) == sorted(AUTHORS_DATASETS)


@pytest.mark.parametrize("dataset", AUTHORS_DATASETS)
def test_zero_shot_clip_and_coop_template_is_coops_zsclip_one(dataset):
    assert hand_crafted_template(dataset) == COOP_ZSCLIP_TEMPLATES[dataset]


@pytest.mark.parametrize("dataset", AUTHORS_DATASETS)
def test_kgcoop_template_is_kgcoops_own(dataset):
    assert kgcoop_template(dataset) == KGCOOP_TEMPLATES[dataset]


@pytest.mark.parametrize("dataset", AUTHORS_DATASETS)
def test_prograd_template_is_prograds_own(dataset):
    assert prograd_template(dataset) == PROGRAD_TEMPLATES[dataset]


def test_kgcoops_dtd_template_is_not_coops():
    assert kgcoop_template("DescribableTextures") == "a photo of a {}, a type of texture."
    assert hand_crafted_template("DescribableTextures") == "{} texture."


def test_imagenet_templates_are_coops_copy_of_clips_80_in_order():
    assert list(IMAGENET_TEMPLATES) == COOP_IMAGENET_TEMPLATES


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


@pytest.mark.parametrize("dataset", DATASETS)
def test_prograd_templates_end_with_the_class_name_so_their_words_can_start_the_context(dataset):
    template = prograd_template(dataset)
    words = words_before_class(template)
    assert template == f"{words} {{}}."
    if HAND_CRAFTED_TEMPLATES.get(dataset, "").startswith(words):
        assert template == hand_crafted_template(dataset)  # only CoOp's "<name>, a type of ..." ones change


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


def test_imagenet_templates_are_80_distinct_templates():
    assert len(set(IMAGENET_TEMPLATES)) == 80
    assert all(t.count("{}") == 1 for t in IMAGENET_TEMPLATES)
