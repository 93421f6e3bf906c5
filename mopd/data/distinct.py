"""Refusing data that cannot be told apart: an image listed twice or under two labels, classes CLIP reads as one.

Images are checked where a list of them is read or written (split files, few-shot caches, a split
made from raw annotations, FGVCAircraft's lists: reading class folders cannot repeat an image);
class names once per dataset, over all its classes, in `mopd.data.dataset_splits`. Each check
returns one line per problem, so `python -m mopd.data check` reports what training refuses.
"""
from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from typing import Collection, Iterable, Mapping, Sequence

from mopd.prompts.classnames import name_tokens

logger = logging.getLogger(__name__)

MAX_LISTED = 5  # problems an error message spells out; it counts the rest


def repeated_images(splits: Mapping[str, Sequence[Sequence]]) -> list[str]:
    """One line per image that a split lists twice, or that two splits list under different labels.

    Args:
        splits: split name -> `(impath, label, classname)` records with integer labels ("/"-separated
            paths, compared normalised).
    """
    first_label: dict[str, int] = {}  # ints only: no per-record tuple for the garbage collector to walk
    problems, relabelled = [], []
    for split, records in splits.items():
        listed_here: set[str] = set()
        for path, label, classname in records:
            key = posixpath.normpath(path)
            if first_label.setdefault(key, label) != label:
                relabelled.append((key, path, split, label, classname))
            elif key in listed_here:
                problems.append(f"{path!r} twice in {split} (label {label}, {classname!r})")
            listed_here.add(key)
    if relabelled:
        first = _first_listings(splits, {key for key, *_ in relabelled})
        problems += [
            f"{path!r} under two labels: {first[key][1]} ({first[key][2]!r}) in {first[key][0]} and {label} "
            f"({classname!r}) in {split}"
            for key, path, split, label, classname in relabelled
        ]
    return problems


def _first_listings(splits: Mapping[str, Sequence[Sequence]], keys: set[str]) -> dict[str, tuple[str, int, str]]:
    """(split, label, classname) where each normalised path of `keys` is first listed."""
    first: dict[str, tuple[str, int, str]] = {}
    for split, records in splits.items():
        for path, label, classname in records:
            key = posixpath.normpath(path)
            if key in keys:
                first.setdefault(key, (split, label, classname))
    return first


def _join_and(parts: Sequence[str]) -> str:
    """The parts joined as "a and b", or "a, b and c"."""
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]


def _classes(pairs: Iterable[tuple[int, str]]) -> tuple[dict[int, str], list[str]]:
    """`{label: class name}` (first name seen) and one line per label that carries two names."""
    names: dict[int, str] = {}
    problems = []
    for label, classname in sorted(set(pairs)):
        if names.setdefault(label, classname) != classname:
            problems.append(f"label {label} is named both {names[label]!r} and {classname!r}")
    return names, problems


def clashing_classes(
    pairs: Iterable[tuple[int, str]], *, shared_names: Collection[str] = (), where: str = ""
) -> list[str]:
    """One line per label with two names, and per group of classes whose prompts CLIP cannot tell apart.

    Args:
        pairs: (label, class name) of every item (repeats are cheap: they are collapsed first).
        shared_names: names that several classes may carry on purpose (CLIP's ImageNet names, see
            `mopd.data.imagenet_classes`); such a group is logged as a warning naming `where`.
    """
    names, problems = _classes(pairs)
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for label, classname in names.items():
        groups[name_tokens(classname)].append(label)
    for labels in (labels for labels in groups.values() if len(labels) > 1):
        described = _join_and([f"{label} ({names[label]!r})" for label in labels])
        group_names = {names[label] for label in labels}
        if len(group_names) == 1 and group_names <= set(shared_names):
            logger.warning(
                "%s: classes %s share a name, as in CLIP's ImageNet class names; kept so that results stay "
                "comparable with published ones, though their prompts are identical", where, described,
            )
            continue
        problems.append(f"classes {described} give CLIP the same text")
    return problems


def _summarise(problems: Sequence[str]) -> str:
    """The first MAX_LISTED problems joined by "; ", and how many more there are."""
    shown = "; ".join(problems[:MAX_LISTED])
    more = len(problems) - MAX_LISTED
    return f"{shown}; and {more} more" if more > 0 else shown


def require_distinct_images(splits: Mapping[str, Sequence[Sequence]], *, source: str, fix: str) -> None:
    """Raise ValueError naming `source`, the repeated images and `fix` unless `repeated_images` finds none."""
    problems = repeated_images(splits)
    if problems:
        raise ValueError(
            f"{source} lists {len(problems)} image(s) more than once or under two labels, so they cannot be told "
            f"apart: {_summarise(problems)}; {fix}"
        )


def require_distinct_classes(
    pairs: Iterable[tuple[int, str]], *, where: str, shared_names: Collection[str] = ()
) -> None:
    """Raise ValueError naming `where` and the classes unless `clashing_classes` finds none."""
    problems = clashing_classes(pairs, shared_names=shared_names, where=where)
    if problems:
        raise ValueError(
            f"the classes of {where} cannot be told apart: {_summarise(problems)}. CLIP's tokenizer ignores case "
            "and spacing, and the prompts read '_' as a space: give each class one name that differs from the "
            "others in more than that, where the dataset names its classes (its split file or class-name list)"
        )
