"""End-to-end runs of train.py with the tiny CLIP on the generated dataset, on every importable backend."""
from __future__ import annotations

import json
import os
import re

import pytest

from e2e import BACKENDS, NEEDS_DASSL, TINY, accuracy, backend_pattern, config, run_train


def _train_args(data_root: str, trainer: str, cfg_file: str, out: str, *extra: str) -> list[str]:
    return [
        "--root", data_root, "--seed", "1", "--trainer", trainer,
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", cfg_file, "--output-dir", out,
        *TINY, *TRAINER_OVERRIDES.get(trainer, ()), "OPTIM.MAX_EPOCH", "2", "TRAIN.PRINT_FREQ", "1",
        "DATASET.NUM_SHOTS", "4", *extra,
    ]


def _eval_args(data_root: str, trainer: str, cfg_file: str, model_dir: str, out: str, *extra: str) -> list[str]:
    return [
        "--root", data_root, "--seed", "1", "--trainer", trainer,
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", cfg_file, "--output-dir", out,
        "--eval-only", "--model-dir", model_dir, "--load-epoch", "2",
        *TINY, *TRAINER_OVERRIDES.get(trainer, ()), "DATASET.NUM_SHOTS", "4", *extra,
    ]


def _eval_new_args(data_root: str, trainer: str, cfg_file: str, model_dir: str, out: str) -> list[str]:
    return _eval_args(data_root, trainer, cfg_file, model_dir, out, "DATASET.SUBSAMPLE_CLASSES", "new")


# Dassl 0.6.1+ and the built-in runtime print the first; older Dassl (the KgCoOp/ProGrad fork) the second.
LOG_LINES = (
    re.compile(
        r"^epoch \[\d+/\d+\] batch \[\d+/\d+\] time [\d.]+ \([\d.]+\) data [\d.]+ \([\d.]+\) .* lr [\d.]+e[-+]\d+ eta [\d:]+$",
        re.M,
    ),
    re.compile(
        r"^epoch \[\d+/\d+\]\[\d+/\d+\]\ttime [\d.]+ \([\d.]+\)\tdata [\d.]+ \([\d.]+\)\teta [\d:]+\t.*\tlr [\d.]+e[-+]\d+$",
        re.M,
    ),
)


# One published config per trained method; registering a trainer without adding it here fails below.
TRAINER_CONFIGS = {
    "CoOp": ("CoOp", "vit_b16_ep50_ctxv1.yaml"),
    "CoCoOp": ("CoCoOp", "vit_b16_c4_ep10_batch1_ctxv1.yaml"),
    "KgCoOp": ("KgCoOp", "vit_b16_ep50_ctxv1.yaml"),
    "ProGrad": ("ProGrad", "vit_b16_ep50_ctxv1.yaml"),
    "MoPD": ("MoPD", "vit_b16_ep25_ctxv1.yaml"),
    "MaPLe": ("MaPLe", "vit_b16_c2_ep5_batch4_2ctx.yaml"),
    "IVLP": ("IVLP", "vit_b16_c2_ep5_batch4_2+2ctx.yaml"),
    "PromptSRC": ("PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx.yaml"),
    "MMRL": ("MMRL", "vit_b16.yaml"),
    "MMRLpp": ("MMRLpp", "vit_b16.yaml"),
}
# The prompted image towers need the published depths (9, 12) and MMRL's layers (6..12) to fit: the 12-layer tiny CLIP.
TRAINER_OVERRIDES = {name: ("MODEL.BACKBONE.NAME", "tiny12")
                     for name in ("MaPLe", "IVLP", "PromptSRC", "MMRL", "MMRLpp")}


def test_every_registered_trainer_has_an_end_to_end_run():
    import trainers  # noqa: F401
    from mopd.backend import TRAINER_REGISTRY

    registered = {name for name in TRAINER_REGISTRY._obj_map if TRAINER_REGISTRY.get(name).__module__.startswith("trainers.")}
    assert registered == set(TRAINER_CONFIGS) | {"ZeroshotCLIP", "LinearProbeCLIP"}  # LinearProbeCLIP: test_lpclip_runs.py


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("trainer", sorted(TRAINER_CONFIGS))
def test_trainer_trains_on_base_and_evaluates_saved_prompt_on_new_classes(trainer, backend, data_root, tmp_path):
    cfg_file = config("trainers", *TRAINER_CONFIGS[trainer])
    out = str(tmp_path / "base")
    train = run_train(
        _train_args(data_root, trainer, cfg_file, out, "DATASET.SUBSAMPLE_CLASSES", "base", "DATALOADER.TRAIN_X.BATCH_SIZE", "8"),
        backend, str(tmp_path),
    )
    log = open(os.path.join(out, "log.txt")).read()
    assert backend_pattern(backend).search(log), log[-2000:]
    assert any(line.search(log) for line in (LOG_LINES[:1] if backend == "builtin" else LOG_LINES)), log[-2000:]
    assert "* total: 12" in train.stdout and "* macro_f1:" in train.stdout  # 3 base classes x 4 test images
    assert os.path.isfile(os.path.join(out, "prompt_learner", "model.pth.tar-2"))
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(os.path.join(out, "tensorboard")))

    new = run_train(_eval_new_args(data_root, trainer, cfg_file, out, str(tmp_path / "new")), backend, str(tmp_path))
    assert "* total: 12" in new.stdout  # 3 new classes x 4 test images
    assert 0.0 <= accuracy(new.stdout) <= 100.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("trainer", ["CoOp", "MoPD"])
