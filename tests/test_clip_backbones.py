"""The backbone table: names, URLs and architectures consistent with OpenAI's CLIP code."""
from dataclasses import replace

import pytest
import torch
from clip import clip as openai_clip
from clip.model import CLIP, build_model

from mopd.clip.backbones import BACKBONES, TINY, TINY_DEEP, get_backbone
from mopd.clip.loading import architecture_of


def test_table_accepts_every_openai_name_and_the_tiny_ones_with_openai_urls():
    assert set(BACKBONES) == set(openai_clip._MODELS) | {TINY, TINY_DEEP}
    for name, url in openai_clip._MODELS.items():
        assert BACKBONES[name].url == url
        assert url.endswith("/" + BACKBONES[name].file_name)
    assert BACKBONES["ViT-B/16"].file_name == "ViT-B-16.pt"


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_architecture_round_trips_through_clip_build_model(name):
    # build_model infers the architecture from a state_dict (heads = width // 64, resolution from
    # the positional embedding); a table entry must describe a model it rebuilds identically.
    architecture = BACKBONES[name].architecture
    with torch.device("meta"):
        state_dict = CLIP(**architecture.as_kwargs()).state_dict()
        rebuilt = build_model(state_dict)
    assert architecture_of(rebuilt) == architecture


def test_published_dimensions_of_common_backbones():
    assert BACKBONES["RN50"].architecture.embed_dim == 1024
    assert BACKBONES["ViT-B/16"].architecture.embed_dim == 512
    assert BACKBONES["ViT-B/32"].architecture.vision_patch_size == 32
    assert BACKBONES["ViT-L/14"].architecture.transformer_width == 768
    assert BACKBONES["ViT-L/14@336px"].architecture.image_resolution == 336


def test_tiny_uses_the_real_tokenizer_dimensions_and_distinct_widths():
    tiny = BACKBONES[TINY].architecture
    reference = BACKBONES["ViT-B/16"].architecture
    assert (tiny.vocab_size, tiny.context_length) == (reference.vocab_size, reference.context_length)
    assert tiny.embed_dim != tiny.transformer_width
    assert tiny.image_resolution % tiny.vision_patch_size == 0


def test_deep_tiny_differs_from_tiny_only_in_depth_as_deep_prompts_need_twelve_layers():
    tiny, deep = BACKBONES[TINY].architecture, BACKBONES[TINY_DEEP].architecture
    assert (deep.vision_layers, deep.transformer_layers) == (12, 12)
    assert replace(deep, vision_layers=tiny.vision_layers, transformer_layers=tiny.transformer_layers) == tiny


def test_unknown_name_raises_key_error_with_valid_names_and_nearest_match():
    with pytest.raises(KeyError) as info:
        get_backbone("ViT-B16")
    message = str(info.value)
    assert "'ViT-B16'" in message
    assert "Did you mean 'ViT-B/16'" in message
    assert all(name in message for name in BACKBONES)
