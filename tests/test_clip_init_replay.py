"""The replayed draws of a CLIP build leave the generator where building the model itself leaves it."""
import pytest
import torch
import torch.nn as nn
from clip import model as clip_model

from mopd.clip.backbones import TINY, TINY_DEEP, get_backbone
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.prompts.ivlp_prompt_learner import draw_ivlp_prompts


@pytest.mark.parametrize("name", [TINY, TINY_DEEP, "ViT-B/16"])
def test_replay_consumes_the_generator_as_building_clip_does(name):
    arch = get_backbone(name).architecture
    torch.manual_seed(7)
    clip_model.CLIP(**arch.as_kwargs())
    after_build = torch.rand(8)
    torch.manual_seed(7)
    replay_clip_initialisation(arch)
    assert torch.equal(torch.rand(8), after_build)


def _build_like_the_ivlp_authors(arch, monkeypatch, n_text, n_vision, depth_text, depth_vision):
    """Build CLIP with the IVLP authors' extra draws patched in where their modules make them: the vision input
    prompt right after conv1, and each layer i's prompt (1 <= i < depth) right after its block's parts."""
    drawn = {"vision": [], "text": []}
    block_init, vit_init = clip_model.ResidualAttentionBlock.__init__, clip_model.VisionTransformer.__init__
    counters = {"text": 0, "vision": 0}

    def block(self, d_model, n_head, attn_mask=None):
        block_init(self, d_model, n_head, attn_mask)
        tower = "text" if attn_mask is not None else "vision"
        i = counters[tower]
        counters[tower] += 1
        depth, n = (depth_text, n_text) if tower == "text" else (depth_vision, n_vision)
        if 1 <= i < depth:
            drawn[tower].append(nn.init.normal_(torch.empty(n, d_model), std=0.02))

    real_conv = nn.Conv2d

    def conv(*args, **kwargs):
        layer = real_conv(*args, **kwargs)
        if depth_vision:
            drawn["vision"].append(nn.init.normal_(torch.empty(n_vision, layer.out_channels), std=0.02))
        return layer

    def vit(self, *args, **kwargs):
        monkeypatch.setattr(clip_model.nn, "Conv2d", conv)
        try:
            vit_init(self, *args, **kwargs)
        finally:
            monkeypatch.setattr(clip_model.nn, "Conv2d", real_conv)

    monkeypatch.setattr(clip_model.ResidualAttentionBlock, "__init__", block)
    monkeypatch.setattr(clip_model.VisionTransformer, "__init__", vit)
    clip_model.CLIP(**arch.as_kwargs())
    return drawn


@pytest.mark.parametrize("depths", [(12, 12), (9, 9), (12, 0), (1, 1)])
def test_ivlp_prompts_are_the_ones_the_authors_build_draws(monkeypatch, depths):
    arch = get_backbone(TINY_DEEP).architecture
    depth_text, depth_vision = depths
    torch.manual_seed(3)
    with monkeypatch.context() as patch:
        expected = _build_like_the_ivlp_authors(arch, patch, 4, 2, depth_text, depth_vision)
    after_build = torch.rand(4)
    torch.manual_seed(3)
    drawn = draw_ivlp_prompts(arch, 4, 2, depth_text, depth_vision)
    vision = ([drawn.vision_shallow] if drawn.vision_shallow is not None else []) + drawn.vision_deep
    assert len(vision) == len(expected["vision"]) == depth_vision  # the input prompt and depth - 1 deep ones
    assert all(torch.equal(a, b) for a, b in zip(vision, expected["vision"]))
    assert len(drawn.text_deep) == len(expected["text"]) == depth_text - 1
    assert all(torch.equal(a, b) for a, b in zip(drawn.text_deep, expected["text"]))
    assert torch.equal(torch.rand(4), after_build)


def test_replay_refuses_a_resnet():
    with pytest.raises(ValueError, match="need a ViT backbone"):
        replay_clip_initialisation(get_backbone("RN50").architecture)
