"""Tests for mopd.methods.prograd: projection rule, distillation loss and the backward helper."""
import pytest
import torch
from torch.nn import functional as F

from mopd.methods.prograd import project_gradient, project_gradients, prograd_backward, prograd_kl_loss


def _hand_projection(g_ce: torch.Tensor, g_kl: torch.Tensor, lambda_: float) -> torch.Tensor:
    dot = float((g_ce * g_kl).sum())
    if dot >= 0:
        return g_ce.clone()
    return g_ce - lambda_ * dot / float((g_kl * g_kl).sum()) * g_kl


def test_agreeing_or_orthogonal_gradients_are_unchanged():
    g_ce = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(project_gradient(g_ce, torch.tensor([3.0, 1.0])), g_ce)
    torch.testing.assert_close(project_gradient(g_ce, torch.tensor([-2.0, 1.0])), g_ce)


def test_conflicting_gradient_loses_its_component_along_g_kl_when_lambda_is_one():
    g_ce, g_kl = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 1.0])
    # g_ce . g_kl = -1, ||g_kl||^2 = 2: g_ce - (-1/2) g_kl = (1.5, 1.5)
    projected = project_gradient(g_ce, g_kl, lambda_=1.0)
    torch.testing.assert_close(projected, torch.tensor([1.5, 1.5]))
    torch.testing.assert_close(torch.dot(projected, g_kl), torch.tensor(0.0))


def test_lambda_scales_the_removed_component():
    g_ce, g_kl = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 1.0])
    torch.testing.assert_close(project_gradient(g_ce, g_kl, lambda_=0.5), torch.tensor([1.75, 1.25]))
    torch.testing.assert_close(project_gradient(g_ce, g_kl, lambda_=0.0), g_ce)


def test_projection_is_invariant_to_g_kl_scale_and_linear_in_common_loss_scale():
    torch.manual_seed(0)
    g_ce = torch.randn(4, 5)
    g_kl = -g_ce + 0.1 * torch.randn(4, 5)
    projected = project_gradient(g_ce, g_kl, 0.8)
    torch.testing.assert_close(project_gradient(g_ce, 7.0 * g_kl, 0.8), projected)
    torch.testing.assert_close(project_gradient(1024.0 * g_ce, 1024.0 * g_kl, 0.8), 1024.0 * projected)
    torch.testing.assert_close(projected, _hand_projection(g_ce, g_kl, 0.8))


def test_zero_gradients_pass_through_without_nan():
    g_ce = torch.tensor([1.0, -3.0])
    torch.testing.assert_close(project_gradient(g_ce, torch.zeros(2)), g_ce)
    torch.testing.assert_close(project_gradient(torch.zeros(2), torch.tensor([1.0, 1.0])), torch.zeros(2))


def test_projection_keeps_shape_and_half_precision_dtype():
    g_ce = torch.tensor([[2.0, 1.0]], dtype=torch.float16)
    g_kl = torch.tensor([[-1.0, 1.0]], dtype=torch.float16)
    projected = project_gradient(g_ce, g_kl)
    assert projected.dtype == torch.float16 and projected.shape == (1, 2)
    torch.testing.assert_close(projected.float(), torch.tensor([[1.5, 1.5]]))


def test_projection_is_decided_per_parameter_not_on_the_concatenated_vector():
    ce = [torch.tensor([2.0, 1.0]), torch.tensor([1.0, 0.0])]
    kl = [torch.tensor([-1.0, 1.0]), torch.tensor([10.0, 0.0])]
    # Concatenated, g_ce . g_kl = -1 + 10 > 0 would leave everything unchanged.
    projected = project_gradients(ce, kl)
    torch.testing.assert_close(projected[0], torch.tensor([1.5, 1.5]))
    torch.testing.assert_close(projected[1], ce[1])


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="lambda"):
        project_gradient(torch.ones(2), -torch.ones(2), lambda_=-0.1)
    with pytest.raises(ValueError, match="shapes"):
        project_gradient(torch.ones(2), torch.ones(3))
    with pytest.raises(ValueError, match="one g_kl per g_ce"):
        project_gradients([torch.ones(2)], [])
    with pytest.raises(ValueError, match="temperature"):
        prograd_kl_loss(torch.zeros(1, 2), torch.zeros(1, 2), temperature=0.0)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_kl_loss_is_soft_cross_entropy_equal_to_kl_div_plus_target_entropy(temperature):
    torch.manual_seed(1)
    student, zero_shot = torch.randn(6, 9) * 3, torch.randn(6, 9) * 3
    target = F.softmax(zero_shot / temperature, dim=-1)
    entropy = -(target * target.log()).sum(dim=-1).mean()
    kl = F.kl_div(F.log_softmax(student / temperature, dim=-1), target, reduction="batchmean")
    expected = (kl + entropy) * temperature**2
    torch.testing.assert_close(prograd_kl_loss(student, zero_shot, temperature), expected)


