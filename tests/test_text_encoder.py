"""The truncating, length-bucketed text encoder equals CLIP's full-length text path."""
import math

import clip
import pytest
import torch

from mopd.clip.backbones import TINY
from mopd.clip.loading import load_clip
from mopd.clip.text_encoder import TextEncoder, count_tokens, encode_text_chunked, plan_buckets
from mopd.prompts.prompt_learner import PromptLearner

# One word up to about 15 tokens.
NAMES = [
    "dog",
    "golden_retriever",
    "stop sign",
    "red-breasted merganser",
    "a rather long description of a musical instrument with strings",
    "pizza",
    "Bernese mountain dog in the snow near a wooden cabin",
    "cat",
]


@pytest.fixture(scope="module")
def clip_fp32():
    return load_clip(TINY).float()


def full_length_features(model, prompts: torch.Tensor, tokenized: torch.Tensor) -> torch.Tensor:
    """CLIP's own text path on embeddings: all context-length tokens, the model's full causal mask."""
    x = prompts + model.positional_embedding
    x = model.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1)] @ model.text_projection


def random_learner(model, n_ctx: int, position: str, csc: bool, names=NAMES) -> PromptLearner:
    torch.manual_seed(0)
    learner = PromptLearner(names, model, n_ctx=n_ctx, csc=csc, class_token_position=position)
    with torch.no_grad():
        learner.ctx.normal_(std=1.0)  # large enough that a wrong position would show
    return learner


@pytest.mark.parametrize("position", ["end", "middle", "front"])
@pytest.mark.parametrize("n_ctx", [4, 16])
@pytest.mark.parametrize("csc", [False, True])
def test_truncated_encoder_equals_full_length_clip(clip_fp32, position, n_ctx, csc):
    learner = random_learner(clip_fp32, n_ctx, position, csc)
    prompts, tokenized = learner(), learner.tokenized_prompts
    assert len(plan_buckets(tokenized.argmax(dim=-1), 1.05)) >= 3
    with torch.no_grad():
        expected = full_length_features(clip_fp32, prompts, tokenized)
        for bucket_ratio in (math.inf, 1.05):
            features = TextEncoder(clip_fp32, bucket_ratio=bucket_ratio)(prompts, tokenized)
            torch.testing.assert_close(features, expected, atol=1e-5, rtol=0)


def test_tokens_after_the_last_eot_are_never_computed(clip_fp32):
    learner = random_learner(clip_fp32, 4, "end", False)
    prompts, tokenized = learner().detach().clone(), learner.tokenized_prompts
    last = int(tokenized.argmax(dim=-1).max())
    reference = TextEncoder(clip_fp32, bucket_ratio=math.inf)(prompts, tokenized)
    prompts[:, last + 1 :] = float("nan")  # the full-length computation would turn these into NaN
    features = TextEncoder(clip_fp32, bucket_ratio=math.inf)(prompts, tokenized)
    torch.testing.assert_close(features, reference, atol=0, rtol=0)


def test_short_prompts_are_not_padded_to_the_longest_bucket(clip_fp32):
    tokenized = clip.tokenize(["a dog.", "a photo of a dog sitting on a red chair in a garden."])
    short_length = int(tokenized[0].argmax()) + 1
    prompts = clip_fp32.token_embedding(tokenized).detach()
    reference = full_length_features(clip_fp32, prompts, tokenized)
    prompts[0, short_length:] = float("nan")
    with torch.no_grad():
        features = TextEncoder(clip_fp32, bucket_ratio=1.3)(prompts, tokenized)
    torch.testing.assert_close(features, reference, atol=1e-5, rtol=0)


def test_encode_tokens_equals_clip_encode_text(clip_fp32):
    texts = ["a photo of a dog.", "x", "a blurry photo of a Bernese mountain dog in the snow near a wooden cabin."]
    tokenized = clip.tokenize(texts)
    with torch.no_grad():
        torch.testing.assert_close(
            TextEncoder(clip_fp32).encode_tokens(tokenized), clip_fp32.encode_text(tokenized), atol=1e-5, rtol=0
        )


def _realistic_names() -> list[str]:
    """100 class names: mostly 1-3 words, every tenth a long 8-15 token description."""
    words = ["dog", "cat", "tabby", "sports car", "oak tree", "red fox", "pizza", "sea lion", "tiger shark"]
    long_names = [
        "a long-legged wading bird of the marshes",
        "rusty spotted cat from the dry forests of india",
        "the traditional wooden fishing boat with two masts",
    ]
    names = []
    for i in range(100):
        if i % 10 == 9:
            names.append(long_names[i % 3])
        else:
            names.append(" ".join(words[(i + k) % len(words)] for k in range(1 + i % 3)))
    return names


def test_bucketing_stays_within_ratio_and_keeps_the_input_order(clip_fp32):
    names = _realistic_names()
    tokenized = clip.tokenize([f"X X X X {name}." for name in names])
    counts = count_tokens(tokenized, ratio=1.3)
    lengths = tokenized.argmax(dim=-1) + 1
    assert counts.minimal == int(lengths.sum())
    assert counts.full == tokenized.numel()
    assert counts.processed <= 1.3 * counts.minimal
    assert counts.processed < int(lengths.max()) * len(names)  # better than one truncated batch
    with torch.no_grad():
        bucketed = TextEncoder(clip_fp32, bucket_ratio=1.3).encode_tokens(tokenized)
        full_length = clip_fp32.encode_text(tokenized)
    torch.testing.assert_close(bucketed, full_length, atol=1e-5, rtol=0)


