"""Tests for CoCoOp's prompt learner and logits against CoOp's learner and plain loops."""
import dataclasses

import clip
import pytest
import torch
import torch.nn.functional as F

from mopd.clip.backbones import TINY, get_backbone
from mopd.clip.loading import build_random_clip, load_clip
from mopd.clip.text_encoder import TextEncoder
from mopd.prompts.cocoop_prompt_learner import CoCoOpPromptLearner, cocoop_logits
from mopd.prompts.prompt_learner import PromptLearner

NAMES = ["dog", "golden_retriever", "stop sign", "pizza", "red-breasted merganser"]


@pytest.fixture(scope="module")
def clip_fp32():
    return load_clip(TINY).float()


def _learner(model, ctx_init: str = "a photo of a", n_ctx: int = 4, seed: int = 0) -> CoCoOpPromptLearner:
    torch.manual_seed(seed)
    learner = CoCoOpPromptLearner(NAMES, model, n_ctx=n_ctx, ctx_init=ctx_init)
    with torch.no_grad():
        for param in learner.meta_net.parameters():
            param.normal_(std=0.5)  # a clearly non-zero shift per image
    return learner


def _zero_meta_net(learner: CoCoOpPromptLearner) -> None:
    with torch.no_grad():
        for param in learner.meta_net.parameters():
            param.zero_()


def _image_features(model, n_images: int) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(n_images, model.visual.output_dim)


def test_prompts_have_one_set_per_image_of_shape_b_c_l_w(clip_fp32):
    learner = _learner(clip_fp32)
    prompts = learner(_image_features(clip_fp32, 3))
    width = clip_fp32.ln_final.weight.shape[0]
    assert prompts.shape == (3, len(NAMES), clip_fp32.context_length, width)


def test_meta_net_maps_d_to_d_over_16_to_w_in_clip_dtype():
    model = load_clip(TINY)  # fp16 weights, as released CLIP
    learner = CoCoOpPromptLearner(NAMES, model, n_ctx=4)
    embed_dim, width = model.visual.output_dim, model.ln_final.weight.shape[0]
    assert embed_dim != width  # the tiny CLIP keeps D and W apart so a mix-up fails here
    linear1, linear2 = learner.meta_net.linear1, learner.meta_net.linear2
    assert (linear1.in_features, linear1.out_features) == (embed_dim, embed_dim // 16)
    assert (linear2.in_features, linear2.out_features) == (embed_dim // 16, width)
    assert all(p.dtype == model.dtype for p in learner.meta_net.parameters())
    assert learner.ctx.dtype == model.dtype


def test_zeroed_meta_net_gives_every_image_the_coop_prompts(clip_fp32):
    learner = _learner(clip_fp32)
    _zero_meta_net(learner)
    coop = PromptLearner(NAMES, clip_fp32, n_ctx=4, ctx_init="a photo of a")
    prompts = learner(_image_features(clip_fp32, 3))
    for b in range(3):
        torch.testing.assert_close(prompts[b], coop())


def test_each_image_gets_coop_prompts_with_context_shifted_by_its_meta_net_bias(clip_fp32):
    learner = _learner(clip_fp32)
    features = _image_features(clip_fp32, 3)
    prompts = learner(features)
    coop = PromptLearner(NAMES, clip_fp32, n_ctx=4, ctx_init="a photo of a")
    for b in range(3):
        bias = learner.meta_net(features[b : b + 1])[0]  # (W,)
        assert bias.abs().max() > 0.1
        with torch.no_grad():
            coop.ctx.copy_(learner.ctx + bias)
        torch.testing.assert_close(prompts[b], coop())
    assert not torch.allclose(prompts[0], prompts[1])


def test_context_initialises_from_words_or_small_normal_noise(clip_fp32):
    learner = CoCoOpPromptLearner(NAMES, clip_fp32, n_ctx=4, ctx_init="a_photo_of_a")
    words = clip_fp32.token_embedding(clip.tokenize("a photo of a"))[0, 1:5]
    torch.testing.assert_close(learner.ctx.detach(), words)
    torch.manual_seed(0)
    random = CoCoOpPromptLearner(NAMES, clip_fp32, n_ctx=8)
    assert random.ctx.shape == (8, clip_fp32.ln_final.weight.shape[0])
    assert 0.015 < float(random.ctx.detach().std()) < 0.025


def test_state_dict_holds_only_context_and_meta_net(clip_fp32):
    keys = set(_learner(clip_fp32).state_dict())
    expected = {"ctx"} | {f"meta_net.linear{i}.{kind}" for i in (1, 2) for kind in ("weight", "bias")}
    assert keys == expected


def test_gradients_reach_context_and_meta_net(clip_fp32):
    learner = _learner(clip_fp32)
    learner(_image_features(clip_fp32, 2)).square().sum().backward()
    for name, param in learner.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_meta_net_needs_an_embedding_of_at_least_16():
    small = dataclasses.replace(get_backbone(TINY).architecture, embed_dim=8)
    with pytest.raises(ValueError, match="D = 8"):
        CoCoOpPromptLearner(NAMES, build_random_clip(small, seed=0), n_ctx=4)


def test_logits_with_zeroed_meta_net_equal_zero_shot_clip_with_the_init_words(clip_fp32):
    learner = _learner(clip_fp32)
    _zero_meta_net(learner)
    features = _image_features(clip_fp32, 3)
    scale = clip_fp32.logit_scale.exp()
    logits = cocoop_logits(features, learner, TextEncoder(clip_fp32), scale)
    texts = clip.tokenize([f"a photo of a {name.replace('_', ' ')}." for name in NAMES])
    with torch.no_grad():
        zero_shot_text = F.normalize(clip_fp32.encode_text(texts), dim=-1)
    expected = scale * F.normalize(features, dim=-1) @ zero_shot_text.t()
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("images_per_call", [1, 3])
def test_logits_equal_a_per_image_loop_over_text_features(clip_fp32, images_per_call):
    learner = _learner(clip_fp32)
    encoder = TextEncoder(clip_fp32)
    features = _image_features(clip_fp32, 4)
    scale = clip_fp32.logit_scale.exp()
    logits = cocoop_logits(features, learner, encoder, scale, images_per_call=images_per_call)
    normalised = F.normalize(features, dim=-1)
    prompts = learner(normalised)
    rows = []
    for b in range(4):
        text = F.normalize(encoder(prompts[b], learner.tokenized_prompts), dim=-1)
        rows.append(scale * text @ normalised[b])
    assert logits.shape == (4, len(NAMES))
    torch.testing.assert_close(logits, torch.stack(rows), atol=1e-4, rtol=1e-4)


def test_logits_reject_a_non_positive_chunk(clip_fp32):
    with pytest.raises(ValueError, match="images_per_call"):
        cocoop_logits(_image_features(clip_fp32, 1), _learner(clip_fp32), TextEncoder(clip_fp32), 1.0, images_per_call=0)
