"""The fast text paths give the naive path's logits: truncated, length-grouped and cached encoding vs
CLIP's full 77-token pass redone for every test batch (tiny CLIP, fp32)."""
from contextlib import contextmanager

import clip
import pytest
import torch
import torch.nn.functional as F

from mopd.clip.backbones import TINY
from mopd.clip.loading import load_clip
from mopd.clip.text_encoder import CPU_BUCKET_RATIO, DEFAULT_BUCKET_RATIO, TextEncoder
from mopd.methods.teacher_bank import TeacherBank
from mopd.prompts.cocoop_prompt_learner import CoCoOpPromptLearner
from mopd.prompts.prompt_learner import PromptLearner
from mopd.prompts.prompted_clip import ConditionalPromptedCLIP, PromptedCLIP

# Short names and a few long ones (8-15 tokens), as in real class lists.
NAMES = [
    "dog",
    "tabby_cat",
    "red fox",
    "the traditional wooden fishing boat with two masts",
    "sea lion",
    "oak",
    "rusty spotted cat from the dry forests of india",
    "school bus",
    "bell pepper",
]
TEMPLATES = ["a photo of a {}.", "a blurry photo of the {}, seen from far away.", "{}."]


@pytest.fixture(scope="module")
def clip_fp32():
    model = load_clip(TINY).float()
    model.requires_grad_(False)
    return model


def full_length_text_features(model, prompts: torch.Tensor, tokenized: torch.Tensor) -> torch.Tensor:
    """The naive path: CLIP's transformer over all context-length tokens, read at the EOT, normalised."""
    x = prompts + model.positional_embedding
    x = model.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    x = model.ln_final(x)
    features = x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1)] @ model.text_projection
    return F.normalize(features, dim=-1)


def image_features(model, images: torch.Tensor) -> torch.Tensor:
    return F.normalize(model.encode_image(images), dim=-1)


def random_images(model, n_batches: int = 3, batch_size: int = 4) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    side = model.visual.input_resolution
    return list(torch.randn(n_batches * batch_size, 3, side, side, generator=generator).split(batch_size))


@contextmanager
def text_token_counter(model):
    """Tokens entering the first text-transformer layer, and the number of encoder calls, over the block."""
    seen = {"tokens": 0, "calls": 0}

    def hook(module, inputs):
        seen["tokens"] += inputs[0].shape[0] * inputs[0].shape[1]
        seen["calls"] += 1

    handle = model.transformer.resblocks[0].ln_1.register_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def minimal_tokens(tokenized: torch.Tensor) -> int:
    return int((tokenized.argmax(dim=-1) + 1).sum())


@pytest.mark.parametrize("position", ["end", "middle"])
def test_coop_logits_from_cached_truncated_features_equal_full_length_per_batch(clip_fp32, position):
    torch.manual_seed(0)
    learner = PromptLearner(NAMES, clip_fp32, n_ctx=4, class_token_position=position)
    with torch.no_grad():
        learner.ctx.normal_(std=1.0)
    model = PromptedCLIP(clip_fp32, learner).eval()
    batches = random_images(clip_fp32)
    tokenized = learner.tokenized_prompts
    with torch.no_grad(), text_token_counter(clip_fp32) as seen:
        cached = model.encode_classes()  # what CoOp.test does once per test run
        fast = [model(batch, cached).logits for batch in batches]
    with torch.no_grad():
        scale = clip_fp32.logit_scale.exp()
        naive = [
            scale * image_features(clip_fp32, batch) @ full_length_text_features(clip_fp32, learner(), tokenized).t()
            for batch in batches
        ]
    for fast_logits, naive_logits in zip(fast, naive):
        torch.testing.assert_close(fast_logits, naive_logits, atol=1e-5, rtol=0)
        assert torch.equal(fast_logits.argmax(dim=1), naive_logits.argmax(dim=1))
    assert seen["tokens"] <= 1.3 * minimal_tokens(tokenized)  # encoded once, cut near each prompt's EOT
    assert seen["tokens"] < tokenized.numel()


