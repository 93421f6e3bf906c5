"""MMRL's and MMRL++'s learners: the authors' initial values from a seed, the class prompts they feed the text tower,
their outputs."""
import math

import clip
import pytest
import torch
from clip import model as clip_model
from torch import nn

from mopd.clip.backbones import TINY_DEEP, get_backbone
from mopd.clip.loading import load_clip
from mopd.prompts.representation_learner import (RepresentationLearner, ResidualRepresentationLearner, draw_proj_lora,
                                                 draw_proj_rep)

LAYERS = [6, 7, 8, 9, 10, 11, 12]


@pytest.fixture(scope="module")
def deep_clip():
    return load_clip(TINY_DEEP).float()


def _two_clips_drawing_after_proj(arch, monkeypatch, draw):
    """The authors' two CLIP builds, whose image tower draws `draw(width, output_dim)` right after `proj` (the last
    draw of CLIP's VisionTransformer); what the first drew."""
    vit_init, drawn = clip_model.VisionTransformer.__init__, []

    def vit(self, input_resolution, patch_size, width, layers, heads, output_dim):
        vit_init(self, input_resolution, patch_size, width, layers, heads, output_dim)
        drawn.append(draw(width, output_dim))

    monkeypatch.setattr(clip_model.VisionTransformer, "__init__", vit)
    clip_model.CLIP(**arch.as_kwargs())
    clip_model.CLIP(**arch.as_kwargs())
    return drawn[0]


def _build_like_the_mmrl_authors(arch, monkeypatch, n_tokens, rep_dim):
    """The authors' MMRL trainer: two CLIPs drawing `proj_rep` = W^-1/2 randn(W, D), the tokens, a Linear per tower."""
    proj_rep = _two_clips_drawing_after_proj(arch, monkeypatch,
                                             lambda width, out: width ** -0.5 * torch.randn(width, out))
    tokens = nn.init.normal_(torch.empty(n_tokens, rep_dim), std=0.02)
    to_vision, to_text = nn.Linear(rep_dim, arch.vision_width), nn.Linear(rep_dim, arch.transformer_width)
    return proj_rep, tokens, to_vision, to_text


def test_a_seed_gives_the_authors_initial_tokens_projections_and_proj_rep(deep_clip, monkeypatch):
    arch = get_backbone(TINY_DEEP).architecture
    torch.manual_seed(5)
    with monkeypatch.context() as patch:
        proj_rep, tokens, to_vision, to_text = _build_like_the_mmrl_authors(arch, patch, 5, 32)
    after = torch.rand(4)
    torch.manual_seed(5)
    learner = RepresentationLearner(["cat", "dog"], deep_clip, "a photo of a {}.", 5, 32, LAYERS, draw_proj_rep(arch))
    assert torch.equal(torch.rand(4), after)  # the generator is left where the authors' build leaves it
    assert torch.equal(learner.proj_rep, proj_rep) and not torch.equal(learner.proj_rep, deep_clip.visual.proj)
    assert torch.equal(learner.compound_rep_tokens, tokens)
    for layers, linear in ((learner.compound_rep_tokens_r2vproj, to_vision), (learner.compound_rep_tokens_r2tproj, to_text)):
        assert len(layers) == len(LAYERS)  # one per representation layer, all starting as the same Linear
        assert all(torch.equal(p.weight, linear.weight) and torch.equal(p.bias, linear.bias) for p in layers)
        assert layers[0].weight is not layers[1].weight


def test_class_prompts_are_the_template_filled_with_each_name(deep_clip):
    learner = RepresentationLearner(["sea_lion", "cat"], deep_clip, "a photo of a {}, a type of pet.", 5, 32, LAYERS,
                                    torch.zeros(64, 64))
    expected = clip.tokenize(["a photo of a sea lion, a type of pet.", "a photo of a cat, a type of pet."])
    assert torch.equal(learner.tokenized_prompts, expected)
    assert torch.equal(learner.prompt_embeddings, deep_clip.token_embedding(expected).detach())
    assert set(learner.state_dict()) == {"compound_rep_tokens", "proj_rep"} | {
        f"compound_rep_tokens_r2{t}proj.{i}.{p}" for t in "vt" for i in range(7) for p in ("weight", "bias")}


