"""A class name as the prompts write it, and as CLIP's tokenizer reads it.

The tokenizer lower-cases its input and drops whitespace between words, so names that differ
only in case, spacing or "_" (which the prompts read as a space) give identical prompts.
"""
from __future__ import annotations

import functools

from clip.simple_tokenizer import SimpleTokenizer


@functools.lru_cache(maxsize=1)
def clip_tokenizer() -> SimpleTokenizer:
    """CLIP's BPE tokenizer, built once per process."""
    return SimpleTokenizer()


def prompt_name(classname: str) -> str:
    """The class name as every prompt writes it: "_" read as a space."""
    return classname.replace("_", " ")


def name_tokens(classname: str) -> tuple[int, ...]:
    """CLIP's tokens of the class name as the prompts write it (no SOT/EOT)."""
    return tuple(clip_tokenizer().encode(prompt_name(classname)))
