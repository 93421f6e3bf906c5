"""CoOp's learnable context: prompts "[SOS] [V]_1 ... [V]_M [CLASS]. [EOT]" with learned [V] vectors.

Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022, arXiv:2109.01134.
"""
from __future__ import annotations

import logging
from typing import Literal

import clip
import torch
from clip.model import CLIP
from torch import Tensor, nn

from mopd.clip.tokens import bpe_length, first_too_long
from mopd.prompts.classnames import prompt_name

logger = logging.getLogger(__name__)

ClassTokenPosition = Literal["end", "middle", "front"]
CLASS_TOKEN_POSITIONS: tuple[str, ...] = ("end", "middle", "front")
# How `ctx_init` words become the context: "resize" (CoOp: as many vectors as the words have tokens),
# "pad" (ProGrad: n_ctx vectors, zeros then the words), "leading" (MaPLe, IVLP, PromptSRC: the first
# n_ctx tokens of the words are learned, the rest stay in the prompt as fixed tokens).
InitFit = Literal["resize", "pad", "leading"]


class PromptLearner(nn.Module):
    """Learnable context vectors assembled with each class name into prompt embeddings.

    Args:
        classnames: the C class names; "_" is read as a space.
        clip_model: the CLIP whose token embedding, width and dtype the prompts use.
        n_ctx: number M of context vectors when `ctx_init` is empty or `init_fit` keeps it.
        ctx_init: words that initialise the context ("a_photo_of_a" or "a photo of a");
            with `init_fit` "resize", M is its token count and overrides `n_ctx`.
        init_fit: how the words fit `n_ctx` (see `InitFit`): "pad" keeps n_ctx vectors when the
            words are shorter (zeros, then the words: ProGrad's initialisation); "leading" learns
            the first n_ctx tokens of longer words and keeps the rest fixed in every prompt.
        csc: class-specific context, one (M, W) context per class instead of one shared.
        class_token_position: where the class name goes: after ("end"), inside ("middle",
            after the first M // 2 vectors) or before ("front") the context.

    Only `ctx` is learned and saved; the fixed token embeddings are non-persistent buffers.
    """

    def __init__(
        self,
        classnames: list[str],
        clip_model: CLIP,
        n_ctx: int,
        ctx_init: str = "",
        csc: bool = False,
        class_token_position: ClassTokenPosition = "end",
        init_fit: InitFit = "resize",
    ) -> None:
        super().__init__()
        if class_token_position not in CLASS_TOKEN_POSITIONS:
            raise ValueError(
                f"class_token_position (TRAINER.COOP.CLASS_TOKEN_POSITION) is {class_token_position!r}; "
                f"use one of {CLASS_TOKEN_POSITIONS}"
            )
        if not classnames:
            raise ValueError("PromptLearner needs at least one class name, got an empty list")
        dtype = clip_model.dtype
        init_text = ctx_init.replace("_", " ").strip()
        if init_text and init_fit == "leading":
            n_init = bpe_length(init_text)
            if n_init < n_ctx:
                raise ValueError(f"the context init {init_text!r} is {n_init} tokens, fewer than n_ctx={n_ctx}: "
                                 "give at least n_ctx words, or fewer context tokens")
            prefix_text = init_text
        elif init_text and init_fit == "pad":
            n_init = bpe_length(init_text)
            if n_init > n_ctx:
                raise ValueError(
                    f"the context init {init_text!r} is {n_init} tokens, more than N_CTX={n_ctx}; "
                    f"raise TRAINER.COOP.N_CTX to at least {n_init}"
                )
            prefix_text = " ".join(["X"] * (n_ctx - n_init) + [init_text])
        elif init_text:
            n_init = bpe_length(init_text)
            if n_init != n_ctx:
                logger.info(
                    "CTX_INIT %r is %d tokens: using %d context vectors, not N_CTX=%d", init_text, n_init, n_init, n_ctx
                )
            n_ctx = n_init
            prefix_text = init_text
        elif n_ctx < 1:
            raise ValueError(f"n_ctx (TRAINER.COOP.N_CTX) must be >= 1 without CTX_INIT, got {n_ctx}")
        else:
            prefix_text = " ".join(["X"] * n_ctx)

        names = [prompt_name(name) for name in classnames]
        texts = [f"{prefix_text} {name}." for name in names]
        tokenized = tokenize_prompts(texts, clip_model.context_length)  # (C, L)
        with torch.no_grad():
            embedding = clip_model.token_embedding(tokenized).type(dtype)  # (C, L, W)
            ctx = self._initial_context(clip_model, init_text, n_ctx, len(names), csc, init_fit)

        self.ctx = nn.Parameter(ctx)  # (M, W), or (C, M, W) with csc
        self.register_buffer("token_prefix", embedding[:, :1], persistent=False)  # (C, 1, W): SOS
        # (C, L-1-M, W): class name, ".", EOT, padding
        self.register_buffer("token_suffix", embedding[:, 1 + n_ctx :], persistent=False)
        self.register_buffer("tokenized_prompts", tokenized, persistent=False)  # (C, L)
        self.name_lens = [bpe_length(name) for name in names]
        # (C, L): the row of the "end" layout that fills each position
        source_position = _source_positions(self.name_lens, n_ctx, tokenized.shape[1], class_token_position)
        self.register_buffer("source_position", source_position, persistent=False)
        self.n_cls = len(names)
        self.n_ctx = n_ctx
        self.csc = csc
        self.class_token_position = class_token_position
        self.prompt_prefix = prefix_text
        logger.info("Initial context: %r (%d context vectors%s)", prefix_text, n_ctx, ", class-specific" if csc else "")

    @staticmethod
    def _initial_context(
        clip_model: CLIP, init_text: str, n_ctx: int, n_cls: int, csc: bool, init_fit: InitFit
    ) -> Tensor:
        """The context's starting value: (zeros then) the init words' embeddings, or N(0, 0.02^2) samples."""
        dtype = clip_model.dtype
        width = clip_model.ln_final.weight.shape[0]
        if init_text:
            init_tokens = clip.tokenize(init_text, context_length=clip_model.context_length)
            n_init = min(bpe_length(init_text), n_ctx) if init_fit == "leading" else bpe_length(init_text)
            ctx = torch.zeros(n_ctx, width, dtype=dtype)
            ctx[n_ctx - n_init :] = clip_model.token_embedding(init_tokens).type(dtype)[0, 1 : 1 + n_init]
            return ctx.expand(n_cls, -1, -1).clone() if csc else ctx
        shape = (n_cls, n_ctx, width) if csc else (n_ctx, width)
        return nn.init.normal_(torch.empty(shape, dtype=dtype), std=0.02)

    def settings(self) -> dict[str, object]:
        """The prompt's shape, recorded in and checked against checkpoints."""
        return {"n_ctx": self.n_ctx, "csc": self.csc, "class_token_position": self.class_token_position}

    def forward(self) -> Tensor:
        """Return the (C, L, W) prompt embeddings, to be read with `tokenized_prompts`."""
        ctx = self.ctx
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(self.n_cls, -1, -1)  # (M, W) -> (C, M, W)
        # "end" layout: (C, 1, W) SOS + (C, M, W) context + (C, L-1-M, W) name . EOT pad
        prompts = torch.cat([self.token_prefix, ctx, self.token_suffix], dim=1)  # (C, L, W)
        if self.class_token_position == "end":
            return prompts
        index = self.source_position.unsqueeze(-1).expand_as(prompts)
        return prompts.gather(1, index)


