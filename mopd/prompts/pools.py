"""Teacher-prompt pools for MoPD: the per-dataset `custom` pool, `imagenet80`, `mixed` and user files.

A pool is a list of templates, each with exactly one `{}` for the class name. Every template is
read through the frozen CLIP text encoder to form one teacher prompt (METHOD.md, "Teacher pools").
"""
from __future__ import annotations

import difflib
import logging
from pathlib import Path
from typing import Literal, Sequence, get_args

from mopd.prompts.templates import IMAGENET_TEMPLATES

logger = logging.getLogger(__name__)

PoolName = Literal["custom", "imagenet80", "mixed", "file"]
POOL_NAMES: tuple[str, ...] = get_args(PoolName)

_NOUNS = ("photo", "picture", "image")
_VERBS = ("classified", "categorized", "labeled")

# Per dataset, the two phrasings of the `custom` pool with "<noun>" standing for photo, picture
# or image: `named` puts the class name inside the description, `subject` is what the picture
# shows before ", classified as {}." Articles are added by `_with_article`.
_DOMAIN_PHRASINGS: dict[str, tuple[str, str]] = {
    "OxfordPets": ("<noun> of a {}, a type of pet.", "<noun> of a pet"),
    "OxfordFlowers": ("<noun> of a {}, a type of flower.", "<noun> of a flower"),
    "FGVCAircraft": ("<noun> of a {}, a type of aircraft.", "<noun> of an aircraft"),
    # Food and texture class names are mostly mass nouns or adjectives ("pizza", "banded").
    "Food101": ("<noun> of {}, a type of food.", "<noun> of food"),
    "DescribableTextures": ("<noun> of {}, a type of texture.", "<noun> of a texture"),
    "EuroSAT": ("centered satellite <noun> of {}.", "centered satellite <noun>"),
    "UCF101": ("<noun> of a person doing {}.", "<noun> of a person doing"),
}
_GENERIC_PHRASING = ("<noun> of a {}.", "<noun>")
# Datasets that use the pool without a domain word on purpose (no warning for them).
_GENERIC_DATASETS = frozenset(
    {
        "ImageNet",
        "Caltech101",
        "StanfordCars",
        "SUN397",
        "ImageNetV2",
        "ImageNetSketch",
        "ImageNetA",
        "ImageNetR",
        "Synthetic",
    }
)

# Task-related and task-unrelated templates, in the spirit of the reference code's ablation pool:
# domain templates of several datasets (right for one task, wrong for the others), generic and
# degraded-photo templates, renditions in other media, and sentences that describe no image type.
MIXED_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a photo of a {}, a type of pet.",
    "a photo of a {}, a type of flower.",
    "a photo of a {}, a type of aircraft.",
    "a photo of {}, a type of food.",
    "{} texture.",
    "a centered satellite photo of {}.",
    "a photo of a person doing {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a cropped photo of the {}.",
    "a bright photo of a {}.",
    "a dark photo of the {}.",
    "a blurry photo of a {}.",
    "a low resolution photo of the {}.",
    "a pixelated photo of a {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of the {}.",
    "a bad photo of a {}.",
    "a photo of the small {}.",
    "a photo of the large {}.",
    "a photo of many {}.",
    "itap of a {}.",
    "a sketch of the {}.",
    "a drawing of a {}.",
    "a painting of the {}.",
    "a rendering of a {}.",
    "a cartoon {}.",
    "an origami {}.",
    "a {} in a video game.",
    "a plush toy of a {}.",
    "a tattoo of the {}.",
    "the word {} written on a blackboard.",
    "a {} drifting among the clouds at dawn.",
    "a story told by a {} to the moon.",
    "the echo of a {} in an empty hall.",
)


def _with_article(phrase: str) -> str:
    """Prefix "an" to a phrase starting with a vowel letter, else "a" (right for the nouns used here)."""
    article = "an" if phrase[0] in "aeiou" else "a"
    return f"{article} {phrase}"


