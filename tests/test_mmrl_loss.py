"""MMRL's loss against a naive computation, and the evaluation branch of each protocol as the authors' test picks it."""
import math

import pytest
import torch

from mopd.methods.mmrl import evaluation_branch, mmrl_loss


def _naive_ce(logits: torch.Tensor, label: torch.Tensor) -> float:
    total = 0.0
    for row, y in zip(logits.tolist(), label.tolist()):
        total += math.log(sum(math.exp(v) for v in row)) - row[y]
    return total / logits.shape[0]


def _naive_mean_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    cosines = []
    for u, v in zip(a.tolist(), b.tolist()):
        dot = sum(x * y for x, y in zip(u, v))
        cosines.append(dot / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v))))
    return sum(cosines) / len(cosines)


def test_loss_is_the_weighted_cross_entropies_plus_both_cosine_pulls():
    g = torch.Generator().manual_seed(0)
    class_logits, rep_logits = torch.randn(6, 4, generator=g) * 5, torch.randn(6, 4, generator=g) * 5
    label = torch.tensor([0, 3, 1, 2, 2, 0])
    image, clip_image = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    text, clip_text = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    alpha, reg = 0.7, 3.0
    terms = mmrl_loss(class_logits, rep_logits, label, image, clip_image, text, clip_text, alpha, reg)
    expected = {
        "ce_class": alpha * _naive_ce(class_logits, label),
        "ce_rep": (1 - alpha) * _naive_ce(rep_logits, label),
        "image_reg": reg * (1 - _naive_mean_cosine(image, clip_image)),
        "text_reg": reg * (1 - _naive_mean_cosine(text, clip_text)),
    }
    for name, value in expected.items():
        assert getattr(terms, name).item() == pytest.approx(value, rel=1e-5), name
    assert terms.loss.item() == pytest.approx(sum(expected.values()), rel=1e-5)


def test_frozen_features_get_no_gradient_and_the_pulls_vanish_on_them():
    image = torch.randn(3, 8, requires_grad=True)
    clip_image = image.detach().clone().requires_grad_()
    text = torch.randn(5, 8)
    terms = mmrl_loss(torch.randn(3, 5), torch.randn(3, 5), torch.tensor([0, 1, 4]), image, clip_image * 2, text,
                      text * 3, 0.7, 1.0)
    assert terms.image_reg.item() == pytest.approx(0.0, abs=1e-6) and terms.text_reg.item() == pytest.approx(0.0, abs=1e-6)
    terms.loss.backward()
    assert clip_image.grad is None


@pytest.mark.parametrize("task, subsample, dataset, branch", [
    ("B2N", "base", "OxfordPets", "fusion"), ("B2N", "new", "OxfordPets", "class"), ("B2N", "all", "ImageNet", "class"),
    ("FS", "all", "EuroSAT", "fusion"), ("FS", "all", "ImageNet", "fusion"),
    ("CD", "all", "ImageNet", "fusion"), ("CD", "all", "Caltech101", "class"), ("CD", "all", "ImageNetV2", "class"),
    ("CD", "all", "ImageNetSketch", "class"),
])
def test_evaluation_branch_follows_the_authors_table(task, subsample, dataset, branch):
    assert evaluation_branch(task, subsample, dataset) == branch