def test_plan_buckets_covers_each_prompt_once_with_its_bucket_max():
    eot = torch.tensor([5, 30, 6, 7, 29, 5, 12, 40])
    buckets = plan_buckets(eot, ratio=1.2)
    covered = torch.cat([bucket.index for bucket in buckets]).sort().values
    assert torch.equal(covered, torch.arange(len(eot)))
    for bucket in buckets:
        members = eot[bucket.index] + 1
        assert bucket.length == int(members.max())
        assert bucket.length * len(bucket.index) <= 1.2 * int(members.sum())
    assert len(plan_buckets(eot, ratio=math.inf)) == 1


def test_plan_buckets_rejects_ratio_below_one():
    with pytest.raises(ValueError, match="ratio must be >= 1"):
        plan_buckets(torch.tensor([3, 4]), ratio=0.9)


def test_gradient_reaches_every_class_context_through_buckets(clip_fp32):
    learner = random_learner(clip_fp32, 4, "middle", csc=True)
    TextEncoder(clip_fp32, bucket_ratio=1.05)(learner(), learner.tokenized_prompts).sum().backward()
    assert learner.ctx.grad is not None
    assert (learner.ctx.grad.abs().sum(dim=(1, 2)) > 0).all()


def test_encode_text_chunked_bounds_batch_size_and_keeps_order(clip_fp32):
    encoder = TextEncoder(clip_fp32)
    tokenized = clip.tokenize([f"a photo of a {name}." for name in _realistic_names()[:23]])
    seen = []
    original = encoder.encode_tokens

    def spy(tokens):
        seen.append(tokens.shape[0])
        return original(tokens)

    encoder.encode_tokens = spy
    with torch.no_grad():
        chunked = encode_text_chunked(encoder, tokenized, chunk_size=5)
        expected = clip_fp32.encode_text(tokenized)
    assert max(seen) <= 5 and sum(seen) == 23
    torch.testing.assert_close(chunked, expected, atol=1e-5, rtol=0)


def test_encoder_computes_in_the_model_dtype():
    model = load_clip(TINY)
    encoder = TextEncoder(model)
    tokenized = clip.tokenize(["a photo of a dog.", "a cat."])
    with torch.no_grad():
        half = encoder.encode_tokens(tokenized)
        model.float()
        full = encoder.encode_tokens(tokenized)
    assert half.dtype == torch.float16 and full.dtype == torch.float32
    assert half.shape == (2, model.text_projection.shape[1])
    torch.testing.assert_close(half.float(), full, atol=1e-2, rtol=1e-2)


def authors_deep_prompt_features(model, prompts, tokenized, deep, n_ctx):
    """Deep text prompts as the MaPLe/IVLP authors' blocks apply them: all 77 tokens, each layer i >= 1 up to
    len(deep) gets [SOT] + deep[i - 1] (cast to fp16, then back by concatenation) + the rest."""
    x = (prompts + model.positional_embedding.type(model.dtype)).permute(1, 0, 2)
    for i, block in enumerate(model.transformer.resblocks):
        if 1 <= i <= len(deep):
            ctx = deep[i - 1].expand(x.shape[1], -1, -1).permute(1, 0, 2).half()
            x = torch.cat([x[:1], ctx, x[1 + n_ctx:]], dim=0)
        x = block(x)
    x = model.ln_final(x.permute(1, 0, 2)).type(model.dtype)
    return x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1)] @ model.text_projection


@pytest.mark.parametrize("depth", [1, 2])
def test_deep_text_prompts_replace_the_context_tokens_as_the_authors_blocks_do_and_truncation_stays_exact(
    clip_fp32, depth
):
    from mopd.clip.deep_prompts import TowerPrompts

    learner = random_learner(clip_fp32, 3, "end", False)
    torch.manual_seed(1)
    deep = [torch.randn(3, clip_fp32.ln_final.weight.shape[0]) for _ in range(depth - 1)]
    prompts, tokenized = learner(), learner.tokenized_prompts
    with torch.no_grad():
        expected = authors_deep_prompt_features(clip_fp32, prompts, tokenized, deep, n_ctx=3)
        for bucket_ratio in (math.inf, 1.05):
            features = TextEncoder(clip_fp32, bucket_ratio=bucket_ratio)(
                prompts, tokenized, TowerPrompts(deep=tuple(deep), round_to_fp16=True))
            torch.testing.assert_close(features, expected, atol=1e-5, rtol=0)
        unrounded = TextEncoder(clip_fp32)(prompts, tokenized, TowerPrompts(deep=tuple(deep)))
    if deep:  # the authors' fp16 rounding changes the features; without it they differ
        assert not torch.allclose(unrounded, expected, atol=1e-6, rtol=0)


def test_without_truncation_every_prompt_runs_all_tokens_as_clips_own_text_path(clip_fp32):
    learner = random_learner(clip_fp32, 4, "end", False)
    prompts, tokenized = learner(), learner.tokenized_prompts
    with torch.no_grad():
        full = TextEncoder(clip_fp32, truncate=False)(prompts, tokenized)
        expected = full_length_features(clip_fp32, prompts, tokenized)
    assert torch.equal(full, expected)  # the same computation, not only the same values within round-off
