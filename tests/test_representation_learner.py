"""MMRL's learner: the authors' initial values from a seed, the class prompts it feeds the text tower, its outputs."""
import clip
import pytest
import torch
from clip import model as clip_model
from torch import nn

from mopd.clip.backbones import TINY_DEEP, get_backbone
from mopd.clip.loading import load_clip
from mopd.prompts.representation_learner import RepresentationLearner, draw_proj_rep

LAYERS = [6, 7, 8, 9, 10, 11, 12]


@pytest.fixture(scope="module")
def deep_clip():
    return load_clip(TINY_DEEP).float()


def _build_like_the_mmrl_authors(arch, monkeypatch, n_tokens, rep_dim):
    """The authors' trainer: two CLIP builds whose image tower draws `proj_rep` = W^-1/2 randn(W, D) right after
    `proj` (the last draw of CLIP's VisionTransformer), then the tokens and one Linear per tower."""
    vit_init, drawn = clip_model.VisionTransformer.__init__, []

    def vit(self, input_resolution, patch_size, width, layers, heads, output_dim):
        vit_init(self, input_resolution, patch_size, width, layers, heads, output_dim)
        drawn.append(width ** -0.5 * torch.randn(width, output_dim))

    monkeypatch.setattr(clip_model.VisionTransformer, "__init__", vit)
    clip_model.CLIP(**arch.as_kwargs())
    clip_model.CLIP(**arch.as_kwargs())
    tokens = nn.init.normal_(torch.empty(n_tokens, rep_dim), std=0.02)
    to_vision, to_text = nn.Linear(rep_dim, arch.vision_width), nn.Linear(rep_dim, arch.transformer_width)
    return drawn[0], tokens, to_vision, to_text


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
