"""Teacher-prompt pools for MoPD: the authors' `custom`, `mixed` and `noisy` pools, `imagenet80` and files.

A pool is a list of templates, each with exactly one `{}` for the class name. Every template is
read through the frozen CLIP text encoder to form one teacher prompt (METHOD.md, "Teacher pools").
Pools combine with "+" (`custom+noisy`): the templates of each, in order, duplicates kept.
The authors' strings are the specification, byte for byte: their source is
cheny02/MoPD-TMM, trainers/mopd_templates.py (`CUSTOM_TEMPLATES`, `LASP_PROMPTS`, `NOISY_PROMPTS`).
"""
from __future__ import annotations

import difflib
import logging
from pathlib import Path
from typing import Literal, Sequence, get_args

from mopd.prompts.templates import IMAGENET_TEMPLATES

logger = logging.getLogger(__name__)

PoolName = Literal["custom", "imagenet80", "mixed", "noisy", "file"]
POOL_NAMES: tuple[str, ...] = get_args(PoolName)
POOL_SEPARATOR = "+"  # joins pool names into one pool, e.g. "custom+noisy"

# The `custom` pool is 3 nouns x ("named" + 3 "<verb> as {}") templates. "<a noun>" stands for
# "a photo", "a picture", "an image" and "<noun>" for the bare noun; the articles that follow are the
# authors' own ("a photo of a aircraft, classified as {}." is their string, kept as written).
_NOUNS = (("a photo", "photo"), ("a picture", "picture"), ("an image", "image"))
_VERBS = ("classified", "categorized", "labeled")

# Per dataset: (`named`, the template that names the class; `subject`, what the picture shows
# before ", <verb> as {}.").
_DOMAIN_PHRASINGS: dict[str, tuple[str, str]] = {
    "OxfordPets": ("<a noun> of a {}, a type of pet.", "<a noun> of a pet"),
    "OxfordFlowers": ("<a noun> of a {}, a type of flower.", "<a noun> of a flower"),
    "FGVCAircraft": ("<a noun> of a {}, a type of aircraft.", "<a noun> of a aircraft"),
    "Food101": ("<a noun> of {}, a type of food.", "<a noun> of food"),
    "DescribableTextures": ("<a noun> of {}, a type of texture.", "<a noun> of a texture"),
    "EuroSAT": ("a centered satellite <noun> of {}.", "a centered satellite <noun>"),
    "UCF101": ("<a noun> of a person doing {}.", "<a noun> of a person doing"),
}
_GENERIC_PHRASING = ("<a noun> of a {}.", "<a noun>")
# Datasets whose authors' pool has no domain word (ImageNet, Caltech101, StanfordCars, SUN397), and
# the ImageNet variants: the authors map those to the single string "a photo of a {}.", which their
# code then iterates character by character; they get ImageNet's 12 templates here, so a MoPD
# checkpoint trained on ImageNet keeps its gate width on them.
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

# The authors' mixture of task-related and task-unrelated templates (their `LASP_PROMPTS`), for
# the pool ablation: 35 templates, "a bad photo of the {}." twice, as they wrote it.
MIXED_TEMPLATES: tuple[str, ...] = (
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
)

# The authors' task-unrelated ("noisy") templates (their `NOISY_PROMPTS`, group A, the one their
# code leaves active), without final full stops as they wrote them.
NOISY_TEMPLATES: tuple[str, ...] = (
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
)


def custom_pool(dataset_name: str) -> list[str]:
    """Return the authors' 12 `custom` templates of `dataset_name` (ImageNet's for datasets they lack)."""
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
    templates = [_with_noun(named, noun) for noun in _NOUNS]
    templates += [f"{_with_noun(subject, noun)}, {verb} as {{}}." for noun in _NOUNS for verb in _VERBS]
    return templates


def _with_noun(phrase: str, noun: tuple[str, str]) -> str:
    """`phrase` with "<a noun>" and "<noun>" replaced by `noun`'s (with article, bare) forms."""
    return phrase.replace("<a noun>", noun[0]).replace("<noun>", noun[1])


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


def parse_pool(pool: str) -> list[PoolName]:
    """Split a pool setting such as "custom+noisy" into its pool names; raise ValueError for a bad one."""
    names = [name.strip() for name in str(pool).split(POOL_SEPARATOR)]
    for name in names:
        if name not in POOL_NAMES:
            nearest = difflib.get_close_matches(name, POOL_NAMES, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise ValueError(
                f"Unknown teacher pool {name!r} in {pool!r}; valid pools: {', '.join(POOL_NAMES)}, "
                f"or several joined by {POOL_SEPARATOR!r} (e.g. 'custom{POOL_SEPARATOR}noisy'){hint}"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"Teacher pool {pool!r} names {', '.join(repeated)} more than once; name each pool once")
    return names  # type: ignore[return-value]


def _pool_templates(name: PoolName, dataset_name: str, pool_file: str) -> list[str]:
    """The templates of one named pool."""
    if name == "custom":
        return custom_pool(dataset_name)
    if name == "imagenet80":
        return list(IMAGENET_TEMPLATES)
    if name == "mixed":
        return list(MIXED_TEMPLATES)
    if name == "noisy":
        return list(NOISY_TEMPLATES)
    if not pool_file:
        raise ValueError(
            "Pool 'file' needs a pool file: give the path of a text file with one "
            "template containing '{}' per line"
        )
    return load_pool_file(pool_file)


def load_teacher_pool(pool: str, dataset_name: str, pool_file: str = "") -> list[str]:
    """Return the templates of teacher pool `pool` for `dataset_name` (`pool_file` only with "file").

    `pool` is one of POOL_NAMES or several joined by "+"; their templates are concatenated in order.
    """
    names = parse_pool(pool)
    if pool_file and "file" not in names:
        raise ValueError(
            f"A pool file ({pool_file!r}) is only read with pool 'file', but pool is {pool!r}; "
            "set the pool to 'file' (or add '+file') or clear the pool file"
        )
    templates = [template for name in names for template in _pool_templates(name, dataset_name, pool_file)]
    logger.info(
        "Teacher pool %r for %s: %d templates (%d distinct)", pool, dataset_name, len(templates), len(set(templates))
    )
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
