"""Linear-probe CLIP: a logistic regression on frozen image features, its C chosen on validation images.

The recipe of CoOp's `lpclip/linear_probe.py` (Zhou et al., IJCV 2022, arXiv:2109.01134), after the
CLIP paper's linear probes (Radford et al., ICML 2021, arXiv:2103.00020, appendix A.3):
scikit-learn's `LogisticRegression` with the L-BFGS solver, an L2 penalty and at most 1000
iterations. C is searched in two stages, every candidate fitted on the train features and scored
by its correct predictions on the validation features:

1. a coarse grid, 1e6 down to 1e-6 in factors of 100; the best C wins, the larger one on a tie;
2. `SEARCH_STEPS` steps on the interval [C / 10, 10 C] around it: each step fits both ends, keeps
   the better one (the smaller C on a tie) and halves the interval on the log10 scale towards it.

The classifier of the last step's kept end is the probe. The interval arithmetic (log10, the
midpoint, 10 ** x) is numpy's, as in CoOp's script, so both fit the very same C values.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

C_GRID: tuple[float, ...] = (1e6, 1e4, 1e2, 1.0, 1e-2, 1e-4, 1e-6)
SEARCH_STEPS = 8  # CoOp's linear_probe.sh (--num_step 8)
MAX_ITER = 1000  # L-BFGS iterations per fit


@dataclass(frozen=True)
class LinearProbe:
    """A fitted logistic regression: scikit-learn's `coef_`, `intercept_` and `classes_`, as plain arrays."""

    c: float  # the inverse regularisation strength it was fitted with
    coef: np.ndarray  # (K, D) float64; K is the number of classes, or 1 for two classes (scikit-learn's layout)
    intercept: np.ndarray  # (K,) float64
    classes: np.ndarray  # (C,) int64 labels, ascending

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(N, C) class scores of (N, D) features; their argmax is scikit-learn's `predict`.

        With two classes scikit-learn keeps one score s (class 1 iff s > 0): the columns are (0, s).
        """
        decision = features @ self.coef.T + self.intercept  # (N, K)
        if len(self.classes) == 2:
            return np.concatenate([np.zeros_like(decision), decision], axis=1)
        return decision

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(N,) predicted labels of (N, D) features (ties go to the first class, as in scikit-learn)."""
        return self.classes[np.argmax(self.scores(features), axis=1)]


@dataclass(frozen=True)
class Candidate:
    """One C of the search and how many validation images its classifier gets right."""

    c: float
    correct: int


@dataclass(frozen=True)
class SearchStep:
    """One step of the interval search: both ends and the C it keeps."""

    left: Candidate
    right: Candidate
    kept: float  # the right end's C when it is better, else the left end's


@dataclass(frozen=True)
class ProbeSearch:
    """The search of C: every candidate, the kept probe, and the C values whose fit hit `MAX_ITER`."""

    grid: tuple[Candidate, ...]  # the coarse grid, in `C_GRID` order
    steps: tuple[SearchStep, ...]
    probe: LinearProbe  # the classifier of the last step's kept end
    val_correct: int  # validation images the probe gets right
    val_total: int
    not_converged: tuple[float, ...]  # C values whose L-BFGS stopped at MAX_ITER iterations (as in CoOp's runs)

    @property
    def val_accuracy(self) -> float:
        """Validation accuracy of the probe, in percent."""
        return 100.0 * self.val_correct / self.val_total


def fit_probe(features: np.ndarray, labels: np.ndarray, c: float) -> tuple[LinearProbe, bool]:
    """Fit scikit-learn's L2 logistic regression (L-BFGS, `MAX_ITER`) with inverse strength `c`.

    Args:
        features: (N, D) float64 image features.
        labels: (N,) int labels; at least two distinct ones.
    Returns:
        the probe, and whether L-BFGS converged within `MAX_ITER` iterations.
    """
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression  # imported here: only the linear probe needs it
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError("the linear probe needs scikit-learn: pip install scikit-learn") from err
    # penalty="l2" is the default; naming it is deprecated since scikit-learn 1.8.
    model = LogisticRegression(solver="lbfgs", max_iter=MAX_ITER, C=c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported once per search instead
        model.fit(features, labels)
    probe = LinearProbe(float(c), model.coef_.astype(np.float64), model.intercept_.astype(np.float64),
                        model.classes_.astype(np.int64))
    return probe, int(np.max(model.n_iter_)) < MAX_ITER


def search_probe(train_features: np.ndarray, train_labels: np.ndarray, val_features: np.ndarray,
                 val_labels: np.ndarray, steps: int = SEARCH_STEPS) -> ProbeSearch:
    """The probe of the C search above: coarse grid, then `steps` interval halvings, judged on the val set.

    Args:
        train_features: (N, D) float64; train_labels: (N,) int, at least two classes.
        val_features: (M, D) float64; val_labels: (M,) int, M >= 1.
    """
    if steps < 1:
        raise ValueError(f"the search of C needs at least one step after the grid, got steps={steps}")
    if len(np.unique(train_labels)) < 2 or len(val_labels) == 0:
        raise ValueError(f"a linear probe needs train images of two classes or more and validation images; got "
                         f"{len(np.unique(train_labels))} train classes and {len(val_labels)} validation images")
    fits: dict[float, tuple[LinearProbe, int]] = {}
    not_converged: list[float] = []

    def candidate(c: float) -> Candidate:
        if c not in fits:  # a fit is deterministic: a C met again is not refitted
            probe, converged = fit_probe(train_features, train_labels, c)
            fits[c] = probe, int(np.sum(probe.predict(val_features) == val_labels))
            if not converged:
                not_converged.append(c)
        return Candidate(c, fits[c][1])

    grid = tuple(candidate(c) for c in C_GRID)
    peak = max(grid, key=lambda tried: tried.correct).c  # max() keeps the first best: the larger C
    left, right = 1e-1 * peak, 1e1 * peak
    trace = []
    for _ in range(steps):
        ends = candidate(left), candidate(right)
        middle = 0.5 * (np.log10(right) + np.log10(left))
        if ends[0].correct < ends[1].correct:
            kept, low, high = right, middle, np.log10(right)
        else:
            kept, low, high = left, np.log10(left), middle
        trace.append(SearchStep(*ends, kept))
        left, right = float(np.power(10, low)), float(np.power(10, high))
    probe, correct = fits[kept]
    return ProbeSearch(grid, tuple(trace), probe, correct, len(val_labels), tuple(not_converged))
