"""Hand-written class-prompt templates: each method's one template per dataset, and CLIP's 80 ImageNet ones.

Dataset keys are Dassl dataset class names (`DATASET.NAME`). Every template holds exactly one
`{}`, the place of the class name. The strings are the authors' own, byte for byte:
zero-shot CLIP and CoOp from KaiyangZhou/CoOp trainers/zsclip.py (`CUSTOM_TEMPLATES`), KgCoOp from
htyao89/KgCoOp KgCoOp/trainers/kgcoop.py, ProGrad from BeierZhu/Prompt-align
ProGrad.public/trainers/prograd.py, the 80 from KaiyangZhou/CoOp trainers/imagenet_templates.py.
"""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "a photo of a {}."

# CoOp's zero-shot template per dataset (Zhou et al., "Learning to Prompt for Vision-Language
# Models"), the one zero-shot CLIP classifies with. "Synthetic" is this repository's own dataset.
HAND_CRAFTED_TEMPLATES: dict[str, str] = {
    "ImageNet": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "OxfordPets": "a photo of a {}, a type of pet.",
    "StanfordCars": "a photo of a {}.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "Food101": "a photo of {}, a type of food.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "SUN397": "a photo of a {}.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
    "Synthetic": DEFAULT_TEMPLATE,
}

# CLIP's prompt-ensemble templates for ImageNet (Radford et al., 2021, the
# "Prompt_Engineering_for_ImageNet" notebook), kept verbatim, article slips included.
IMAGENET_TEMPLATES: tuple[str, ...] = (
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
)

# PromptSRC's teacher ensemble (muzairkhattak/PromptSRC, trainers/imagenet_templates.py): the first 60 of
# the 80, with "a photo of a {}." moved to the front; the same for every dataset.
PROMPTSRC_TEMPLATES: tuple[str, ...] = (IMAGENET_TEMPLATES[39], *IMAGENET_TEMPLATES[:39], *IMAGENET_TEMPLATES[40:60])


# KgCoOp's table (its hand-crafted prompts, the target of its loss) is CoOp's but for DTD.
KGCOOP_TEMPLATE_CHANGES: dict[str, str] = {
    "DescribableTextures": "a photo of a {}, a type of texture.",
}

# ProGrad's own table (its zero-shot teacher and its context init) differs from CoOp's where CoOp
# puts a description after the class name: ProGrad moves it before, so the class name always ends
# the template ("<words> {}.") and the words can initialise a context that precedes the name.
PROGRAD_TEMPLATE_CHANGES: dict[str, str] = {
    "OxfordPets": "a type of pet, a photo of a {}.",
    "OxfordFlowers": "a type of flower, a photo of a {}.",
    "FGVCAircraft": "a type of aircraft, a photo of a {}.",
    "DescribableTextures": "a texture of {}.",
    "Food101": "a type of food, a photo of {}.",
}


def kgcoop_template(dataset_name: str) -> str:
    """KgCoOp's hand-written template for `dataset_name`: CoOp's, but for the one it changes (DTD)."""
    return KGCOOP_TEMPLATE_CHANGES.get(dataset_name) or hand_crafted_template(dataset_name)


def prograd_template(dataset_name: str) -> str:
    """ProGrad's hand-written template for `dataset_name`: CoOp's, but for the five it rewrites."""
    return PROGRAD_TEMPLATE_CHANGES.get(dataset_name) or hand_crafted_template(dataset_name)


def words_before_class(template: str) -> str:
    """The words of a "<words> {}." template, e.g. "a photo of a" (ProGrad's context init)."""
    words, _, rest = template.partition("{}")
    if rest.strip() not in ("", ".") or not words.strip():
        raise ValueError(f"template {template!r} does not end with its class name after some words")
    return words.strip()


def hand_crafted_template(dataset_name: str) -> str:
    """Return CoOp's hand-written template for `dataset_name`, or the default for an unknown dataset."""
    template = HAND_CRAFTED_TEMPLATES.get(dataset_name)
    if template is None:
        logger.warning(
            "No hand-crafted template for dataset %r (known: %s); using %r",
            dataset_name,
            ", ".join(sorted(HAND_CRAFTED_TEMPLATES)),
            DEFAULT_TEMPLATE,
        )
        return DEFAULT_TEMPLATE
    return template
