"""PromptSRC's loss against a term-by-term computation written from the paper's definitions."""
import math

import torch
import torch.nn.functional as F

from mopd.methods.promptsrc_loss import promptsrc_loss


def _unit(rows: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    return F.normalize(torch.randn(rows, dim, generator=generator, dtype=torch.float64), dim=-1)


def test_each_part_and_the_total_match_an_element_by_element_computation():
    g = torch.Generator().manual_seed(0)
    batch, classes, dim, scale = 3, 5, 8, 20.0
    text, teacher_text = _unit(classes, dim, g), _unit(classes, dim, g)
    image, teacher_image = _unit(batch, dim, g), _unit(batch, dim, g)
    logits, teacher_logits = scale * image @ text.t(), scale * teacher_image @ teacher_text.t()
    label = torch.tensor([0, 4, 2])

    terms = promptsrc_loss(logits, label, text, teacher_text, image, teacher_image, teacher_logits, 25, 10)

    def softmax(row):
        top = max(row)
        exps = [math.exp(v - top) for v in row]
        return [e / sum(exps) for e in exps]

    student = [softmax(logits[b].tolist()) for b in range(batch)]
    teacher = [softmax(teacher_logits[b].tolist()) for b in range(batch)]
    ce = -sum(math.log(student[b][int(label[b])]) for b in range(batch)) / batch
    # KL(teacher || student) summed over batch and classes, divided by B * C (not by B).
    kl = sum(teacher[b][c] * (math.log(teacher[b][c]) - math.log(student[b][c]))
             for b in range(batch) for c in range(classes)) / (batch * classes)
    text_l1 = 25 * sum(abs(float(text[c, d] - teacher_text[c, d])) for c in range(classes) for d in range(dim)) / (classes * dim)
    image_l1 = 10 * sum(abs(float(image[b, d] - teacher_image[b, d])) for b in range(batch) for d in range(dim)) / (batch * dim)

    for got, want in ((terms.ce, ce), (terms.kl, kl), (terms.text_l1, text_l1), (terms.image_l1, image_l1),
                      (terms.loss, ce + kl + text_l1 + image_l1)):
        assert math.isclose(float(got), want, rel_tol=1e-12), (float(got), want)


def test_gradients_reach_only_the_prompted_side():
    g = torch.Generator().manual_seed(1)
    text = _unit(4, 6, g).requires_grad_()
    image = _unit(2, 6, g).requires_grad_()
    teacher_text = _unit(4, 6, g).requires_grad_()
    teacher_image = _unit(2, 6, g).requires_grad_()
    teacher_logits = (10 * teacher_image @ teacher_text.t())
    terms = promptsrc_loss(10 * image @ text.t(), torch.tensor([1, 3]), text, teacher_text, image, teacher_image,
                           teacher_logits, 25, 10)
    terms.loss.backward()
    assert text.grad.abs().sum() > 0 and image.grad.abs().sum() > 0
    assert teacher_text.grad is None and teacher_image.grad is None  # frozen CLIP is a target, never moved
