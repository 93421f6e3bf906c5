"""Linear-probe CLIP end to end: its script and train.py (fit, --eval-only), its protocols, and a few-shot study
beside CoOp and MoPD, on the tiny CLIP and generated images."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from e2e import BACKENDS, REPO_ROOT, TINY, accuracy, config, run_script, run_train
from study_helpers import STUDY_OVERRIDES, study

from mopd.cli.data import main as data_main
from mopd.config.defaults import get_cfg
from mopd.runs.finished import read_finished_marker
from mopd.study.jobs import Selection, plan_jobs
from mopd.study.settings import get_method
from mopd.study.steps import Scope, base2new_train
from mopd.training.probe_file import PROBE_FILE, WEIGHTS_FILE

RUN = "few_shot/synthetic/shots_{}/LinearProbeCLIP/vit_b16/seed1"


def _features_line(split: str, rows: int, how: str) -> str:
    return f"Image features of the {split} split ({rows} x 64, float16) {how} the feature cache"


def _train_args(data_root: str, out: str, cache: str, shots: str, *extra: str) -> list[str]:
    return ["--root", data_root, "--seed", "1", "--trainer", "LinearProbeCLIP",
            "--dataset-config-file", config("datasets", "synthetic.yaml"),
            "--config-file", config("trainers", "LinearProbeCLIP", "vit_b16.yaml"), "--output-dir", out, *extra,
            *TINY, "DATASET.NUM_SHOTS", shots, "TEST.FEATURE_CACHE.DIR", cache]


@pytest.mark.parametrize("backend", BACKENDS)
def test_probe_fits_on_cached_whole_splits_saves_plain_data_and_later_probes_and_evaluations_encode_nothing(
        backend, data_root, tmp_path):
    out, cache, cwd = tmp_path / "out", str(tmp_path / "out" / "feature_cache"), str(tmp_path)
    first = run_script("lpclip/fewshot_train.sh", ["synthetic", "1", *TINY], backend, cwd, SHOTS="4",
                       DATA=data_root, OUTPUT=str(out))
    run = out / RUN.format(4)
    log = (run / "log.txt").read_text()
    # 6 classes: the whole splits of 8 train, 2 val and 4 test images per class are encoded once
    for split, rows in (("train", 48), ("val", 12), ("test", 24)):
        assert _features_line(split, rows, "computed and stored in") in log, log[-3000:]
    summary = json.loads((run / PROBE_FILE).read_text())
    assert (summary["train_images"], summary["val_images"], summary["num_classes"]) == (24, 12, 6)
    assert len(summary["search"]["grid"]) == 7 and len(summary["search"]["steps"]) == 8
    assert summary["C"] == summary["search"]["steps"][-1]["kept"] and f"Linear probe: C = {summary['C']!r}" in log
    with np.load(run / WEIGHTS_FILE, allow_pickle=False) as weights:
        assert weights["coef"].shape == (6, 64) and list(weights["classes"]) == list(range(6))
    assert "* total: 24" in first.stdout
    assert read_finished_marker(str(run))["final_test"] == pytest.approx(accuracy(first.stdout))

    two_shots = run_train(_train_args(data_root, str(tmp_path / "two"), cache, "2"), backend, cwd)
    for split, rows in (("train", 48), ("val", 12), ("test", 24)):
        assert _features_line(split, rows, "read from") in two_shots.stdout, two_shots.stdout[-3000:]
    assert "computed and stored" not in two_shots.stdout
    assert json.loads((tmp_path / "two" / PROBE_FILE).read_text())["train_images"] == 12

    evaluation = run_train(_train_args(data_root, str(tmp_path / "eval"), cache, "4", "--eval-only", "--model-dir",
                                       str(run)), backend, cwd)
    assert _features_line("test", 24, "read from") in evaluation.stdout
    assert accuracy(evaluation.stdout) == accuracy(first.stdout)
    missing = run_train(_train_args(data_root, str(tmp_path / "none"), cache, "4", "--eval-only"), backend, cwd,
                        check=False)
    assert missing.returncode != 0 and "error: LinearProbeCLIP evaluates a fitted probe: give --model-dir" in (
        missing.stderr), missing.stderr[-2000:]


def test_cache_features_fills_the_whole_splits_a_probe_then_reads(data_root, tmp_path):
    cache = str(tmp_path / "cache")
    assert data_main(["cache-features", "Synthetic", "--root", data_root, "--config-file",
                      config("trainers", "LinearProbeCLIP", "vit_b16.yaml"), "--split", "test", "val", "train",
                      "--dir", cache, *TINY]) == 0
    probe = run_train(_train_args(data_root, str(tmp_path / "run"), cache, "4"), "builtin", str(tmp_path))
    for split, rows in (("train", 48), ("val", 12), ("test", 24)):
        assert _features_line(split, rows, "read from") in probe.stdout, probe.stdout[-3000:]


@pytest.mark.parametrize("probe, coop", [("vit_b16", "vit_b16"), ("rn50", "rn50")])
def test_probe_configs_encode_images_as_coops_so_a_study_shares_the_test_features(probe, coop):
    def image_settings(*parts):
        cfg = get_cfg()
        cfg.merge_from_file(config("trainers", *parts))
        return [cfg.MODEL.BACKBONE.NAME, cfg.INPUT, cfg.DATALOADER.TEST.BATCH_SIZE, cfg.TRAINER.COOP.PREC]

    assert image_settings("LinearProbeCLIP", f"{probe}.yaml") == image_settings("CoOp", f"{coop}.yaml")


def test_lpclip_runs_only_few_shot(tmp_path):
    scope = Scope(get_method("lpclip"), str(tmp_path / "data"), str(tmp_path / "out"))
    with pytest.raises(ValueError, match="LinearProbeCLIP has no base2new runs; it runs only few_shot"):
        base2new_train(scope, "synthetic", 1, 16)
    jobs = plan_jobs(Selection(("lpclip", "coop"), ("base2new", "few_shot"), (1,), scope.data, scope.output,
                               datasets=("synthetic",), shots=(4,)))
    assert sorted((job.method, job.protocol) for job in jobs) == [
        ("coop", "base2new"), ("coop", "few_shot"), ("lpclip", "few_shot")]


def test_few_shot_study_of_lpclip_coop_and_mopd_ends_with_all_three_in_table_latex_and_plot(data_root, tmp_path):
    out = str(tmp_path / "out")
    run = study("run", "--executor", "debug", "--methods", "lpclip", "coop", "mopd", "--protocols", "few_shot",
                "--datasets", "synthetic", "--seeds", "1", "--shots", "2", "4", "--data", data_root, "--output", out,
                *STUDY_OVERRIDES)
    assert run.returncode == 0, run.stderr[-3000:]
    for method in ("LinearProbeCLIP", "CoOp", "MoPD"):  # the few-shot table printed at the end of the run
        assert f"| synthetic | {method} |" in run.stdout, run.stdout[-3000:]
    second_probe = open(os.path.join(out, RUN.format(4), "log.txt")).read()
    for split, rows in (("train", 48), ("val", 12), ("test", 24)):
        assert _features_line(split, rows, "read from") in second_probe
    for method in ("coop", "mopd"):  # the test split the probes encoded is every method's
        logs = [open(os.path.join(root, "log.txt")).read() for root, _, files in os.walk(out)
                if "log.txt" in files and f"/{'CoOp' if method == 'coop' else 'MoPD'}/" in root]
        assert logs and all(_features_line("test", 24, "read from") in text for text in logs)

    latex = study_results(out, "--format", "latex")
    assert all(name in latex for name in ("Linear probe CLIP", "CoOp", "MoPD"))

    from mopd.results.plot import plot_few_shot
    from mopd.results.report import build_report

    figure = plot_few_shot([e for e in build_report(out).entries if e.protocol == "few_shot"],
                           str(tmp_path / "few_shot.png"))
    handles, labels = figure.axes[0].get_legend_handles_labels()
    assert [label.split(" (")[0] for label in labels] == ["LinearProbeCLIP", "CoOp", "MoPD"]  # (setting) follows
    assert handles[0].lines[0].get_linestyle() == "--"  # the reference line


def study_results(out: str, *args: str) -> str:
    """`python -m mopd.results OUT ARGS`: its standard output."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "mopd.results", out, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=True).stdout
