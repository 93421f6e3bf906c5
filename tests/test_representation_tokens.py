"""MMRL's and MMRL++'s representation tokens in both towers against the authors' forward written out naively,
truncation included."""
import clip
import pytest
import torch

from mopd.clip.backbones import TINY, TINY_DEEP
from mopd.clip.loading import load_clip
from mopd.clip.prompted_vision import PromptedVisionTransformer, RepresentationVisionTransformer
from mopd.clip.representation_tokens import RepresentationTokens, representation_layer_indices
from mopd.clip.text_encoder import TextEncoder

K = 3
NAMES = ["cat", "sea lion", "a very long class name with many words in it", "dog"]


@pytest.fixture(scope="module")
def deep_clip():
    return load_clip(TINY_DEEP).float()


def _tokens(layers: list[int], width: int, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(K, width, generator=generator) for _ in layers]


def _causal(length: int) -> torch.Tensor:
    mask = torch.empty(length, length)
    mask.fill_(float("-inf"))
    return mask.triu_(1)


def _enter(x, number, layers, tokens, beta):
    """(N, L, W) entering block `number`: inserted at the first layer, beta * new + (1 - beta) * carried after."""
    if number not in layers:
        return x
    new = tokens[layers.index(number)].expand(x.shape[0], -1, -1)
    if number == layers[0]:
        return torch.cat([x[:, :1], new, x[:, 1:]], dim=1)
    return torch.cat([x[:, :1], beta * new + (1 - beta) * x[:, 1:1 + K], x[:, 1 + K:]], dim=1)


def naive_vision(visual, images, layers, tokens, beta=1.0):
    """The authors' image tower: blocks numbered from 1; at the first layer of `layers` the K tokens go in after the
    class token, at the later ones they replace (MMRL++: are composed with) positions 1..K; the class and the K
    representation outputs are read."""
    x = visual.conv1(images)
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    x = torch.cat([visual.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], dim=1)
    x = visual.ln_pre(x + visual.positional_embedding)  # (B, L, W)
    for number, block in enumerate(visual.transformer.resblocks, start=1):
        x = _enter(x, number, layers, tokens, beta)
        x = block(x.permute(1, 0, 2)).permute(1, 0, 2)
    rep = torch.stack([visual.ln_post(x[:, 1 + j]) for j in range(K)], dim=1).mean(dim=1)  # LN per token, then mean
    return visual.ln_post(x[:, 0]) @ visual.proj, rep


def naive_text(model, tokenized, layers, tokens, beta=1.0):
    """The authors' text tower over all 77 tokens: the mask rebuilt for the longer sequence, the feature at EOT + K."""
    x = model.token_embedding(tokenized) + model.positional_embedding  # (N, 77, W)
    for number, block in enumerate(model.transformer.resblocks, start=1):
        x = _enter(x, number, layers, tokens, beta)
        h = block.ln_1(x.permute(1, 0, 2))
        out = x.permute(1, 0, 2) + block.attn(h, h, h, need_weights=False, attn_mask=_causal(x.shape[1]))[0]
        x = (out + block.mlp(block.ln_2(out))).permute(1, 0, 2)
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1) + K] @ model.text_projection


