"""Prompt lengths in CLIP's BPE tokens, and the check that prompts fit CLIP's context before anything is encoded."""
from __future__ import annotations

import functools
from collections.abc import Sequence

from clip.simple_tokenizer import SimpleTokenizer


@functools.lru_cache(maxsize=1)
def _tokenizer() -> SimpleTokenizer:
    return SimpleTokenizer()


def bpe_tokens(text: str) -> tuple[int, ...]:
    """CLIP's BPE token ids of `text` (without SOT and EOT)."""
    return tuple(_tokenizer().encode(text))


def bpe_length(text: str) -> int:
    """Number of BPE tokens of `text` (without SOT and EOT)."""
    return len(bpe_tokens(text))


def first_too_long(texts: Sequence[str], context_length: int) -> tuple[int, int] | None:
    """(index, tokens with SOT and EOT) of the first text longer than `context_length` tokens; None when all fit."""
    for index, text in enumerate(texts):
        length = bpe_length(text) + 2
        if length > context_length:
            return index, length
    return None
