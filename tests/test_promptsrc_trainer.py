"""The PromptSRC trainer through train.py: its loss parts, GPA over the epochs, resuming, and evaluation of its checkpoints."""
from __future__ import annotations

import os
import re
import shutil

import pytest
import torch

from e2e import BACKENDS, accuracy, config, run_train
from mopd.methods.gpa import gaussian_epoch_weights

CFG = config("trainers", "PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx.yaml")
DEEP_TINY = ["MODEL.BACKBONE.NAME", "tiny12", "INPUT.SIZE", "(32, 32)", "DATALOADER.NUM_WORKERS", "0"]
# Three epochs whose GPA weights are all far from zero.
GPA = ["OPTIM.MAX_EPOCH", "3", "TRAINER.PROMPTSRC.GPA_MEAN", "2", "TRAINER.PROMPTSRC.GPA_STD", "1"]


def _args(data_root: str, out: str, *extra: str, subsample: str = "base", eval_only: bool = False) -> list[str]:
    flags = ["--eval-only", "--model-dir", out, "--load-epoch", "3"] if eval_only else []
    return ["--root", data_root, "--seed", "1", "--trainer", "PromptSRC", "--config-file", CFG,
            "--dataset-config-file", config("datasets", "synthetic.yaml"), "--output-dir",
            out + ("_eval" if eval_only else ""), *flags, *DEEP_TINY, "DATASET.NUM_SHOTS", "4",
            "DATASET.SUBSAMPLE_CLASSES", subsample, "TRAINER.COOP.PREC", "fp32", *GPA, *extra]


def _checkpoint(out: str, epoch: int) -> dict:
    return torch.load(os.path.join(out, "prompt_learner", f"model.pth.tar-{epoch}"), weights_only=True)


def _prompts(checkpoint: dict) -> dict[str, torch.Tensor]:
    return {k: v for k, v in checkpoint["state_dict"].items() if k not in ("token_prefix", "token_suffix")}


@pytest.mark.parametrize("backend", BACKENDS)
def test_logged_loss_is_the_sum_of_its_parts_and_the_final_prompts_are_the_gaussian_average(backend, data_root, tmp_path):
    out = str(tmp_path / "run")
    proc = run_train(_args(data_root, out), backend, str(tmp_path))
    for line in re.findall(r"epoch \d+ means: (.*)", proc.stdout):
        parts = dict(zip(line.split()[::2], map(float, line.split()[1::2])))
        assert parts["loss"] == pytest.approx(parts["ce"] + parts["kl"] + parts["text_l1"] + parts["image_l1"], abs=2e-4)
        assert parts["text_l1"] > 0 and parts["image_l1"] > 0 and parts["kl"] >= 0
    weights = gaussian_epoch_weights(2, 1, 3)
    first, second, final = (_checkpoint(out, epoch) for epoch in (1, 2, 3))
    # After epoch 2 the saved sum is w1 * P1 + w2 * P2, the prompts of the first two checkpoints.
    for name, value in _prompts(second).items():
        expected = weights[0] * _prompts(first)[name] + weights[1] * value
        torch.testing.assert_close(second["training_state"]["gpa_sum"][name], expected, rtol=1e-6, atol=1e-7)
    # The last checkpoint holds the average (not epoch 3's prompts), and says that evaluation rounds frozen weights.
    for name, value in _prompts(final).items():
        assert torch.equal(value, final["training_state"]["gpa_sum"][name])
    assert final["meta"]["gpa"] == {"mean": 2, "std": 1, "epochs": 3, "frozen_weights_rounded": True, "precision": "fp32"}
    assert "gpa" not in second["meta"]
    assert 0 <= accuracy(proc.stdout) <= 100


def test_a_run_resumed_after_its_second_epoch_ends_with_the_same_average(data_root, tmp_path):
    whole, cut = str(tmp_path / "whole"), str(tmp_path / "cut")
    run_train(_args(data_root, whole), "builtin", str(tmp_path))
    # As if killed during epoch 3: its checkpoint and the finished marker are not written yet.
    shutil.copytree(whole, cut)
    os.remove(os.path.join(cut, "prompt_learner", "model.pth.tar-3"))
    os.remove(os.path.join(cut, "run_finished.json"))
    with open(os.path.join(cut, "prompt_learner", "checkpoint"), "w") as pointer:
        pointer.write("model.pth.tar-2\n")
    resumed = run_train(_args(data_root, cut), "builtin", str(tmp_path))
    assert "will resume training" in resumed.stdout
    expected, got = _prompts(_checkpoint(whole, 3)), _prompts(_checkpoint(cut, 3))
    for name in expected:
        assert torch.equal(got[name], expected[name]), name


@pytest.mark.parametrize("only_prompts", [False, True])
def test_evaluating_a_checkpoint_treats_the_frozen_weights_as_training_left_them(only_prompts, data_root, tmp_path):
    out, key = str(tmp_path / "run"), ["TRAINER.PROMPTSRC.GPA_ONLY_PROMPTS", str(only_prompts)]
    trained = run_train(_args(data_root, out, *key), "builtin", str(tmp_path))
    evaluated = run_train(_args(data_root, out, *key, eval_only=True), "builtin", str(tmp_path))
    rounded = r"GPA: \d+ frozen tensors rounded"
    assert bool(re.search(rounded, trained.stdout)) is bool(re.search(rounded, evaluated.stdout)) is not only_prompts
    assert _checkpoint(out, 3)["meta"]["gpa"]["frozen_weights_rounded"] is not only_prompts
    assert accuracy(evaluated.stdout) == accuracy(trained.stdout)  # the same model on the same base classes
