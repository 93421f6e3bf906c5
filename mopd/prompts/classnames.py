"""A class name as the prompts write it, and as CLIP's tokenizer reads it.

The tokenizer lower-cases its input and drops whitespace between words, so names that differ
only in case, spacing or "_" (which the prompts read as a space) give identical prompts.
"""
from __future__ import annotations

from mopd.clip.tokens import bpe_tokens


def prompt_name(classname: str) -> str:
    """The class name as every prompt writes it: "_" read as a space."""
    return classname.replace("_", " ")


def name_tokens(classname: str) -> tuple[int, ...]:
    """CLIP's tokens of the class name as the prompts write it (no SOT/EOT)."""
    return bpe_tokens(prompt_name(classname))
