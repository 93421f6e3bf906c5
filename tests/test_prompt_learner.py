"""CoOp's prompt learner: prompt layout per class-token position, initialisation, CSC, state."""
import logging

import clip
import pytest
import torch

from mopd.clip.backbones import TINY
from mopd.clip.loading import load_clip
from mopd.prompts.prompt_learner import PromptLearner

NAMES = ["dog", "golden_retriever", "red-breasted merganser", "sports car"]


@pytest.fixture(scope="module")
def tiny():
    return load_clip(TINY)


def embed_text(model, text: str) -> torch.Tensor:
    """Token embedding (L, W) of a hand-written prompt, in the model's dtype."""
    with torch.no_grad():
        return model.token_embedding(clip.tokenize(text)).type(model.dtype)[0]


def n_tokens(text: str) -> int:
    return int(clip.tokenize(text)[0].argmax()) - 1


@pytest.mark.parametrize(
    "position, template",
    [("end", "a photo of a {}."), ("middle", "a photo {} of a."), ("front", "{} a photo of a.")],
)
def test_prompts_equal_the_embedding_of_the_written_prompt(tiny, position, template):
    learner = PromptLearner(NAMES, tiny, n_ctx=16, ctx_init="a photo of a", class_token_position=position)
    prompts = learner()
    assert prompts.shape == (len(NAMES), tiny.context_length, tiny.ln_final.weight.shape[0])
    for c, name in enumerate(NAMES):
        expected = embed_text(tiny, template.format(name.replace("_", " ")))
        assert torch.equal(prompts[c], expected), (position, name)


@pytest.mark.parametrize("position", ["end", "middle", "front"])
def test_random_context_fills_the_context_slots_around_the_class_name(tiny, position):
    n_ctx = 5
    learner = PromptLearner(NAMES, tiny, n_ctx=n_ctx, csc=True, class_token_position=position)
    prompts = learner().detach()
    half = n_ctx // 2
    for c, name in enumerate(NAMES):
        ctx = learner.ctx[c].detach()
        placeholder = embed_text(tiny, "X " * n_ctx + name.replace("_", " ") + ".")
        k = learner.name_lens[c]
        sos, name_rows, rest = placeholder[:1], placeholder[1 + n_ctx : 1 + n_ctx + k], placeholder[1 + n_ctx + k :]
        pieces = {
            "end": [sos, ctx, name_rows, rest],
            "middle": [sos, ctx[:half], name_rows, ctx[half:], rest],
            "front": [sos, name_rows, ctx, rest],
        }[position]
        assert torch.equal(prompts[c], torch.cat(pieces))


def test_tokenized_prompts_and_name_lens_follow_the_placeholder_prompt(tiny):
    learner = PromptLearner(NAMES, tiny, n_ctx=4, class_token_position="front")
    expected = clip.tokenize([f"X X X X {name.replace('_', ' ')}." for name in NAMES])
    assert torch.equal(learner.tokenized_prompts, expected)
    assert learner.name_lens == [n_tokens(name.replace("_", " ")) for name in NAMES]
    assert learner.name_lens[1] == n_tokens("golden retriever")


def test_random_context_is_normal_with_std_002(tiny):
    torch.manual_seed(0)
    learner = PromptLearner(NAMES, tiny, n_ctx=16)
    ctx = learner.ctx.detach().float()
    assert ctx.shape == (16, tiny.ln_final.weight.shape[0])
    assert abs(ctx.std().item() - 0.02) < 0.002
    assert abs(ctx.mean().item()) < 0.002


def test_context_has_the_model_dtype(tiny):
    assert PromptLearner(NAMES, tiny, n_ctx=4).ctx.dtype == tiny.dtype
    assert PromptLearner(NAMES, tiny, n_ctx=4)().dtype == tiny.dtype


def test_class_specific_context_has_one_context_per_class(tiny):
    learner = PromptLearner(NAMES, tiny, n_ctx=4, csc=True)
    assert learner.ctx.shape == (len(NAMES), 4, tiny.ln_final.weight.shape[0])
    assert not torch.equal(learner.ctx[0], learner.ctx[1])


