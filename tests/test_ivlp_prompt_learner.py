"""IVLP's prompt learner: the drawn prompts become its parameters, per tower and layer."""
import pytest
import torch

from mopd.clip.backbones import TINY_DEEP
from mopd.clip.loading import architecture_of, load_clip
from mopd.prompts.ivlp_prompt_learner import IndependentPromptLearner, draw_ivlp_prompts

NAMES = ["golden_retriever", "cat", "stop sign"]


@pytest.fixture(scope="module")
def model():
    return load_clip(TINY_DEEP)


@pytest.mark.parametrize("depth_text, depth_vision", [(12, 12), (9, 1), (3, 0)])
def test_each_tower_gets_its_drawn_prompts_in_fp32_and_the_context_the_clip_dtype(model, depth_text, depth_vision):
    drawn = draw_ivlp_prompts(architecture_of(model), 4, 2, depth_text, depth_vision)
    learner = IndependentPromptLearner(NAMES, model, 4, "a photo of a", depth_text, depth_vision, drawn, True)
    assert learner.ctx.dtype == torch.float16 and learner.prompt_prefix == "a photo of a"
    text, vision = learner.text_prompts(), learner.vision_prompts()
    assert [p is q for p, q in zip(text.deep, learner.text_deep_prompts)] == [True] * (depth_text - 1)
    assert all(torch.equal(p, q) for p, q in zip(text.deep, drawn.text_deep))
    if depth_vision:
        assert torch.equal(vision.shallow, drawn.vision_shallow) and vision.shallow.dtype == torch.float32
    else:
        assert vision.shallow is None and vision.deep == ()
    assert len(vision.deep) == max(depth_vision - 1, 0)
    assert learner.settings()["depth_vision"] == depth_vision
    assert {name for name, _ in learner.named_parameters()} == (
        {"ctx"} | {f"text_deep_prompts.{j}" for j in range(depth_text - 1)}
        | ({"visual_prompt"} if depth_vision else set()) | {f"visual_deep_prompts.{j}" for j in range(depth_vision - 1)}
    )


def test_depths_outside_the_towers_are_refused(model):
    drawn = draw_ivlp_prompts(architecture_of(model), 2, 2, 2, 2)
    with pytest.raises(ValueError, match="PROMPT_DEPTH_VISION=13: the image tower has 12 layers"):
        IndependentPromptLearner(NAMES, model, 2, "a photo of a", 2, 13, drawn, True)
