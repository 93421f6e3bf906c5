"""Text features of hand-written class prompts: the one place that encodes "template x class name".

Zero-shot CLIP, KgCoOp, ProGrad and the MoPD teacher bank all build their fixed text features here.
All P*C prompts are sorted by length and encoded in chunks of similar length, so every chunk is cut
to its own longest prompt (a chunk per template would be cut to that template's longest class name).
"""
from __future__ import annotations

import copy
import itertools
import logging
from typing import Sequence

import clip
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mopd.clip.backbones import CONTEXT_LENGTH
from mopd.clip.text_encoder import TokenTextEncoder, encode_text_chunked
from mopd.clip.tokens import first_too_long
from mopd.prompts.classnames import prompt_name

logger = logging.getLogger(__name__)

# Prompts per text-encoder call: 1000 classes x 80 templates run as 80 calls of bounded memory.
DEFAULT_CHUNK_SIZE = 1000


def _encoder_device(text_encoder: TokenTextEncoder) -> torch.device:
    """Return the device of the encoder's weights (the CPU for an encoder that is not a module)."""
    if isinstance(text_encoder, nn.Module):
        tensor = next(itertools.chain(text_encoder.parameters(), text_encoder.buffers()), None)
        if tensor is not None:
            return tensor.device
    return torch.device("cpu")


def class_prompts(templates: Sequence[str], classnames: Sequence[str]) -> list[str]:
    """Return the P*C prompts, template-major: prompt p*C + c is template p filled with class c."""
    names = [prompt_name(name) for name in classnames]
    return [template.format(name) for template in templates for name in names]


def check_class_prompts_fit(templates: Sequence[str], classnames: Sequence[str], source: str) -> None:
    """Raise ValueError naming the template, the class and `source` when a filled template exceeds CLIP's context.

    Cheap (tokenizer only), so trainers call it while building, before a run writes anything.
    `source` says where the templates come from (e.g. "TRAINER.MOPD.POOL 'custom'").
    """
    too_long = first_too_long(class_prompts(templates, classnames), CONTEXT_LENGTH)
    if too_long is not None:
        index, length = too_long
        template, name = templates[index // len(classnames)], classnames[index % len(classnames)]
        raise ValueError(
            f"the class name {name!r} in the template {template!r} of {source} makes a prompt of {length} tokens, "
            f"more than CLIP's {CONTEXT_LENGTH}: shorten the class name (the dataset's class names) or choose other "
            "templates"
        )


@torch.no_grad()
def encode_class_prompts(
    text_encoder: TokenTextEncoder,
    templates: Sequence[str],
    classnames: Sequence[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    normalise: bool = True,
) -> Tensor:
    """Encode every template filled with every class name into L2-normalised features (`normalise`) or raw ones.

    Args:
        text_encoder: frozen encoder with `encode_tokens`; its device and dtype are kept.
        templates: P templates, each with one `{}`.
        classnames: C class names; underscores become spaces.
        chunk_size: at most this many prompts are encoded at once (grouped by length, not by template).
        normalise: False returns the text encoder's features as they are (PromptSRC averages those).

    Returns:
        (P, C, D) features without gradient, unit norm along D when `normalise`.
    """
    if not templates or not classnames:
        raise ValueError(
            f"Need at least one template and one class name, got {len(templates)} templates "
            f"and {len(classnames)} class names"
        )
    prompts = class_prompts(templates, classnames)
    device = _encoder_device(text_encoder)
    logger.info(
        "Encoding %d templates x %d classes = %d class prompts", len(templates), len(classnames), len(prompts)
    )
    check_class_prompts_fit(templates, classnames, "the hand-written templates")
    tokens = clip.tokenize(prompts).to(device)  # (P*C, L), template-major
    features = encode_text_chunked(text_encoder, tokens, chunk_size)  # (P*C, D), in input order
    if not normalise:
        return features.view(len(templates), len(classnames), features.shape[-1])
    # Normalise in fp32 so fp16 features are rounded once, after the division.
    features = F.normalize(features.float(), dim=-1).to(features.dtype)
    return features.view(len(templates), len(classnames), features.shape[-1])


def template_mean_features(
    text_encoder: nn.Module, templates: Sequence[str], classnames: Sequence[str], one_template_at_a_time: bool = False
) -> Tensor:
    """(C, D) fp32 unit-norm class features: each class's unnormalised features averaged over the templates, then
    normalised (PromptSRC's frozen-CLIP class features; not CLIP's mean of unit vectors).

    The encoder computes in fp32 (a copy is cast when its weights are not). All prompts are encoded together,
    grouped by length; `one_template_at_a_time` encodes and averages as PromptSRC's code does (its numbers to
    the last bit).
    """
    if text_encoder.dtype != torch.float32:
        text_encoder = copy.deepcopy(text_encoder).float()
    if one_template_at_a_time:
        per_template = [encode_class_prompts(text_encoder, [template], classnames, normalise=False)[0]
                        for template in templates]
        mean = torch.stack(per_template, dim=1).mean(dim=1)
    else:
        mean = encode_class_prompts(text_encoder, templates, classnames, normalise=False).mean(dim=0)
    return F.normalize(mean.float(), dim=-1)
