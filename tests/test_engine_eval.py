"""Tests for mopd.engine.evaluator and metrics: Dassl's result block and hand-computed numbers."""
import pytest
import torch

from mopd.engine.defaults import get_cfg_default
from mopd.engine.evaluator import Classification, build_evaluator, macro_f1_score
from mopd.engine.metrics import compute_accuracy

# Known confusion: class 0 F1 = 2*2/(3+2) = 0.8; class 1 = 2*1/(2+2) = 0.5; class 2 = 2*1/(2+2) = 0.5.
# Class 3 is only predicted (never true), so it is not averaged: macro-F1 = 1.8 / 3 = 60%.
Y_TRUE = [0, 0, 0, 1, 1, 2, 2]
Y_PRED = [0, 0, 1, 1, 2, 2, 3]


def _logits(preds, num_classes=4):
    return torch.nn.functional.one_hot(torch.tensor(preds), num_classes).float()


def _cfg(**test_overrides):
    cfg = get_cfg_default()
    for key, value in test_overrides.items():
        setattr(cfg.TEST, key, value)
    return cfg


def test_macro_f1_matches_hand_computation():
    assert macro_f1_score(Y_TRUE, Y_PRED) == pytest.approx((0.8 + 0.5 + 0.5) / 3)


def test_evaluate_prints_dassl_block_and_returns_metrics_over_batches(capsys):
    evaluator = build_evaluator(_cfg(), lab2cname={i: f"c{i}" for i in range(4)})
    evaluator.process(_logits(Y_PRED[:4]), torch.tensor(Y_TRUE[:4]))
    evaluator.process(_logits(Y_PRED[4:]), torch.tensor(Y_TRUE[4:]))
    results = evaluator.evaluate()

    assert capsys.readouterr().out == (
        "=> result\n* total: 7\n* correct: 4\n* accuracy: 57.1%\n* error: 42.9%\n* macro_f1: 60.0%\n"
    )
    assert list(results) == ["accuracy", "error_rate", "macro_f1"]
    assert results["accuracy"] == pytest.approx(400 / 7)
    assert results["error_rate"] == pytest.approx(100 - 400 / 7)
    assert results["macro_f1"] == pytest.approx(60.0)


def test_reset_forgets_processed_batches(capsys):
    evaluator = Classification(_cfg())
    evaluator.process(_logits([1, 1]), torch.tensor([0, 0]))
    evaluator.reset()
    evaluator.process(_logits([2]), torch.tensor([2]))
    assert evaluator.evaluate()["accuracy"] == 100.0


def test_per_class_result_prints_each_class_and_average(capsys):
    evaluator = Classification(_cfg(PER_CLASS_RESULT=True), lab2cname={0: "cat", 1: "dog", 2: "eel", 3: "fox"})
    evaluator.process(_logits(Y_PRED), torch.tensor(Y_TRUE))
    results = evaluator.evaluate()
    out = capsys.readouterr().out
    assert "* class: 0 (cat)\ttotal: 3\tcorrect: 2\tacc: 66.7%" in out
    assert "* class: 1 (dog)\ttotal: 2\tcorrect: 1\tacc: 50.0%" in out
    assert "* class: 2 (eel)\ttotal: 2\tcorrect: 1\tacc: 50.0%" in out
    assert results["perclass_accuracy"] == pytest.approx((200 / 3 + 50 + 50) / 3)
    assert out.rstrip().endswith(f"* average: {(200 / 3 + 50 + 50) / 3:.1f}%")


def test_compute_cmat_saves_row_normalised_confusion_matrix(tmp_path, capsys):
    cfg = _cfg(COMPUTE_CMAT=True)
    cfg.OUTPUT_DIR = str(tmp_path)
    evaluator = Classification(cfg)
    evaluator.process(_logits(Y_PRED), torch.tensor(Y_TRUE))
    evaluator.evaluate()
    cmat = torch.load(tmp_path / "cmat.pt", weights_only=True)
    expected = torch.tensor(
        [[2 / 3, 1 / 3, 0, 0], [0, 1 / 2, 1 / 2, 0], [0, 0, 1 / 2, 1 / 2], [0, 0, 0, 0]], dtype=torch.float64
    )
    assert torch.allclose(cmat, expected)


def test_unknown_evaluator_name_raises_key_error_with_suggestion():
    with pytest.raises(KeyError, match="Classification"):
        build_evaluator(_cfg(EVALUATOR="Clasification"))


def test_compute_accuracy_top_k_matches_hand_count():
    output = torch.tensor([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    target = torch.tensor([2, 0, 1, 2])
    top1, top2 = compute_accuracy(output, target, topk=(1, 2))
    # top-1 hits: sample 1 only; top-2 adds samples 0 and 2.
    assert top1.item() == pytest.approx(25.0)
    assert top2.item() == pytest.approx(75.0)
    assert compute_accuracy((output, None), target)[0].item() == pytest.approx(25.0)