def test_each_layer_gets_its_own_projection_of_the_shared_tokens_in_clips_dtype():
    learner = RepresentationLearner(["cat"], load_clip(TINY_DEEP), "a photo of a {}.", 5, 32, [2, 4], torch.zeros(64, 64))
    with torch.no_grad():
        learner.compound_rep_tokens_r2tproj[1].bias.add_(1.0)
    text, vision = learner.representation_tokens()
    assert text.layers == vision.layers == (1, 3)
    assert [t.dtype for t in text.tokens] == [torch.float16] * 2 and vision.tokens[0].shape == (5, 64)
    expected = learner.compound_rep_tokens_r2tproj[1](learner.compound_rep_tokens).half()
    assert torch.equal(text.tokens[1], expected) and not torch.equal(text.tokens[0], text.tokens[1])


def _kaiming(rows, columns):
    return nn.init.kaiming_uniform_(torch.zeros(rows, columns), a=math.sqrt(5))


def test_a_seed_gives_the_authors_mmrlpp_tokens_shared_weights_residuals_and_proj_factor(deep_clip, monkeypatch):
    """The authors' MMRL++ trainer: two CLIPs drawing A (W, 64) right after `proj`, the tokens, one Linear per tower,
    then each image layer's A_l (W_vision, 4), then each text layer's (W_text, 4); every B zero."""
    arch = get_backbone(TINY_DEEP).architecture
    torch.manual_seed(7)
    with monkeypatch.context() as patch:
        proj_a = _two_clips_drawing_after_proj(arch, patch, lambda width, out: _kaiming(width, 6))
    tokens = nn.init.normal_(torch.empty(5, 32), std=0.02)
    to_vision, to_text = nn.Linear(32, arch.vision_width), nn.Linear(32, arch.transformer_width)
    vision_a = [_kaiming(arch.vision_width, 3) for _ in LAYERS]
    text_a = [_kaiming(arch.transformer_width, 3) for _ in LAYERS]
    after = torch.rand(4)
    torch.manual_seed(7)
    learner = ResidualRepresentationLearner(["cat", "dog"], deep_clip, "a photo of a {}.", 5, 32, LAYERS, 0.4, 3,
                                            draw_proj_lora(arch, 6))
    assert torch.equal(torch.rand(4), after)  # the generator is left where the authors' build leaves it
    assert torch.equal(learner.proj_rep_A, proj_a) and not learner.proj_rep_B.any()
    assert torch.equal(learner.rep_projection(deep_clip.visual.proj), deep_clip.visual.proj)  # CLIP's proj at first
    assert torch.equal(learner.compound_rep_tokens, tokens)
    for srra, linear, drawn in ((learner.srra_r2vproj, to_vision, vision_a), (learner.srra_r2tproj, to_text, text_a)):
        assert torch.equal(srra.weight, linear.weight) and len(srra.srra) == len(LAYERS)
        for aligner, a in zip(srra.srra, drawn):
            assert torch.equal(aligner.A, a) and not aligner.B.any() and torch.equal(aligner.bias, linear.bias)
    assert learner.srra_r2vproj.srra[0].bias is not learner.srra_r2vproj.srra[1].bias
    assert set(learner.state_dict()) == {"compound_rep_tokens", "proj_rep_A", "proj_rep_B"} | {
        f"srra_r2{t}proj.weight" for t in "vt"} | {
        f"srra_r2{t}proj.srra.{i}.{p}" for t in "vt" for i in range(7) for p in ("A", "B", "bias")}


def test_mmrlpp_layers_map_with_the_shared_weight_plus_their_residual_and_carry_beta(deep_clip):
    learner = ResidualRepresentationLearner(["cat"], deep_clip, "a photo of a {}.", 5, 32, [2, 4], 0.3, 3,
                                            torch.zeros(64, 6))
    with torch.no_grad():
        for parameter in learner.parameters():
            parameter.normal_()
    text, vision = learner.representation_tokens()
    assert text.beta == vision.beta == 0.3 and text.layers == (1, 3)
    for index in range(2):
        for srra, made in ((learner.srra_r2tproj, text), (learner.srra_r2vproj, vision)):
            aligner = srra.srra[index]
            expected = learner.compound_rep_tokens @ (srra.weight + aligner.A @ aligner.B).t() + aligner.bias
            torch.testing.assert_close(made.tokens[index], expected, atol=1e-5, rtol=1e-5)
    proj = deep_clip.visual.proj
    torch.testing.assert_close(learner.rep_projection(proj), proj + learner.proj_rep_A @ learner.proj_rep_B)
