"""Classification evaluator printing Dassl's result block (accuracy, error, macro-F1)."""
from __future__ import annotations

import logging
import os
import os.path as osp
from collections import Counter, OrderedDict, defaultdict
from typing import Any

import torch
from yacs.config import CfgNode

from mopd.engine.registry import Registry

logger = logging.getLogger(__name__)

EVALUATOR_REGISTRY = Registry("EVALUATOR")


def macro_f1_score(y_true: list[int], y_pred: list[int]) -> float:
    """Return the mean F1 (in [0, 1]) over the classes present in `y_true`.

    Per class c: F1 = 2 TP / (2 TP + FP + FN), which is sklearn's `f1_score(average="macro",
    labels=unique(y_true))` (0 for a class never predicted correctly).
    """
    true_count = Counter(y_true)  # TP + FN per class
    pred_count = Counter(y_pred)  # TP + FP per class
    tp_count = Counter(t for t, p in zip(y_true, y_pred) if t == p)
    scores = [2 * tp_count[c] / (true_count[c] + pred_count[c]) for c in true_count]
    return sum(scores) / len(scores)


def _confusion_matrix(y_true: list[int], y_pred: list[int]) -> torch.Tensor:
    """Return the row-normalised confusion matrix over the labels seen in y_true or y_pred."""
    labels = sorted(set(y_true) | set(y_pred))
    index = {label: i for i, label in enumerate(labels)}
    n = len(labels)
    flat = torch.tensor([index[t] * n + index[p] for t, p in zip(y_true, y_pred)])
    cmat = torch.bincount(flat, minlength=n * n).reshape(n, n).double()
    return cmat / cmat.sum(dim=1, keepdim=True).clamp_min(1)


class EvaluatorBase:
    """Interface of an evaluator: reset, process batches, evaluate."""

    def __init__(self, cfg: CfgNode) -> None:
        self.cfg = cfg

    def reset(self) -> None:
        """Forget all processed batches."""
        raise NotImplementedError

    def process(self, mo: torch.Tensor, gt: torch.Tensor) -> None:
        """Accumulate one batch of model outputs and ground truth."""
        raise NotImplementedError

    def evaluate(self) -> OrderedDict[str, float]:
        """Return (and print) the metrics of everything processed since `reset`."""
        raise NotImplementedError


@EVALUATOR_REGISTRY.register()
class Classification(EvaluatorBase):
    """Top-1 accuracy, error and macro-F1; per-class accuracy when TEST.PER_CLASS_RESULT."""

    def __init__(self, cfg: CfgNode, lab2cname: dict[int, str] | None = None, **kwargs: Any) -> None:
        super().__init__(cfg)
        if cfg.TEST.PER_CLASS_RESULT and lab2cname is None:
            raise ValueError("TEST.PER_CLASS_RESULT=True needs lab2cname; pass lab2cname=dm.lab2cname")
        self._lab2cname = lab2cname
        self._per_class = cfg.TEST.PER_CLASS_RESULT
        self.reset()

    def reset(self) -> None:
        """Forget all processed batches."""
        self._correct = 0
        self._total = 0
        self._y_true: list[int] = []
        self._y_pred: list[int] = []
        self._per_class_res: defaultdict[int, list[int]] = defaultdict(list)

    def process(self, mo: torch.Tensor, gt: torch.Tensor) -> None:
        """Accumulate logits `mo` (B, C) against labels `gt` (B,)."""
        pred = mo.max(dim=1)[1]
        matches = pred.eq(gt).int().tolist()
        labels = gt.tolist()
        self._correct += sum(matches)
        self._total += len(labels)
        self._y_true.extend(labels)
        self._y_pred.extend(pred.tolist())
        if self._per_class:
            for label, match in zip(labels, matches):
                self._per_class_res[label].append(match)

    def evaluate(self) -> OrderedDict[str, float]:
        """Print Dassl's "=> result" block; return accuracy, error_rate and macro_f1 in percent."""
        if self._total == 0:
            raise ValueError("Classification.evaluate() called before any batch was processed")
        acc = 100.0 * self._correct / self._total
        err = 100.0 - acc
        macro_f1 = 100.0 * macro_f1_score(self._y_true, self._y_pred)
        results: OrderedDict[str, float] = OrderedDict()
        results["accuracy"] = acc  # the first value is what trainer.test() returns
        results["error_rate"] = err
        results["macro_f1"] = macro_f1
        print(
            "=> result\n"
            f"* total: {self._total:,}\n"
            f"* correct: {self._correct:,}\n"
            f"* accuracy: {acc:.1f}%\n"
            f"* error: {err:.1f}%\n"
            f"* macro_f1: {macro_f1:.1f}%"
        )
        if self._per_class:
            results["perclass_accuracy"] = self._print_per_class()
        if self.cfg.TEST.COMPUTE_CMAT:
            save_path = osp.join(self.cfg.OUTPUT_DIR, "cmat.pt")
            os.makedirs(self.cfg.OUTPUT_DIR, exist_ok=True)
            torch.save(_confusion_matrix(self._y_true, self._y_pred), save_path)
            logger.info("Confusion matrix is saved to %s", save_path)
        return results

    def _print_per_class(self) -> float:
        assert self._lab2cname is not None
        print("=> per-class result")
        accs = []
        for label in sorted(self._per_class_res):
            res = self._per_class_res[label]
            acc = 100.0 * sum(res) / len(res)
            accs.append(acc)
            print(
                f"* class: {label} ({self._lab2cname[label]})\t"
                f"total: {len(res):,}\tcorrect: {sum(res):,}\tacc: {acc:.1f}%"
            )
        mean_acc = sum(accs) / len(accs)
        print(f"* average: {mean_acc:.1f}%")
        return mean_acc


def build_evaluator(cfg: CfgNode, **kwargs: Any) -> EvaluatorBase:
    """Build the evaluator named by TEST.EVALUATOR (kwargs such as lab2cname are passed on)."""
    evaluator_cls = EVALUATOR_REGISTRY.get(cfg.TEST.EVALUATOR)
    if cfg.VERBOSE:
        logger.info("Loading evaluator: %s", cfg.TEST.EVALUATOR)
    return evaluator_cls(cfg, **kwargs)
