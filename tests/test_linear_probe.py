"""The linear probe's maths (`mopd.methods.linear_probe`) and its run-folder files (`mopd.training.probe_file`)."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mopd.methods import linear_probe
from mopd.methods.linear_probe import C_GRID, LinearProbe, fit_probe, search_probe
from mopd.training.probe_file import PROBE_FILE, WEIGHTS_FILE, load_probe, save_probe


def _blobs(seed: int, classes: int, per_class: int, dim: int = 8, spread: float = 1.6):
    """Overlapping Gaussian classes: the C of the search matters for them."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(size=(classes, dim))
    labels = np.repeat(np.arange(classes), per_class)
    return centres[labels] + spread * rng.normal(size=(len(labels), dim)), labels


def _naive_search(train_x, train_y, val_x, val_y, steps):
    """The search as the lpclip recipe states it, written out plainly: (grid results, C kept at each step, probe)."""
    def fit(c):
        return LogisticRegression(solver="lbfgs", max_iter=1000, C=c).fit(train_x, train_y)

    def correct(c):
        return int((fit(c).predict(val_x) == val_y).sum())

    grid = [10.0 ** exponent for exponent in (6, 4, 2, 0, -2, -4, -6)]
    results = [correct(c) for c in grid]
    best = 0
    for index, result in enumerate(results):
        if result > results[best]:
            best = index
    low, high = math.log10(grid[best]) - 1, math.log10(grid[best]) + 1  # log10 of [C / 10, 10 C]
    kept = []
    for _ in range(steps):
        left, right = 10 ** low, 10 ** high
        if correct(left) < correct(right):
            kept.append(right)
            low = (low + high) / 2
        else:
            kept.append(left)
            high = (low + high) / 2
    return results, kept, fit(kept[-1])


@pytest.mark.parametrize("classes, shots, seed", [(5, 4, 1), (3, 2, 2), (2, 6, 3)])
def test_search_keeps_the_c_and_classifier_of_a_plain_restatement_of_the_recipe(classes, shots, seed):
    train_x, train_y = _blobs(seed, classes, shots)
    val_x, val_y = _blobs(seed + 10, classes, 4)
    test_x, _ = _blobs(seed + 20, classes, 20)
    search = search_probe(train_x, train_y, val_x, val_y, steps=4)
    results, kept, model = _naive_search(train_x, train_y, val_x, val_y, steps=4)
    assert [tried.correct for tried in search.grid] == results
    ours = [step.kept for step in search.steps]
    assert ours == pytest.approx(kept, rel=1e-12)
    assert search.probe.c == ours[-1]
    assert np.array_equal(search.probe.predict(test_x), model.predict(test_x))
    assert search.val_correct == int((model.predict(val_x) == val_y).sum())


class _ScriptedProbe:
    """A stand-in for a fitted probe whose number of right validation answers is set per C."""

    def __init__(self, correct: int, total: int) -> None:
        self.correct, self.total = correct, total

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.array([0] * self.correct + [1] * (self.total - self.correct))


def test_grid_ties_keep_the_larger_c_steps_move_towards_the_better_end_ties_keep_the_smaller(monkeypatch):
    fitted = []

    def right_answers(c):  # of 4 validation images
        return 4 if 200 < c <= 1000 else 3 if c in (1e2, 1.0) else 1 if c == 1e6 else 2

    def scripted_fit(features, labels, c):
        fitted.append(c)
        return _ScriptedProbe(right_answers(c), 4), c != 1e6

    monkeypatch.setattr(linear_probe, "fit_probe", scripted_fit)
    search = search_probe(np.zeros((2, 1)), np.array([0, 1]), np.zeros((4, 1)), np.zeros(4, dtype=int), steps=3)
    assert [(tried.c, tried.correct) for tried in search.grid] == [
        (1e6, 1), (1e4, 2), (1e2, 3), (1.0, 3), (1e-2, 2), (1e-4, 2), (1e-6, 2)]
    # 100 and 1 tie on the grid: 100 is kept, so the steps start from [10, 1000]; 1000 wins twice, each time
    # halving the log10 interval towards it, then both ends tie and the smaller C, 10 ** 2.5, is the probe's
    ends = [c for step in search.steps for c in (step.left.c, step.right.c)]
    assert ends == pytest.approx([10, 1000, 100, 1000, 10 ** 2.5, 1000], rel=1e-12)
    assert [step.kept for step in search.steps] == pytest.approx([1000, 1000, 10 ** 2.5], rel=1e-12)
    assert search.probe.correct == search.val_correct == 4 and search.val_accuracy == 100.0
    assert fitted[-1] == pytest.approx(10 ** 2.5, rel=1e-12)
    assert len(fitted) == len(set(fitted)) == 7 + 3  # 1000 (met three times) and 100 (in the grid) are fitted once
    assert search.not_converged == (1e6,)


def test_scores_argmax_is_scikit_learns_predict_for_two_and_more_classes():
    for classes in (2, 4):
        train_x, train_y = _blobs(5, classes, 6)
        test_x, _ = _blobs(6, classes, 30)
        probe, converged = fit_probe(train_x, train_y, 0.5)
        model = LogisticRegression(solver="lbfgs", max_iter=1000, C=0.5).fit(train_x, train_y)
        assert converged and probe.scores(test_x).shape == (len(test_x), classes)
        assert np.array_equal(probe.predict(test_x), model.predict(test_x))
        assert np.array_equal(probe.coef, model.coef_) and np.array_equal(probe.intercept, model.intercept_)


def test_a_search_without_two_classes_or_validation_images_is_refused():
    x, y = _blobs(1, 3, 2)
    with pytest.raises(ValueError, match="two classes or more and validation images; got 1 train classes"):
        search_probe(x, np.zeros(len(y), dtype=int), x, y)
    with pytest.raises(ValueError, match="0 validation images"):
        search_probe(x, y, x[:0], y[:0])


def test_probe_round_trips_through_plain_files_that_need_no_pickle(tmp_path):
    train_x, train_y = _blobs(2, 3, 4)
    search = search_probe(train_x, train_y, *_blobs(3, 3, 2), steps=2)
    save_probe(str(tmp_path), search, train_images=len(train_y))
    summary = json.loads((tmp_path / PROBE_FILE).read_text())
    assert summary["C"] == search.probe.c and summary["weights"] == WEIGHTS_FILE
    assert [step["kept"] for step in summary["search"]["steps"]] == [step.kept for step in search.steps]
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as stored:
        assert sorted(stored.files) == ["classes", "coef", "intercept"]
    loaded = load_probe(str(tmp_path))
    assert isinstance(loaded, LinearProbe) and loaded.c == search.probe.c
    assert np.array_equal(loaded.predict(train_x), search.probe.predict(train_x))

    (tmp_path / PROBE_FILE).write_text(json.dumps({**summary, "C": None}))
    with pytest.raises(ValueError, match="does not record a probe's C"):
        load_probe(str(tmp_path))
    (tmp_path / PROBE_FILE).write_text(json.dumps(summary))
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot be read"):
        load_probe(str(tmp_path))
    os.remove(tmp_path / PROBE_FILE)
    with pytest.raises(FileNotFoundError, match="finished LinearProbeCLIP run"):
        load_probe(str(tmp_path))


def test_grid_runs_from_1e6_down_to_1e_minus_6_in_factors_of_100():
    assert C_GRID == tuple(10.0 ** exponent for exponent in range(6, -7, -2))
