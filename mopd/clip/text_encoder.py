"""CLIP's text tower on prompt embeddings, computing only the tokens that can reach the EOT token.

The text transformer is causal and its feature is read at the EOT token, so tokens after a
prompt's EOT cannot change that prompt's feature. A batch is therefore cut to (max EOT position
+ 1) tokens, with the positional embedding and causal mask cut to match, and prompts of very
different lengths are first grouped into buckets so that short prompts are not padded to the
longest one. The result equals the full context-length computation up to float round-off.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from clip.model import CLIP
from torch import Tensor, nn

from mopd.clip.deep_prompts import TowerPrompts
from mopd.clip.representation_tokens import RepresentationTokens, causal_mask

DEFAULT_BUCKET_RATIO = 1.3
# On the CPU a transformer call costs little beyond its tokens, so prompts are grouped by nearly exact
# length: ~20-30% less CPU time than 1.3 for training prompts and teacher banks (benchmarks/README.md).
# On CUDA every call is hundreds of kernel launches, so the fewer, coarser buckets of 1.3 are kept.
CPU_BUCKET_RATIO = 1.05


def default_bucket_ratio(device: torch.device) -> float:
    """The bucket ratio a `TextEncoder` without an explicit one uses for prompts on `device`."""
    return CPU_BUCKET_RATIO if device.type == "cpu" else DEFAULT_BUCKET_RATIO


class TokenTextEncoder(Protocol):
    """A frozen CLIP text encoder that maps token ids to unnormalised text features."""

    def encode_tokens(self, tokenized: Tensor) -> Tensor:
        """Encode token ids (N, context length) into text features (N, D)."""


@dataclass(frozen=True)
class Bucket:
    """Prompts encoded together: their batch positions and the token count they are cut to."""

    index: Tensor  # (n,) long, positions in the batch
    length: int  # max EOT position + 1 over these prompts


@dataclass(frozen=True)
class TokenCount:
    """Tokens a text-encoder call processes, against the least and the full-length amounts."""

    processed: int  # sum over buckets of length * prompts
    minimal: int  # sum over prompts of (EOT position + 1)
    full: int  # prompts * context length, the cost without truncation


def plan_buckets(eot_positions: Tensor, ratio: float = DEFAULT_BUCKET_RATIO) -> list[Bucket]:
    """Split prompts into buckets of similar length so processed tokens stay within `ratio` x the minimum.

    Prompts are sorted by EOT position and added greedily to the current bucket while
    its padded size (longest length * count) stays within `ratio` x the sum of its lengths;
    `ratio=math.inf` gives one bucket.
    """
    if not ratio >= 1:
        raise ValueError(f"bucket ratio must be >= 1 (1 = no padding, inf = one bucket), got {ratio}")
    if eot_positions.numel() == 0:
        raise ValueError("no prompts to encode: the batch is empty")
    lengths = eot_positions + 1
    order = torch.argsort(lengths, stable=True)
    sorted_lengths = lengths[order].tolist()
    buckets: list[Bucket] = []
    start, total = 0, 0
    for i, length in enumerate(sorted_lengths):
        if i > start and length * (i - start + 1) > ratio * (total + length):
            buckets.append(Bucket(order[start:i], sorted_lengths[i - 1]))
            start, total = i, 0
        total += length
    buckets.append(Bucket(order[start:], sorted_lengths[-1]))
    return buckets


def count_tokens(tokenized: Tensor, ratio: float = DEFAULT_BUCKET_RATIO) -> TokenCount:
    """Report the tokens the bucketed, truncated encoder processes for `tokenized` (N, L)."""
    eot_positions = tokenized.argmax(dim=-1)
    buckets = plan_buckets(eot_positions, ratio)
    return TokenCount(
        processed=sum(bucket.length * len(bucket.index) for bucket in buckets),
        minimal=int((eot_positions + 1).sum()),
        full=tokenized.numel(),
    )


class TextEncoder(nn.Module):
    """CLIP's text transformer, final norm and projection applied to prompt embeddings.

    Shares its modules with `clip_model` (nothing is copied) and computes in the model's
    dtype (fp16 or fp32). `bucket_ratio` bounds the padding of each length bucket (see
    `plan_buckets`); None picks `default_bucket_ratio` of the device the prompts are on.
    """

    def __init__(self, clip_model: CLIP, bucket_ratio: float | None = None, truncate: bool = True) -> None:
        super().__init__()
        self.truncate = truncate  # False: all context-length tokens in one group, as CLIP's own text path
        self.token_embedding = clip_model.token_embedding
        self.positional_embedding = clip_model.positional_embedding
        self.transformer = clip_model.transformer
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection
        self.bucket_ratio = bucket_ratio
        # CLIP keeps the causal mask as a plain attribute of each block; a buffer follows .to().
        causal_mask = clip_model.transformer.resblocks[0].attn_mask
        assert causal_mask is not None, "CLIP's text transformer must be causal"
        self.register_buffer("causal_mask", causal_mask.detach().clone(), persistent=False)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the text tower computes in (that of the CLIP weights)."""
        return self.text_projection.dtype

    def forward(self, prompts: Tensor, tokenized: Tensor, deep: TowerPrompts | None = None,
                representation: RepresentationTokens | None = None) -> Tensor:
        """Encode prompt embeddings.

        Args:
            prompts: (N, L, W) token embeddings of the prompts (SOT, context, name, EOT, padding).
            tokenized: (N, L) token ids of the same prompts; the EOT token has the largest id.
            deep: tokens that replace the n tokens after SOT at the input of layers 1, 2, ...
                (deep prompting; `deep.shallow` is unused: the context is in `prompts`); they come
                before every EOT, so truncation stays exact.
            representation: MMRL's tokens, inserted after SOT at their first layer (the sequence, its
                causal mask and every EOT position move by K), replaced at the later ones.

        Returns:
            (N, D) text features at the EOT token, in the model's dtype.
        """
        eot_positions = tokenized.argmax(dim=-1)
        if not self.truncate:
            return self._encode_truncated(prompts, eot_positions, prompts.shape[1], deep, representation)
        ratio = default_bucket_ratio(prompts.device) if self.bucket_ratio is None else self.bucket_ratio
        buckets = plan_buckets(eot_positions, ratio)
        if len(buckets) == 1:
            return self._encode_truncated(prompts, eot_positions, buckets[0].length, deep, representation)
        features = [
            self._encode_truncated(prompts[bucket.index], eot_positions[bucket.index], bucket.length, deep,
                                   representation)
            for bucket in buckets
        ]
        return _restore_order(features, [bucket.index for bucket in buckets])

    def encode_tokens(self, tokenized: Tensor) -> Tensor:
        """Encode hand-written prompts given as token ids (N, L); returns (N, D) like `CLIP.encode_text`."""
        tokenized = tokenized.to(self.positional_embedding.device)
        if self.truncate:
            tokenized = tokenized[:, : int(tokenized.argmax(dim=-1).max()) + 1]
        return self(self.token_embedding(tokenized).type(self.dtype), tokenized)

    def _encode_truncated(
        self, prompts: Tensor, eot_positions: Tensor, length: int, deep: TowerPrompts | None = None,
        representation: RepresentationTokens | None = None,
    ) -> Tensor:
        dtype = self.dtype
        x = prompts[:, :length].type(dtype) + self.positional_embedding[:length].type(dtype)
        mask = self.causal_mask[:length, :length].to(dtype)
        x = x.permute(1, 0, 2)  # (N, length, W) -> (length, N, W), CLIP's layout
        for layer, block in enumerate(self.transformer.resblocks):
            tokens = deep.at_layer(layer) if deep else None
            if tokens is not None:  # [SOT] [n new tokens] [the rest]: no positional embedding, as the authors'
                x = torch.cat([x[:1], deep.expanded(tokens, x.shape[1], x.dtype, batch_dim=1), x[1 + tokens.shape[0]:]])
            if representation is not None:
                x = representation.enter(x, layer)
                if x.shape[0] != mask.shape[0]:  # K tokens inserted: the causal mask of the longer sequence
                    mask = causal_mask(x.shape[0], mask.dtype, mask.device)
            # CLIP's block forward with the causal mask cut to `length` tokens
            h = block.ln_1(x)
            x = x + block.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
            x = x + block.mlp(block.ln_2(x))
        x = x.permute(1, 0, 2)  # (length, N, W) -> (N, length, W)
        # ln_final acts per token, so it is applied to the pooled EOT tokens only
        if representation is not None:  # the EOT tokens moved by the K inserted tokens
            eot_positions = eot_positions + representation.count
        pooled = x[torch.arange(x.shape[0], device=x.device), eot_positions]  # (N, W)
        return self.ln_final(pooled).type(dtype) @ self.text_projection  # (N, D)


def encode_text_chunked(text_encoder: TokenTextEncoder, tokenized: Tensor, chunk_size: int = 1000) -> Tensor:
    """Encode many hand-written prompts (N, L) in chunks of similar length; returns (N, D) in input order.

    Prompts are sorted by EOT position before chunking, so each chunk is cut to a length close to
    that of all its prompts. Memory is bounded by `chunk_size` when called under `torch.no_grad()`
    (e.g. 1000 classes x 80 templates); with a `TextEncoder`, `tokenized` may stay on the CPU and
    each chunk moves to the encoder's device.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    order = torch.argsort(tokenized.argmax(dim=-1), stable=True)
    chunks = list(order.split(chunk_size))
    features = [text_encoder.encode_tokens(tokenized[index]) for index in chunks]
    return _restore_order(features, [index.to(features[0].device) for index in chunks])


def _restore_order(parts: list[Tensor], indices: list[Tensor]) -> Tensor:
    """Stack per-group results and put row i back at batch position i."""
    order = torch.cat(indices)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=order.device)
    return torch.cat(parts)[inverse]