def tokenize_prompts(texts: list[str], context_length: int) -> Tensor:
    """Token ids (N, context_length) of `texts`; a text that does not fit raises ValueError."""
    too_long = first_too_long(texts, context_length)
    if too_long is not None:
        index, length = too_long
        raise ValueError(
            f"prompt {texts[index]!r} has {length} tokens, more than CLIP's {context_length}; "
            "shorten the class name or use fewer context tokens (TRAINER.COOP.N_CTX / CTX_INIT)"
        )
    return clip.tokenize(texts, context_length=context_length)


def _source_positions(name_lens: list[int], n_ctx: int, length: int, position: ClassTokenPosition) -> Tensor:
    """For each class, which row of the "end" layout [SOS, ctx, name, rest] goes to each position.

    middle: [SOS, ctx[:M//2], name, ctx[M//2:], rest]; front: [SOS, name, ctx, rest].
    """
    rows = []
    for name_len in name_lens:
        ctx = list(range(1, 1 + n_ctx))
        name = list(range(1 + n_ctx, 1 + n_ctx + name_len))
        rest = list(range(1 + n_ctx + name_len, length))
        if position == "middle":
            half = n_ctx // 2
            rows.append([0, *ctx[:half], *name, *ctx[half:], *rest])
        elif position == "front":
            rows.append([0, *name, *ctx, *rest])
        else:
            rows.append([0, *ctx, *name, *rest])
    return torch.tensor(rows, dtype=torch.long)
