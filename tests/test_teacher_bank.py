"""Tests for mopd.methods.class_text_features and mopd.methods.teacher_bank."""
import math

import clip
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mopd.methods.class_text_features import check_class_prompts_fit, encode_class_prompts, template_mean_features
from mopd.methods.teacher_bank import TeacherBank

TEMPLATES = ["a photo of a {}.", "a sketch of the {}.", "{} texture."]
CLASSNAMES = ["golden_retriever", "tabby cat", "sunflower", "red panda", "oak"]


class FakeTextEncoder(nn.Module):
    """Sum of token embeddings over the non-padding tokens; records the batch size of every call."""

    def __init__(self, embed_dim: int = 16, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(49408, embed_dim).to(dtype)
        self.batch_sizes: list[int] = []

    def encode_tokens(self, tokenized: torch.Tensor) -> torch.Tensor:
        self.batch_sizes.append(tokenized.shape[0])
        mask = (tokenized != 0).to(self.embedding.weight.dtype)
        return (self.embedding(tokenized) * mask[..., None]).sum(dim=1)


def _naive_features(encoder, templates, classnames):
    """One prompt at a time: normalize(encode(tokenize(template.format(name with spaces))))."""
    features = torch.empty(len(templates), len(classnames), encoder.embedding.embedding_dim)
    for p, template in enumerate(templates):
        for c, name in enumerate(classnames):
            tokens = clip.tokenize([template.format(name.replace("_", " "))])
            feature = encoder.encode_tokens(tokens)[0].detach().double()
            features[p, c] = (feature / feature.norm()).float()
    return features


def test_encoded_class_prompts_equal_one_prompt_at_a_time_encoding():
    encoder = FakeTextEncoder()
    features = encode_class_prompts(encoder, TEMPLATES, CLASSNAMES)
    assert features.shape == (3, 5, 16)
    torch.testing.assert_close(features, _naive_features(encoder, TEMPLATES, CLASSNAMES))


class TinyClipTextEncoder(nn.Module):
    """A small randomly initialised CLIP from the `clip` package, encoding token ids with `encode_text`."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.model = clip.model.CLIP(
            embed_dim=24,
            image_resolution=32,
            vision_layers=1,
            vision_width=64,
            vision_patch_size=16,
            context_length=77,
            vocab_size=49408,
            transformer_width=32,
            transformer_heads=2,
            transformer_layers=2,
        )

    def encode_tokens(self, tokenized: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokenized)


def test_chunked_encoding_with_a_real_clip_text_encoder_equals_per_prompt_encode_text():
    encoder = TinyClipTextEncoder().eval()
    features = encode_class_prompts(encoder, TEMPLATES, CLASSNAMES, chunk_size=4)
    assert features.shape == (3, 5, 24)
    for p, template in enumerate(TEMPLATES):
        for c, name in enumerate(CLASSNAMES):
            with torch.no_grad():
                expected = encoder.model.encode_text(clip.tokenize([template.format(name.replace("_", " "))]))[0]
            torch.testing.assert_close(features[p, c], expected / expected.norm(), rtol=1e-5, atol=1e-6)


def test_unnormalised_features_are_the_encoders_own_and_their_template_mean_is_promptsrcs_teacher():
    encoder = FakeTextEncoder()
    raw = encode_class_prompts(encoder, TEMPLATES, CLASSNAMES, normalise=False)
    for p, template in enumerate(TEMPLATES):
        for c, name in enumerate(CLASSNAMES):
            expected = encoder.encode_tokens(clip.tokenize([template.format(name.replace("_", " "))]))[0].detach()
            torch.testing.assert_close(raw[p, c], expected)
    # PromptSRC averages the raw features and normalises the mean (not the mean of unit vectors).
    mean_then_normalise, normalise_then_mean = F.normalize(raw.mean(0), dim=-1), F.normalize(
        encode_class_prompts(encoder, TEMPLATES, CLASSNAMES).mean(0), dim=-1)
    assert not torch.allclose(mean_then_normalise, normalise_then_mean, atol=1e-3)


def test_template_mean_features_normalise_the_mean_of_raw_features_in_fp32_either_way_of_encoding():
    encoder = TinyClipTextEncoder().eval().half()
    encoder.dtype = torch.float16  # as TextEncoder says its dtype; the function encodes with an fp32 copy
    expected = F.normalize(encode_class_prompts(encoder.float(), TEMPLATES, CLASSNAMES, normalise=False).mean(0), dim=-1)
    encoder.half()
    for one_at_a_time in (False, True):
        features = template_mean_features(encoder, TEMPLATES, CLASSNAMES, one_at_a_time)
        assert features.dtype == torch.float32
        torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-6)
    assert encoder.model.text_projection.dtype == torch.float16  # the caller's encoder is not cast


def test_encoded_class_prompts_have_unit_norm_rows():
    features = encode_class_prompts(FakeTextEncoder(), TEMPLATES, CLASSNAMES)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(3, 5))


def test_underscores_in_class_names_become_spaces():
    encoder = FakeTextEncoder()
    with_underscore = encode_class_prompts(encoder, TEMPLATES, ["golden_retriever"])
    with_space = encode_class_prompts(encoder, TEMPLATES, ["golden retriever"])
    torch.testing.assert_close(with_underscore, with_space)


@pytest.mark.parametrize("chunk_size", [1, 4, 7, 15, 1024])
def test_chunked_encoding_equals_unchunked_and_respects_chunk_size(chunk_size):
    encoder = FakeTextEncoder()
    unchunked = encode_class_prompts(encoder, TEMPLATES, CLASSNAMES, chunk_size=10**6)
    encoder.batch_sizes.clear()
    chunked = encode_class_prompts(encoder, TEMPLATES, CLASSNAMES, chunk_size=chunk_size)
    torch.testing.assert_close(chunked, unchunked)
    assert max(encoder.batch_sizes) <= chunk_size
    assert sum(encoder.batch_sizes) == 15
    assert len(encoder.batch_sizes) == math.ceil(15 / chunk_size)


def test_encoded_features_carry_no_gradient_but_can_enter_a_graph():
    encoder = FakeTextEncoder()
    features = encode_class_prompts(encoder, TEMPLATES, CLASSNAMES)
    assert not features.requires_grad
    student = torch.randn(5, 16, requires_grad=True)
    (student * features[0]).sum().backward()
    torch.testing.assert_close(student.grad, features[0])
    assert encoder.embedding.weight.grad is None


def test_encoding_keeps_the_encoder_dtype():
    features = encode_class_prompts(FakeTextEncoder(dtype=torch.float64), TEMPLATES, CLASSNAMES)
    assert features.dtype == torch.float64


def test_too_long_prompt_raises_value_error_naming_the_template_and_the_class():
    templates = ["a photo of a {}.", "a " + "very " * 60 + "{}."]
    names = ["dog", "cat_" + "x" * 3, "big " * 14 + "bird"]  # only the last, in the second template, is too long
    with pytest.raises(ValueError, match=r"the class name 'big big .* bird' in the template 'a very .*' of the "
                                         r"hand-written templates makes a prompt of 79 tokens, more than CLIP's 77"):
        encode_class_prompts(FakeTextEncoder(), templates, names)
    check_class_prompts_fit(templates, names[:2], "TRAINER.MOPD.POOL 'x'")  # the others fit


def test_encoding_without_templates_or_classes_is_rejected():
    with pytest.raises(ValueError, match="0 templates"):
        encode_class_prompts(FakeTextEncoder(), [], CLASSNAMES)
    with pytest.raises(ValueError, match="0 class names"):
        encode_class_prompts(FakeTextEncoder(), TEMPLATES, [])


def test_teacher_bank_holds_pool_by_class_features_outside_the_state_dict():
    encoder = FakeTextEncoder()
    bank = TeacherBank.from_text_encoder(encoder, TEMPLATES, CLASSNAMES, chunk_size=4)
    assert bank.features.shape == (3, 5, 16)
    assert (bank.num_prompts, bank.num_classes) == (3, 5)
    torch.testing.assert_close(bank.features, _naive_features(encoder, TEMPLATES, CLASSNAMES))
    assert "features" in dict(bank.named_buffers())
    assert bank.state_dict() == {}
    bank.load_state_dict({}, strict=True)


def test_teacher_bank_features_follow_to():
    bank = TeacherBank(F.normalize(torch.randn(2, 3, 4), dim=-1))
    bank.to(torch.float64)
    assert bank.features.dtype == torch.float64


def test_teacher_logits_equal_scaled_dot_products_per_prompt_image_and_class():
    torch.manual_seed(0)
    features = F.normalize(torch.randn(3, 5, 8), dim=-1)
    bank = TeacherBank(features)
    image_features = F.normalize(torch.randn(4, 8), dim=-1)
    logits = bank.logits(image_features.clone().requires_grad_(), torch.tensor(100.0))
    assert logits.shape == (3, 4, 5)
    assert not logits.requires_grad
    for p in range(3):
        for b in range(4):
            for c in range(5):
                expected = 100.0 * sum(float(image_features[b, d]) * float(features[p, c, d]) for d in range(8))
                assert math.isclose(float(logits[p, b, c]), expected, rel_tol=1e-5, abs_tol=1e-4)


def test_teacher_bank_rejects_features_without_three_dimensions():
    with pytest.raises(ValueError, match=r"\(P, C, D\)"):
        TeacherBank(torch.randn(5, 8))
