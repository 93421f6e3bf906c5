"""The one table of CLIP backbone facts: names, weight URLs and architecture hyper-parameters.

Every CLIP dimension the repository needs (embedding size D, text width W, context length,
input resolution) comes from this table or from a loaded model; no other module spells them.
"""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, replace

from clip import clip as openai_clip

TINY = "tiny"
TINY_DEEP = "tiny12"

# OpenAI's BPE vocabulary and text length; every released CLIP uses them, and so does "tiny"
# so that `clip.tokenize` and the real tokenizer work unchanged with it.
_VOCAB_SIZE = 49408
CONTEXT_LENGTH = 77


@dataclass(frozen=True)
class ClipArchitecture:
    """Constructor arguments of `clip.model.CLIP`; text and vision heads are width // 64 as in OpenAI's CLIP."""

    embed_dim: int  # D: size of the joint image-text embedding
    image_resolution: int  # input image side in pixels
    vision_layers: int | tuple[int, int, int, int]  # ViT depth, or blocks per ResNet stage
    vision_width: int  # ViT width, or ResNet stem width
    vision_patch_size: int | None  # ViT patch side; None for ResNets
    context_length: int  # text tokens per prompt, SOT and EOT included
    vocab_size: int  # BPE vocabulary size
    transformer_width: int  # W: text transformer width (token embedding size)
    transformer_heads: int  # text attention heads
    transformer_layers: int  # text transformer depth

    def as_kwargs(self) -> dict[str, object]:
        """Keyword arguments for `clip.model.CLIP(**...)`."""
        return asdict(self)


@dataclass(frozen=True)
class Backbone:
    """One accepted `MODEL.BACKBONE.NAME`: where its weights come from and its architecture."""

    name: str  # the name users type, e.g. "ViT-B/16"
    url: str  # OpenAI download URL; "" for backbones without released weights ("tiny")
    architecture: ClipArchitecture

    @property
    def file_name(self) -> str:
        """Name of the weight file in the download cache (the last part of the URL)."""
        return self.url.rsplit("/", 1)[-1]


def _text(width: int, layers: int = 12) -> dict[str, int]:
    return {
        "context_length": CONTEXT_LENGTH,
        "vocab_size": _VOCAB_SIZE,
        "transformer_width": width,
        "transformer_heads": width // 64,
        "transformer_layers": layers,
    }


def _vit(embed_dim: int, resolution: int, layers: int, width: int, patch: int, text_width: int) -> ClipArchitecture:
    return ClipArchitecture(embed_dim, resolution, layers, width, patch, **_text(text_width))


def _resnet(
    embed_dim: int, resolution: int, layers: tuple[int, int, int, int], width: int, text_width: int
) -> ClipArchitecture:
    return ClipArchitecture(embed_dim, resolution, layers, width, None, **_text(text_width))


_OPENAI_ARCHITECTURES: dict[str, ClipArchitecture] = {
    "RN50": _resnet(1024, 224, (3, 4, 6, 3), 64, text_width=512),
    "RN101": _resnet(512, 224, (3, 4, 23, 3), 64, text_width=512),
    "RN50x4": _resnet(640, 288, (4, 6, 10, 6), 80, text_width=640),
    "RN50x16": _resnet(768, 384, (6, 8, 18, 8), 96, text_width=768),
    "RN50x64": _resnet(1024, 448, (3, 15, 36, 10), 128, text_width=1024),
    "ViT-B/32": _vit(512, 224, 12, 768, 32, text_width=512),
    "ViT-B/16": _vit(512, 224, 12, 768, 16, text_width=512),
    "ViT-L/14": _vit(768, 224, 24, 1024, 14, text_width=768),
    "ViT-L/14@336px": _vit(768, 336, 24, 1024, 14, text_width=768),
}

# A small CLIP of OpenAI's ViT design for tests and smoke runs. D (64) differs from W (128)
# so that code mixing up the two fails on it; the text tower has two heads, the vision one.
_TINY_ARCHITECTURE = ClipArchitecture(
    embed_dim=64,
    image_resolution=32,
    vision_layers=2,
    vision_width=64,
    vision_patch_size=8,
    **_text(128, layers=2),
)
# "tiny" with 12 layers in each tower, as ViT-B has: the published prompt depths of MaPLe, IVLP and
# PromptSRC (up to 12) fit it, so their published settings run unchanged in tests and smoke runs.
_TINY_DEEP_ARCHITECTURE = replace(_TINY_ARCHITECTURE, vision_layers=12, transformer_layers=12)


def _build_table() -> dict[str, Backbone]:
    # The installed `clip` package (clip-anytorch) decides which OpenAI weights exist; it provides the URLs.
    table = {
        name: Backbone(name, openai_clip._MODELS[name], arch)
        for name, arch in _OPENAI_ARCHITECTURES.items()
        if name in openai_clip._MODELS
    }
    table[TINY] = Backbone(TINY, "", _TINY_ARCHITECTURE)
    table[TINY_DEEP] = Backbone(TINY_DEEP, "", _TINY_DEEP_ARCHITECTURE)
    return table


BACKBONES: dict[str, Backbone] = _build_table()


def get_backbone(name: str) -> Backbone:
    """Return the table entry for `name`; an unknown name raises KeyError listing the valid ones."""
    if name in BACKBONES:
        return BACKBONES[name]
    nearest = difflib.get_close_matches(name, list(BACKBONES), n=1, cutoff=0.0)
    hint = f" Did you mean {nearest[0]!r}?" if nearest else ""
    raise KeyError(
        f"Unknown CLIP backbone {name!r} (MODEL.BACKBONE.NAME).{hint} "
        f"Valid names: {', '.join(BACKBONES)}."
    )