def custom_pool(dataset_name: str) -> list[str]:
    """Return the 12 `custom` templates of `dataset_name`: 3 nouns x ("named" + 3 "<verb> as {}")."""
    phrasing = _DOMAIN_PHRASINGS.get(dataset_name)
    if phrasing is None:
        if dataset_name not in _GENERIC_DATASETS:
            logger.warning(
                "No custom teacher pool for dataset %r (datasets with a domain word: %s); "
                "using the pool without a domain word",
                dataset_name,
                ", ".join(sorted(_DOMAIN_PHRASINGS)),
            )
        phrasing = _GENERIC_PHRASING
    named, subject = phrasing
    templates = [_with_article(named.replace("<noun>", noun)) for noun in _NOUNS]
    templates += [
        f"{_with_article(subject.replace('<noun>', noun))}, {verb} as {{}}."
        for noun in _NOUNS
        for verb in _VERBS
    ]
    return templates


def _template_error(template: str) -> str | None:
    """Return why `template` is not a valid class-prompt template, or None when it is."""
    placeholders = template.count("{}")
    if placeholders != 1:
        return f"has {placeholders} '{{}}' placeholders, needs exactly one for the class name"
    if template.count("{") != 1 or template.count("}") != 1:
        return "has braces other than the one '{}' placeholder; remove them"
    return None


def load_pool_file(path: str | Path) -> list[str]:
    """Read a pool file: one template per line; blank lines and lines starting with `#` are skipped."""
    file = Path(path).expanduser()
    expected = "give the path of a text file with one template containing '{}' per line"
    if file.is_dir():
        raise IsADirectoryError(f"Teacher pool file {str(path)!r} is a folder ({file.resolve()}); {expected}")
    if not file.is_file():
        raise FileNotFoundError(f"Teacher pool file {str(path)!r} not found (resolved to {file.resolve()}); {expected}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"Teacher pool file {file} is not UTF-8 text (undecodable byte at offset {err.start}); {expected}"
        ) from err
    templates = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        template = line.strip()
        if not template or template.startswith("#"):
            continue
        error = _template_error(template)
        if error is not None:
            raise ValueError(f"{file}:{lineno}: template {template!r} {error}")
        templates.append(template)
    if not templates:
        raise ValueError(
            f"Teacher pool file {file} has no templates (only blank or '#' lines); "
            "add one template containing '{}' per line"
        )
    return templates


def load_teacher_pool(pool: PoolName, dataset_name: str, pool_file: str = "") -> list[str]:
    """Return the templates of teacher pool `pool` for `dataset_name` (`pool_file` only for "file")."""
    if pool not in POOL_NAMES:
        nearest = difflib.get_close_matches(str(pool), POOL_NAMES, n=1)
        hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
        raise ValueError(f"Unknown teacher pool {pool!r}; valid pools: {', '.join(POOL_NAMES)}{hint}")
    if pool_file and pool != "file":
        raise ValueError(
            f"A pool file ({pool_file!r}) is only read with pool 'file', but pool is {pool!r}; "
            "set the pool to 'file' or clear the pool file"
        )
    if pool == "custom":
        templates = custom_pool(dataset_name)
    elif pool == "imagenet80":
        templates = list(IMAGENET_TEMPLATES)
    elif pool == "mixed":
        templates = list(MIXED_TEMPLATES)
    else:
        if not pool_file:
            raise ValueError(
                "Pool 'file' needs a pool file: give the path of a text file with one "
                "template containing '{}' per line"
            )
        templates = load_pool_file(pool_file)
    logger.info("Teacher pool %r for %s: %d templates", pool, dataset_name, len(templates))
    return templates


def validate_pool(templates: Sequence[str], top_k: int) -> None:
    """Raise ValueError unless the pool is non-empty, each template has one `{}`, and 1 <= top_k <= P."""
    if len(templates) == 0:
        raise ValueError("The teacher pool is empty; it needs at least one template containing '{}'")
    for index, template in enumerate(templates):
        error = _template_error(template)
        if error is not None:
            raise ValueError(f"Teacher template {index} ({template!r}) {error}")
    if not 1 <= top_k <= len(templates):
        raise ValueError(
            f"top_k={top_k} must be between 1 and the pool size {len(templates)}; "
            f"choose a top_k of at most {len(templates)} or use a larger pool"
        )