def test_final_test_fills_the_feature_cache_and_eval_only_reads_it_with_the_same_accuracy(trainer, backend, data_root,
                                                                                          tmp_path):
    cfg_file = config("trainers", *TRAINER_CONFIGS[trainer])
    out, cache = str(tmp_path / "base"), str(tmp_path / "cache")
    base = ("DATASET.SUBSAMPLE_CLASSES", "base", "TEST.FEATURE_CACHE.DIR", cache)
    train = run_train(_train_args(data_root, trainer, cfg_file, out, *base), backend, str(tmp_path))
    assert backend_pattern(backend).search(train.stdout), train.stdout[-2000:]
    stored = "Image features of the test split (12 x 64, float16) computed and stored in the feature cache"
    assert stored in train.stdout, train.stdout[-2000:]
    evaluations = {
        enabled: run_train(
            _eval_args(data_root, trainer, cfg_file, out, str(tmp_path / f"eval-{enabled}"), *base,
                       "TEST.FEATURE_CACHE.ENABLED", enabled),
            backend, str(tmp_path),
        ).stdout
        for enabled in ("True", "False")
    }
    assert "Image features of the test split (12 x 64, float16) read from the feature cache" in evaluations["True"]
    assert "Image features of the test split" not in evaluations["False"]
    assert accuracy(train.stdout) == accuracy(evaluations["True"]) == accuracy(evaluations["False"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mopd_logs_three_losses_writes_gate_stats_and_evaluates_on_new_classes(backend, data_root, tmp_path):
    cfg_file = config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml")
    out = str(tmp_path / "base")
    run_train(_train_args(data_root, "MoPD", cfg_file, out, "DATASET.SUBSAMPLE_CLASSES", "base"), backend, str(tmp_path))
    log = open(os.path.join(out, "log.txt")).read()
    assert re.search(r"\sce [\d.]+ \([\d.]+\)\smpd [\d.]+ \([\d.]+\)\smps [\d.]+ \([\d.]+\)", log), log[-2000:]
    assert "teacher-prompt selection frequency" in log
    stats = json.load(open(os.path.join(out, "gate_stats.json")))
    assert len(stats["templates"]) == 12 and len(stats["classnames"]) == 3
    assert sum(stats["selection_frequency"]) == pytest.approx(1.0)
    # 2 epochs x 12 base images (3 classes x 4 shots) x TOP_K 2 selections, counted per class
    assert sum(map(sum, stats["selection_counts_per_class"])) == 2 * 12 * 2
    assert open(os.path.join(out, "gate_selection.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    new = run_train(_eval_new_args(data_root, "MoPD", cfg_file, out, str(tmp_path / "new")), backend, str(tmp_path))
    assert "Encoding 12 templates" not in new.stdout  # evaluation builds no teacher bank
    assert 0.0 <= accuracy(new.stdout) <= 100.0


@pytest.mark.parametrize("prec", ["fp16", "fp32", "amp"])
def test_mopd_trains_with_all_three_losses_in_every_precision(prec, data_root, tmp_path):
    cfg_file = config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml")
    out = str(tmp_path / "run")
    run_train(
        _train_args(data_root, "MoPD", cfg_file, out, "TRAINER.COOP.PREC", prec, "OPTIM.MAX_EPOCH", "1"),
        "builtin", str(tmp_path),
    )
    log = open(os.path.join(out, "log.txt")).read()
    parts = re.search(r" ce ([\d.]+) \([\d.]+\) mpd ([\d.]+) \([\d.]+\) mps ([\d.]+)", log)
    assert parts, log[-2000:]
    assert all(float(v) > 0 for v in parts.groups())


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_shot_clip_evaluates_without_training(backend, data_root, tmp_path):
    args = [
        "--root", data_root, "--trainer", "ZeroshotCLIP",
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", config("trainers", "CoOp", "vit_b16.yaml"),
        "--output-dir", str(tmp_path / "zs"), "--eval-only", *TINY,
    ]
    proc = run_train(args, backend, str(tmp_path))
    assert "* total: 24" in proc.stdout  # 6 classes x 4 test images


@NEEDS_DASSL
def test_checkpoint_written_by_builtin_backend_evaluates_identically_under_dassl(data_root, tmp_path):
    cfg_file = config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml")
    out = str(tmp_path / "base")
    run_train(_train_args(data_root, "MoPD", cfg_file, out, "DATASET.SUBSAMPLE_CLASSES", "base"), "builtin", str(tmp_path))
    results = {
        backend: accuracy(run_train(_eval_new_args(data_root, "MoPD", cfg_file, out, str(tmp_path / backend)), backend, str(tmp_path)).stdout)
        for backend in ("builtin", "dassl")
    }
    assert results["builtin"] == results["dassl"]