def test_class_specific_context_with_init_starts_every_class_from_the_init(tiny):
    learner = PromptLearner(NAMES, tiny, n_ctx=4, ctx_init="a photo of a", csc=True)
    init = embed_text(tiny, "a photo of a")[1:5]
    assert learner.ctx.shape == (len(NAMES), 4, init.shape[-1])
    for c in range(len(NAMES)):
        assert torch.equal(learner.ctx[c].detach(), init)
    with torch.no_grad():
        learner.ctx[0].add_(1.0)
    assert torch.equal(learner.ctx[1].detach(), init)  # independent copies, not views of one tensor


@pytest.mark.parametrize("ctx_init", ["a_photo", "a photo of a large thing"])
def test_ctx_init_sets_the_number_of_context_vectors_to_its_token_count(tiny, ctx_init, caplog):
    words = ctx_init.replace("_", " ")
    with caplog.at_level(logging.INFO, logger="mopd.prompts.prompt_learner"):
        learner = PromptLearner(NAMES, tiny, n_ctx=16, ctx_init=ctx_init)
    assert learner.n_ctx == n_tokens(words) == len(words.split())
    assert torch.equal(learner.ctx.detach(), embed_text(tiny, words)[1 : 1 + learner.n_ctx])
    assert torch.equal(learner()[0], embed_text(tiny, f"{words} dog."))
    assert "N_CTX=16" in caplog.text


def test_ctx_init_counts_tokens_not_words(tiny):
    words = "itap of a"
    assert n_tokens(words) > len(words.split())
    learner = PromptLearner(["dog"], tiny, n_ctx=3, ctx_init=words)
    assert learner.n_ctx == n_tokens(words)
    assert torch.equal(learner()[0], embed_text(tiny, "itap of a dog."))


@pytest.mark.parametrize("position", ["end", "middle", "front"])
def test_padded_init_keeps_n_ctx_vectors_zeros_then_the_words(tiny, position):
    words, n_ctx = "a photo of a", 6  # ProGrad's init
    learner = PromptLearner(NAMES, tiny, n_ctx=n_ctx, ctx_init=words, init_fit="pad", class_token_position=position)
    assert learner.n_ctx == n_ctx
    ctx = learner.ctx.detach()
    assert torch.equal(ctx[:2], torch.zeros_like(ctx[:2]))
    assert torch.equal(ctx[2:], embed_text(tiny, words)[1:5])
    assert torch.equal(learner.tokenized_prompts, clip.tokenize([f"X X {words} {n.replace('_', ' ')}." for n in NAMES]))
    if position == "end":
        for c, name in enumerate(NAMES):
            expected = embed_text(tiny, f"X X {words} {name.replace('_', ' ')}.")
            expected[1:3] = 0
            assert torch.equal(learner()[c], expected)


def test_padded_init_longer_than_n_ctx_is_rejected(tiny):
    with pytest.raises(ValueError, match="5 tokens, more than N_CTX=4; raise TRAINER.COOP.N_CTX to at least 5"):
        PromptLearner(NAMES, tiny, n_ctx=4, ctx_init="a type of pet ,", init_fit="pad")


def test_state_dict_holds_only_the_context(tiny):
    learner = PromptLearner(NAMES, tiny, n_ctx=4)
    assert list(learner.state_dict()) == ["ctx"]
    other = PromptLearner(NAMES, tiny, n_ctx=4)
    other.load_state_dict(learner.state_dict())
    assert torch.equal(other(), learner())


@pytest.mark.parametrize("n_ctx", [0, -2])
def test_n_ctx_below_one_without_init_is_rejected(tiny, n_ctx):
    with pytest.raises(ValueError, match=f"got {n_ctx}"):
        PromptLearner(NAMES, tiny, n_ctx=n_ctx)


def test_unknown_class_token_position_is_rejected(tiny):
    with pytest.raises(ValueError, match="'last'.*'end', 'middle', 'front'"):
        PromptLearner(NAMES, tiny, n_ctx=4, class_token_position="last")


def test_prompt_longer_than_the_context_is_rejected(tiny):
    with pytest.raises(ValueError, match="has 87 tokens, more than CLIP's 77"):
        PromptLearner(["word " * 80], tiny, n_ctx=4)