def test_teacher_bank_equals_per_template_full_length_encoding(clip_fp32):
    encoder = TextEncoder(clip_fp32)
    names = [name.replace("_", " ") for name in NAMES]
    with text_token_counter(clip_fp32) as seen:
        bank = TeacherBank.from_text_encoder(encoder, TEMPLATES, NAMES, chunk_size=7)
    with torch.no_grad():
        naive = torch.stack([
            F.normalize(clip_fp32.encode_text(clip.tokenize([template.format(name) for name in names])), dim=-1)
            for template in TEMPLATES
        ])  # (P, C, D), one full-length call per template
        torch.testing.assert_close(bank.features, naive, atol=1e-5, rtol=0)
        features = image_features(clip_fp32, random_images(clip_fp32, n_batches=1)[0])
        scale = clip_fp32.logit_scale.exp()
        torch.testing.assert_close(bank.logits(features, scale), scale * features @ naive.transpose(1, 2),
                                   atol=1e-5, rtol=0)
    tokenized = clip.tokenize([template.format(name) for template in TEMPLATES for name in names])
    assert seen["tokens"] <= 1.3 * minimal_tokens(tokenized)


def test_cocoop_per_image_prompts_equal_full_length_per_image_loop(clip_fp32):
    torch.manual_seed(0)
    learner = CoCoOpPromptLearner(NAMES, clip_fp32, n_ctx=4)
    with torch.no_grad():
        learner.ctx.normal_(std=1.0)
        learner.meta_net.linear2.weight.mul_(50)  # a per-image shift large enough to matter
    model = ConditionalPromptedCLIP(clip_fp32, learner, images_per_call=3).eval()
    images = random_images(clip_fp32, n_batches=1, batch_size=5)[0]
    tokenized = learner.tokenized_prompts
    with torch.no_grad(), text_token_counter(clip_fp32) as seen:
        fast = model(images).logits
    with torch.no_grad():
        features = image_features(clip_fp32, images)
        scale = clip_fp32.logit_scale.exp()
        naive = torch.stack([
            scale * features[b] @ full_length_text_features(clip_fp32, learner(features[b : b + 1])[0], tokenized).t()
            for b in range(len(images))
        ])  # CoCoOp's loop: each image's C prompts through all 77 tokens
    torch.testing.assert_close(fast, naive, atol=1e-5, rtol=0)
    assert torch.equal(fast.argmax(dim=1), naive.argmax(dim=1))
    assert seen["tokens"] <= 1.3 * len(images) * minimal_tokens(tokenized)


def test_class_prompts_are_chunked_by_length_across_all_templates(clip_fp32):
    encoder = TextEncoder(clip_fp32)
    chunk_lengths = []
    encode_tokens = encoder.encode_tokens

    def spy(tokenized):
        chunk_lengths.append(tokenized.argmax(dim=-1) + 1)
        return encode_tokens(tokenized)

    encoder.encode_tokens = spy
    TeacherBank.from_text_encoder(encoder, TEMPLATES, NAMES, chunk_size=7)
    assert sum(len(lengths) for lengths in chunk_lengths) == len(TEMPLATES) * len(NAMES)
    # Every chunk holds the next-longest prompts of the whole P*C set, whatever their template.
    for shorter, longer in zip(chunk_lengths, chunk_lengths[1:]):
        assert int(shorter.max()) <= int(longer.min())


def test_cpu_text_encoder_groups_prompts_by_nearly_exact_length(clip_fp32):
    learner = PromptLearner(NAMES * 3, clip_fp32, n_ctx=4)
    prompts, tokenized = learner().detach(), learner.tokenized_prompts
    with torch.no_grad(), text_token_counter(clip_fp32) as on_cpu:
        features = TextEncoder(clip_fp32)(prompts, tokenized)
    with torch.no_grad(), text_token_counter(clip_fp32) as coarse:
        TextEncoder(clip_fp32, bucket_ratio=DEFAULT_BUCKET_RATIO)(prompts, tokenized)
    assert on_cpu["tokens"] <= CPU_BUCKET_RATIO * minimal_tokens(tokenized)
    assert on_cpu["tokens"] < coarse["tokens"]
    with torch.no_grad():
        expected = full_length_text_features(clip_fp32, prompts, tokenized)
    torch.testing.assert_close(F.normalize(features, dim=-1), expected, atol=1e-5, rtol=0)