@pytest.mark.parametrize("layers", [[6, 7, 8, 9, 10, 11, 12], [1, 2], [3, 5, 12], [12]])
def test_image_tower_inserts_then_replaces_the_tokens_after_the_class_token(deep_clip, layers):
    visual = deep_clip.visual
    tokens = _tokens(layers, visual.conv1.weight.shape[0])
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    proj_rep = torch.randn(visual.proj.shape, generator=torch.Generator().manual_seed(3))
    rep = RepresentationTokens(tuple(l - 1 for l in layers), tuple(tokens))
    with torch.no_grad():
        expected_cls, expected_rep = naive_vision(visual, images, layers, tokens)
        sequence = PromptedVisionTransformer(visual).encode_tokens(images, representation=rep)
        features = RepresentationVisionTransformer(visual)(images, rep, proj_rep)
    assert sequence.shape[0] == 1 + K + (32 // 8) ** 2  # the sequence grew by K, once
    assert features.shape == (2, 2, visual.proj.shape[1])
    torch.testing.assert_close(features[:, 0], expected_cls, atol=1e-6, rtol=0)
    torch.testing.assert_close(features[:, 1], expected_rep @ proj_rep, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("truncate", [True, False])
@pytest.mark.parametrize("layers", [[6, 7, 8, 9, 10, 11, 12], [1, 4], [12]])
def test_text_tower_inserts_after_sos_grows_the_causal_mask_and_reads_eot_plus_k(deep_clip, layers, truncate):
    tokenized = clip.tokenize([f"a photo of a {name}." for name in NAMES])
    tokens = _tokens(layers, deep_clip.ln_final.weight.shape[0], seed=2)
    encoder = TextEncoder(deep_clip, bucket_ratio=1.0, truncate=truncate)  # ratio 1: several buckets of other lengths
    rep = RepresentationTokens(tuple(l - 1 for l in layers), tuple(tokens))
    with torch.no_grad():
        expected = naive_text(deep_clip, tokenized, layers, tokens)
        features = encoder(deep_clip.token_embedding(tokenized), tokenized, representation=rep)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("beta", [0.6, 0.0])
def test_mmrlpp_composes_the_new_tokens_with_the_carried_ones_in_both_towers(deep_clip, beta):
    layers = [6, 7, 8, 9, 10, 11, 12]
    visual = deep_clip.visual
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    vision_tokens = _tokens(layers, visual.conv1.weight.shape[0])
    text_tokens = _tokens(layers, deep_clip.ln_final.weight.shape[0], seed=2)
    tokenized = clip.tokenize([f"a photo of a {name}." for name in NAMES])
    with torch.no_grad():
        image = RepresentationVisionTransformer(visual)(
            images, RepresentationTokens(tuple(l - 1 for l in layers), tuple(vision_tokens), beta), visual.proj)
        text = TextEncoder(deep_clip)(deep_clip.token_embedding(tokenized), tokenized,
                                      representation=RepresentationTokens(tuple(l - 1 for l in layers),
                                                                          tuple(text_tokens), beta))
        expected_cls, expected_rep = naive_vision(visual, images, layers, vision_tokens, beta)
        replaced = naive_vision(visual, images, layers, vision_tokens)[1]
        expected_text = naive_text(deep_clip, tokenized, layers, text_tokens, beta)
    torch.testing.assert_close(image[:, 0], expected_cls, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(image[:, 1], expected_rep @ visual.proj, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(text, expected_text, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(expected_rep, replaced, atol=1e-3)  # composing is not MMRL's replacing


def test_tokens_reach_the_features_with_their_gradient(deep_clip):
    width = deep_clip.ln_final.weight.shape[0]
    tokens = torch.nn.Parameter(torch.randn(K, width))
    tokenized = clip.tokenize(["a photo of a cat.", "a dog."])
    rep = RepresentationTokens((5, 6), (tokens, tokens * 2))
    TextEncoder(deep_clip)(deep_clip.token_embedding(tokenized).detach(), tokenized, representation=rep).sum().backward()
    assert tokens.grad is not None and tokens.grad.abs().sum() > 0


def test_fp32_tokens_promote_an_fp16_image_stream_as_the_authors_concatenation_does():
    stream = torch.randn(5, 2, 4).half()
    rep = RepresentationTokens((0,), (torch.randn(K, 4),))
    entered = rep.enter(stream, 0)
    assert entered.dtype == torch.float32 and entered.shape == (5 + K, 2, 4)
    assert torch.equal(entered[1:1 + K, 1], rep.tokens[0]) and torch.equal(entered[1 + K:], stream[1:].float())


@pytest.mark.parametrize("layers, message", [
    ([6, 7, 13], "the image tower has 12 layers"), ([], "non-empty increasing"), ([7, 6], "non-empty increasing"),
    ([6, 6], "non-empty increasing"), ([0, 1], "between 1 and 12"),
])
def test_representation_layers_outside_a_tower_or_out_of_order_are_refused(layers, message):
    with pytest.raises(ValueError, match=message):
        representation_layer_indices(layers, {"image tower": 12, "text tower": 12}, "TRAINER.MMRL.REP_LAYERS")


def test_the_tiny_backbone_is_too_shallow_for_the_published_layers():
    model = load_clip(TINY)
    depths = {"image tower": len(model.visual.transformer.resblocks), "text tower": model.transformer.layers}
    with pytest.raises(ValueError, match=r"REP_LAYERS=\[6, 7, 8, 9, 10, 11, 12\]: the image tower has 2 layers"):
        representation_layer_indices([6, 7, 8, 9, 10, 11, 12], depths, "TRAINER.MMRL.REP_LAYERS")
