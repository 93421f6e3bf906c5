"""A class name as the prompts write it (mopd/prompts/classnames.py): equal tokens mean equal prompts."""
import clip
import pytest
import torch

from mopd.clip.backbones import TINY
from mopd.clip.loading import load_clip
from mopd.methods.class_text_features import class_prompts
from mopd.prompts import PromptLearner
from mopd.prompts.classnames import name_tokens, prompt_name

PAIRS = [("Golden Retriever", "golden_retriever", True), ("t-shirt", "T - shirt", True), ("cat", "cats", False)]


@pytest.mark.parametrize("first, second, same", PAIRS)
def test_names_with_equal_tokens_give_identical_prompts_to_every_prompt_builder(first, second, same):
    assert (name_tokens(first) == name_tokens(second)) is same
    model = load_clip(TINY)
    learner = PromptLearner([first, second], model, n_ctx=4, ctx_init="a photo of a")
    assert torch.equal(learner.tokenized_prompts[0], learner.tokenized_prompts[1]) is same
    tokens = clip.tokenize(class_prompts(["a photo of a {}."], [first, second]))
    assert torch.equal(tokens[0], tokens[1]) is same


def test_prompt_name_reads_underscores_as_spaces():
    assert prompt_name("Apply_Eye_Makeup") == "Apply Eye Makeup"
