"""The prompted vision transformer against the MaPLe/IVLP authors' vision forward, written out in full."""
import pytest
import torch

from mopd.clip.backbones import TINY, TINY_DEEP
from mopd.clip.deep_prompts import TowerPrompts, check_depth
from mopd.clip.loading import load_clip
from mopd.clip.prompted_vision import PromptedVisionTransformer


@pytest.fixture(scope="module")
def deep_clip():
    return load_clip(TINY_DEEP).float()


def authors_vision_forward(visual, images, shallow, deep):
    """Append the prompt after the positional embedding (cast to fp16, as the authors' `.half()`), ln_pre, then
    replace the last n tokens at layers 1..len(deep) (also through fp16), and read the class token."""
    x = visual.conv1(images)
    x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
    x = torch.cat([visual.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], dim=1)
    x = x + visual.positional_embedding
    x = torch.cat([x, shallow.expand(x.shape[0], -1, -1).half()], dim=1)
    x = visual.ln_pre(x).permute(1, 0, 2)
    n = shallow.shape[0]
    for i, block in enumerate(visual.transformer.resblocks):
        if 1 <= i <= len(deep):
            x = torch.cat([x[: x.shape[0] - n], deep[i - 1].expand(x.shape[1], -1, -1).permute(1, 0, 2).half()])
        x = block(x)
    return visual.ln_post(x.permute(1, 0, 2)[:, 0, :]) @ visual.proj


@pytest.mark.parametrize("depth", [1, 3, 12])
def test_prompted_vision_transformer_equals_the_authors_forward(deep_clip, depth):
    torch.manual_seed(0)
    width = deep_clip.visual.conv1.weight.shape[0]
    shallow, deep = torch.randn(2, width), [torch.randn(2, width) for _ in range(depth - 1)]
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = authors_vision_forward(deep_clip.visual, images, shallow, deep)
        features = PromptedVisionTransformer(deep_clip.visual)(images, TowerPrompts(shallow, tuple(deep), True))
    torch.testing.assert_close(features, expected, atol=1e-6, rtol=0)


def test_without_prompts_it_is_clips_own_image_encoder():
    model = load_clip(TINY).float()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(PromptedVisionTransformer(model.visual)(images), model.encode_image(images))


def test_fp16_tower_takes_prompts_in_fp16_and_their_gradient_reaches_fp32_parameters():
    model = load_clip(TINY)  # fp16 weights, as released
    prompt = torch.nn.Parameter(torch.randn(2, model.visual.conv1.weight.shape[0]))
    features = PromptedVisionTransformer(model.visual)(torch.randn(2, 3, 32, 32).half(), TowerPrompts(prompt))
    assert features.dtype == torch.float16
    features.float().sum().backward()
    assert prompt.grad.dtype == torch.float32 and torch.isfinite(prompt.grad).all() and prompt.grad.abs().sum() > 0


def test_resnet_and_too_deep_prompts_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="needs a ViT backbone, not a ModifiedResNet"):
        PromptedVisionTransformer(load_clip("RN50", random_init=True).visual)
    with pytest.raises(ValueError, match="TRAINER.MAPLE.PROMPT_DEPTH=13: the image tower has 12 layers"):
        check_depth(13, 12, "image tower", "TRAINER.MAPLE.PROMPT_DEPTH")
