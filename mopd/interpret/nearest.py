"""The token embeddings nearest to each learned context vector, by Euclidean distance, and their report."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from clip.simple_tokenizer import SimpleTokenizer
from torch import Tensor


def nearest_tokens(ctx: Tensor, token_embedding: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Indices and Euclidean distances of the k token embeddings nearest to each context vector.

    Args:
        ctx: (N, D) context vectors.
        token_embedding: (V, D) CLIP's token embedding.
    Returns:
        (N, k) token ids, nearest first (equal distances: lower id first), and their (N, k) distances.
    """
    distance = torch.cdist(ctx.float(), token_embedding.float())  # (N, V)
    order = torch.sort(distance, dim=1, stable=True).indices[:, :k]  # (N, k)
    return order, distance.gather(1, order)


def token_text(tokenizer: SimpleTokenizer, token_id: int) -> str:
    """A token as text: its characters, without the end-of-word marker."""
    return tokenizer.decode([token_id]).strip()


def interpret(ctx: Tensor, token_embedding: Tensor, k: int) -> list[tuple[str, list[tuple[str, float]]]]:
    """For each context vector, its label ("1", ... or "class 3, 2" for class-specific context) and nearest words."""
    if ctx.shape[-1] != token_embedding.shape[1]:
        raise ValueError(
            f"the context vectors are {ctx.shape[-1]} wide but the backbone's token embeddings are "
            f"{token_embedding.shape[1]}: pass the backbone the prompt was learned on (--backbone)"
        )
    vectors = ctx.reshape(-1, ctx.shape[-1])  # (M, D), or (C * M, D) class by class
    ids, distances = nearest_tokens(vectors, token_embedding, min(k, token_embedding.shape[0]))
    tokenizer = SimpleTokenizer()
    labels = (
        [str(m + 1) for m in range(ctx.shape[0])]
        if ctx.dim() == 2
        else [f"class {c}, {m + 1}" for c in range(ctx.shape[0]) for m in range(ctx.shape[1])]
    )
    return [
        (label, [(token_text(tokenizer, int(i)), float(d)) for i, d in zip(row_ids, row_distances)])
        for label, row_ids, row_distances in zip(labels, ids, distances)
    ]


def format_report(rows: Sequence[tuple[str, list[tuple[str, float]]]]) -> str:
    """One line per context vector: `label: word (distance), ...`."""
    return "".join(f"{label}: " + ", ".join(f"{word} ({dist:.4f})" for word, dist in words) + "\n"
                   for label, words in rows)
