"""Deterministic ImageNet-like class names for the benchmarks: mostly 1-3 words, a few long descriptions.

Real class lists mix short names ("tabby cat", "school bus") with a few long ones ("the traditional
wooden fishing boat with two masts"); the spread of prompt lengths is what length grouping works on,
so every benchmark case uses names drawn here rather than equal-length dummies.
"""
from __future__ import annotations

import functools
import random

from clip.simple_tokenizer import SimpleTokenizer

_ADJECTIVES = (
    "red", "golden", "spotted", "striped", "giant", "pygmy", "common", "snowy", "great", "little",
    "black", "white", "grey", "wild", "royal", "desert", "arctic", "alpine", "tropical", "crested",
    "electric", "wooden", "steel", "paper", "silver", "horned", "long-tailed", "ring-necked", "sulphur",
    "barn", "sea", "mountain", "river", "garden", "swiss", "african", "american", "indian", "european",
)
_NOUNS = (
    "retriever", "terrier", "spaniel", "tabby", "fox", "wolf", "lynx", "otter", "heron", "owl",
    "finch", "warbler", "lizard", "gecko", "python", "beetle", "moth", "butterfly", "crab", "lobster",
    "shark", "ray", "salmon", "eel", "jellyfish", "oak", "maple", "orchid", "tulip", "mushroom",
    "teapot", "kettle", "bus", "tractor", "canoe", "kayak", "violin", "banjo", "trombone", "umbrella",
    "lantern", "lighthouse", "bridge", "castle", "pagoda", "bagel", "pretzel", "burrito", "espresso",
    "pizza", "volcano", "geyser", "cliff", "reef", "backpack", "wallet", "stopwatch", "microwave",
    "keyboard", "sunglasses", "wardrobe", "hammock", "skateboard", "snowmobile", "wheelbarrow",
)
_THIRD_WORDS = ("dog", "cat", "bird", "snake", "tree", "boat", "car", "truck", "fish", "bear", "lamp", "chair")
# Tails that turn "<adjective> <noun>" into a long description of 8-15 tokens.
_LONG_TAILS = (
    "with two masts and a striped sail",
    "from the dry forests of southern india",
    "that lives among the sea anemones of the reef",
    "with round keys and a silver carriage",
    "hand painted for serving rice at dinner",
    "seen from above on a cloudy winter morning",
    "parked in front of an old brick building",
    "hanging over an open camp fire",
    "that lays eggs and eats termites",
    "of the salt marshes near the coast",
)
# Share of draws that are long descriptions; short names are drawn again when repeated, so about 8 % of
# the names end up long (79 of 1000).
LONG_NAME_SHARE = 0.05
LONG_NAME_TOKENS = (8, 15)


@functools.lru_cache(maxsize=1)
def _tokenizer() -> SimpleTokenizer:
    return SimpleTokenizer()


def name_token_count(name: str) -> int:
    """BPE tokens of a class name (no SOT/EOT)."""
    return len(_tokenizer().encode(name))


def benchmark_classnames(num_classes: int, seed: int = 0) -> list[str]:
    """Return `num_classes` distinct names: about 8 % long (8-15 tokens), the rest 1-3 words, fixed by `seed`.

    The first n names are the same for every `num_classes` >= n.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    rng = random.Random(seed)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < num_classes:
        if rng.random() < LONG_NAME_SHARE:
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_LONG_TAILS)}"
            wanted = LONG_NAME_TOKENS[0] <= name_token_count(name) <= LONG_NAME_TOKENS[1]
        else:
            name, wanted = _short_name(rng), True
        if wanted and name not in seen:
            seen.add(name)
            # Dataset class names often use "_" for spaces; the prompt code turns it back.
            names.append(name.replace(" ", "_") if rng.random() < 0.3 else name)
    return names


def _short_name(rng: random.Random) -> str:
    words = rng.choices((1, 2, 3), weights=(3, 5, 2))[0]
    noun = rng.choice(_NOUNS)
    if words == 1:
        return noun
    if words == 2:
        return f"{rng.choice(_ADJECTIVES)} {noun}"
    return f"{rng.choice(_ADJECTIVES)} {noun} {rng.choice(_THIRD_WORDS)}"