def test_kl_loss_gradient_equals_kl_div_gradient_and_skips_zero_shot_logits():
    torch.manual_seed(2)
    student = torch.randn(4, 5, requires_grad=True)
    zero_shot = torch.randn(4, 5, requires_grad=True)
    prograd_kl_loss(student, zero_shot, temperature=2.0).backward()
    reference = student.detach().clone().requires_grad_(True)
    target = F.softmax(zero_shot.detach() / 2.0, dim=-1)
    (F.kl_div(F.log_softmax(reference / 2.0, dim=-1), target, reduction="batchmean") * 4.0).backward()
    torch.testing.assert_close(student.grad, reference.grad)
    assert zero_shot.grad is None


def test_kl_loss_of_half_precision_logits_is_computed_in_fp32():
    torch.manual_seed(5)
    student, zero_shot = (torch.randn(3, 7) * 5).half(), (torch.randn(3, 7) * 5).half()
    loss = prograd_kl_loss(student, zero_shot)
    assert loss.dtype == torch.float32
    target = F.softmax(zero_shot.float(), dim=-1)
    expected = -(target * F.log_softmax(student.float(), dim=-1)).sum(dim=-1).mean()
    torch.testing.assert_close(loss, expected)


def _toy_losses(model: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, generator=generator)
    labels = torch.arange(8) % 2
    logits = model(x)
    # Zero-shot logits that prefer the wrong class make the two gradients conflict.
    zero_shot = 4.0 * F.one_hot(1 - labels, 2).float()
    return F.cross_entropy(logits, labels), prograd_kl_loss(logits, zero_shot)


def _toy_model() -> torch.nn.Linear:
    torch.manual_seed(4)
    return torch.nn.Linear(3, 2)


def test_prograd_backward_writes_hand_projected_gradients_into_grad():
    model = _toy_model()
    ce, kl = _toy_losses(model)
    prograd_backward(ce, kl, model.parameters(), lambda_=1.0)

    reference = _toy_model()
    ce_ref, kl_ref = _toy_losses(reference)
    g_ce = torch.autograd.grad(ce_ref, list(reference.parameters()), retain_graph=True)
    g_kl = torch.autograd.grad(kl_ref, list(reference.parameters()))
    assert any(float((a * b).sum()) < 0 for a, b in zip(g_ce, g_kl)), "toy setup must contain a conflict"
    for param, a, b in zip(model.parameters(), g_ce, g_kl):
        torch.testing.assert_close(param.grad, _hand_projection(a, b, 1.0))
        if float((a * b).sum()) < 0:
            assert not torch.allclose(param.grad, a)


def test_prograd_backward_accumulates_and_skips_frozen_parameters():
    model = _toy_model()
    model.bias.requires_grad_(False)
    model.weight.grad = torch.ones_like(model.weight)
    ce, kl = _toy_losses(model)
    prograd_backward(ce, kl, model.parameters())
    assert model.bias.grad is None

    reference = _toy_model()
    ce_ref, kl_ref = _toy_losses(reference)
    g_ce = torch.autograd.grad(ce_ref, reference.weight, retain_graph=True)[0]
    g_kl = torch.autograd.grad(kl_ref, reference.weight)[0]
    torch.testing.assert_close(model.weight.grad, 1.0 + _hand_projection(g_ce, g_kl, 1.0))


def test_prograd_backward_without_trainable_parameters_raises():
    model = _toy_model().requires_grad_(False)
    with pytest.raises(ValueError, match="requires_grad"):
        prograd_backward(torch.tensor(0.0), torch.tensor(0.0), model.parameters())
