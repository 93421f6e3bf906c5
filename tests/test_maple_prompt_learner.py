"""MaPLe's prompt learner against the authors' construction order and shapes, written out in the test."""
import copy

import clip
import pytest
import torch
from clip import model as clip_model
from torch import nn

from mopd.clip.backbones import TINY_DEEP, get_backbone
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.clip.loading import load_clip
from mopd.prompts.maple_prompt_learner import MultiModalPromptLearner

NAMES = ["golden_retriever", "cat", "stop sign"]


@pytest.fixture(scope="module")
def model():
    return load_clip(TINY_DEEP)  # fp16, as released


@pytest.fixture(scope="module")
def model32():
    return load_clip(TINY_DEEP).float()


def _authors_initial_prompts(model, seed: int, n_ctx: int, depth: int):
    """Seed, build a random CLIP (their load builds one before loading weights), then their learner's draws."""
    torch.manual_seed(seed)
    clip_model.CLIP(**get_backbone(TINY_DEEP).architecture.as_kwargs())
    text, vision = model.ln_final.weight.shape[0], model.visual.conv1.weight.shape[0]
    embedding = model.token_embedding(clip.tokenize("a photo of a")).type(model.dtype)
    ctx = embedding[0, 1:1 + n_ctx]
    proj = nn.Linear(text, vision).half()
    compound = [nn.Parameter(torch.empty(n_ctx, text)) for _ in range(depth - 1)]
    for prompt in compound:
        nn.init.normal_(prompt, std=0.02)
    single = nn.Linear(text, vision)
    return ctx, proj, compound, [copy.deepcopy(single) for _ in range(depth - 1)]


def test_initial_prompts_and_dtypes_are_the_authors_for_the_same_seed(model):
    ctx, proj, compound, projections = _authors_initial_prompts(model, seed=5, n_ctx=2, depth=9)
    torch.manual_seed(5)
    replay_clip_initialisation(get_backbone(TINY_DEEP).architecture)
    learner = MultiModalPromptLearner(NAMES, model, n_ctx=2, ctx_init="a photo of a", depth=9, round_to_fp16=True)
    assert torch.equal(learner.ctx, ctx) and learner.ctx.dtype == torch.float16
    assert torch.equal(learner.proj.weight, proj.weight) and learner.proj.weight.dtype == torch.float16
    assert torch.equal(learner.proj.bias, proj.bias)
    assert [torch.equal(a, b) for a, b in zip(learner.compound_prompts_text, compound)] == [True] * 8
    assert all(p.dtype == torch.float32 for p in learner.compound_prompts_text)
    for ours, theirs in zip(learner.compound_prompt_projections, projections):
        assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)
    assert learner.prompt_prefix == "a photo of a"  # "of a" stay fixed in the prompt after the 2 learned tokens


@pytest.mark.parametrize("round_to_fp16", [True, False])
def test_in_fp32_proj_starts_from_the_authors_fp16_rounded_draw_when_prompts_are_rounded(model, model32, round_to_fp16):
    _, proj, _, _ = _authors_initial_prompts(model, seed=3, n_ctx=2, depth=2)
    torch.manual_seed(3)
    clip_model.CLIP(**get_backbone(TINY_DEEP).architecture.as_kwargs())
    drawn = nn.Linear(model.ln_final.weight.shape[0], model.visual.conv1.weight.shape[0])
    torch.manual_seed(3)
    replay_clip_initialisation(get_backbone(TINY_DEEP).architecture)
    learner = MultiModalPromptLearner(NAMES, model32, n_ctx=2, ctx_init="a photo of a", depth=2,
                                      round_to_fp16=round_to_fp16)
    assert learner.proj.weight.dtype == learner.proj.bias.dtype == torch.float32
    expected = proj if round_to_fp16 else drawn
    assert torch.equal(learner.proj.weight, expected.weight.float())
    assert torch.equal(learner.proj.bias, expected.bias.float())


def test_prompts_for_each_tower_come_from_the_text_context_and_deep_text_prompts(model32):
    learner = MultiModalPromptLearner(NAMES, model32, n_ctx=2, ctx_init="a photo of a", depth=3,
                                      round_to_fp16=False)
    vision = learner.vision_prompts()
    torch.testing.assert_close(vision.shallow, learner.ctx @ learner.proj.weight.t() + learner.proj.bias)
    assert len(vision.deep) == len(learner.text_prompts().deep) == 2
    for j in range(2):
        layer = learner.compound_prompt_projections[j]
        torch.testing.assert_close(vision.deep[j], learner.compound_prompts_text[j] @ layer.weight.t() + layer.bias)
    assert learner.settings() == {"n_ctx": 2, "csc": False, "class_token_position": "end", "depth": 3}


def test_more_than_four_context_tokens_start_random_as_the_authors_do(model32):
    learner = MultiModalPromptLearner(NAMES, model32, n_ctx=6, ctx_init="a photo of a", depth=2, round_to_fp16=True)
    assert learner.prompt_prefix == "X X X X X X" and learner.ctx.shape == (6, model32.ln_final.weight.shape[0])


def test_a_depth_beyond_the_towers_is_refused(model):
    with pytest.raises(ValueError, match="PROMPT_DEPTH=13: the text tower has 12 layers"):
        MultiModalPromptLearner(NAMES, model, n_ctx=2, ctx_init="a photo of a", depth=13, round_to_fp16=True)
